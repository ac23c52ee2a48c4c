"""Large-R jets: anti-kt R = 1.0, trimmed, with softdrop mass and n-subjettiness tau1..tau4.

Everything runs through the ``fastjet`` package's awkward interface, batch-wide, with no Python
loop over events or jets:

* the event-level anti-kt R = 1.0 sequence gives jets and their constituents;
* each jet's constituents become one "event" of a second sequence (kt, R_sub = 0.2), whose
  inclusive jets are the subjets; subjets with pT < f_cut = 5% of the ungroomed jet pT are
  dropped (trimming, ATLAS's large-R jet definition);
* softdrop (beta = 0, z_cut = 0.1, R0 = 1.0) declusters a C/A reclustering of the
  *ungroomed* constituents (the CMS ``msoftdrop`` definition);
* tau_N (beta = 1, normalized measure, R0 = 1.0, exclusive-kt winner-take-all axes, ATLAS's
  choice) is computed per jet on the *trimmed* constituents.

Softdrop and tau_N use the numba kernels of :mod:`.kernels` (3-5x faster than the ``fastjet``
package's per-jet wrappers, and tested against them): ``njettiness`` there needs a cluster
sequence built on each jet's constituents, since on an event-level sequence it gives *event*
N-jettiness.
"""

from __future__ import annotations

from typing import NamedTuple

import awkward as ak
import fastjet
import numpy as np

from adsearch.generator.kernels import nsubjettiness_wta_kt, softdrop_mass

__all__ = ["FatJetsRaw", "fat_jets", "R_FAT", "R_SUB", "F_CUT", "SOFTDROP_ZCUT", "SOFTDROP_BETA"]

R_FAT = 1.0
R_SUB = 0.2
F_CUT = 0.05
SOFTDROP_ZCUT = 0.1
SOFTDROP_BETA = 0.0
NSUB_BETA = 1.0

_ANTIKT_FAT = fastjet.JetDefinition(fastjet.antikt_algorithm, R_FAT)
_KT_SUB = fastjet.JetDefinition(fastjet.kt_algorithm, R_SUB)


class FatJetsRaw(NamedTuple):
    """Per-event lists (before detector smearing) of trimmed large-R jet quantities, GeV."""

    px: ak.Array
    py: ak.Array
    pz: ak.Array
    energy: ak.Array
    msoftdrop: ak.Array
    tau: ak.Array  # per jet: [tau1, tau2, tau3, tau4]
    #: per event, per jet: indices of the ungroomed constituents into that event's input particles
    constituent_index: ak.Array | None = None


def _momenta(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, counts: np.ndarray) -> ak.Array:
    record = ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D")
    return ak.unflatten(record, counts)


def _flat_fields(array: ak.Array) -> tuple[np.ndarray, ...]:
    """px, py, pz, E of a jagged Momentum4D array as flat float64 numpy arrays."""
    flat = ak.flatten(array, axis=-1)
    while flat.ndim > 1:
        flat = ak.flatten(flat, axis=-1)
    return tuple(np.asarray(ak.to_numpy(flat[name]), dtype=np.float64) for name in ("px", "py", "pz", "E"))


def fat_jets(particles: ak.Array, min_pt_gev: float, max_abs_eta: float) -> FatJetsRaw:
    """Cluster, trim and measure large-R jets for a batch of events.

    ``particles``: per-event lists of visible final-state Momentum4D (px, py, pz, E) records.
    Jets are kept when the *ungroomed* jet has pT > ``min_pt_gev`` and |eta| < ``max_abs_eta``;
    the returned four-vectors are the trimmed ones.
    """
    n_events = len(particles)
    sequence = fastjet.ClusterSequence(particles, _ANTIKT_FAT)
    jets = sequence.inclusive_jets(min_pt_gev)
    constituents = sequence.constituents(min_pt_gev)
    constituent_index = sequence.constituent_index(min_pt_gev)
    jpx, jpy, jpz, je = _flat_fields(jets)
    jet_pt = np.hypot(jpx, jpy)
    jet_eta = np.arcsinh(np.divide(jpz, jet_pt, out=np.zeros_like(jpz), where=jet_pt > 0))
    keep_flat = np.abs(jet_eta) < max_abs_eta
    jets_per_event = ak.to_numpy(ak.num(jets, axis=1))
    keep = ak.unflatten(keep_flat, jets_per_event)
    constituents = constituents[keep]
    constituent_index = constituent_index[keep]
    jet_pt = jet_pt[keep_flat]
    n_kept = ak.to_numpy(ak.sum(keep, axis=1)).astype(np.int64)
    if keep_flat.sum() == 0:
        empty = ak.unflatten(np.zeros(0), np.zeros(n_events, dtype=np.int64))
        return FatJetsRaw(empty, empty, empty, empty, empty, ak.unflatten(np.zeros((0, 4)), n_kept), constituent_index)

    per_jet = ak.flatten(constituents, axis=1)  # one list of constituents per jet
    cpx, cpy, cpz, ce = _flat_fields(per_jet)
    n_constituents = ak.to_numpy(ak.num(per_jet, axis=1))
    per_jet = _momenta(cpx, cpy, cpz, ce, n_constituents)

    # Trimming: kt subjets of R_sub, keep those above f_cut of the ungroomed jet pT.
    sub_sequence = fastjet.ClusterSequence(per_jet, _KT_SUB)
    subjet_constituents = sub_sequence.constituents(0.0)
    subjets = sub_sequence.inclusive_jets(0.0)
    spx, spy, _, _ = _flat_fields(subjets)
    n_sub = ak.to_numpy(ak.num(subjets, axis=1))
    threshold = np.repeat(F_CUT * jet_pt, n_sub)
    keep_sub = ak.unflatten(np.hypot(spx, spy) > threshold, n_sub)
    trimmed_constituents = ak.flatten(subjet_constituents[keep_sub], axis=2)
    tpx, tpy, tpz, te = _flat_fields(trimmed_constituents)
    n_trimmed = ak.to_numpy(ak.num(trimmed_constituents, axis=1))
    sums = [np.add.reduceat(x, _starts(n_trimmed)) if len(x) else np.zeros(len(n_trimmed)) for x in (tpx, tpy, tpz, te)]
    sums = [np.where(n_trimmed > 0, s, 0.0) for s in sums]

    msoftdrop = softdrop_mass(cpx, cpy, cpz, ce, _offsets(n_constituents), SOFTDROP_ZCUT, SOFTDROP_BETA, R_FAT)
    taus = nsubjettiness_wta_kt(tpx, tpy, tpz, te, _offsets(n_trimmed), R_FAT)

    return FatJetsRaw(
        px=ak.unflatten(sums[0], n_kept),
        py=ak.unflatten(sums[1], n_kept),
        pz=ak.unflatten(sums[2], n_kept),
        energy=ak.unflatten(sums[3], n_kept),
        msoftdrop=ak.unflatten(msoftdrop, n_kept),
        tau=ak.unflatten(taus, n_kept),
        constituent_index=constituent_index,
    )


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _starts(counts: np.ndarray) -> np.ndarray:
    """reduceat start indices for non-empty segments (empty ones are masked by the caller)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    return np.minimum(starts, max(total - 1, 0))
