"""Synthetic lepton + jets events for tests and benchmarks of the RMM models (not physics).

Kinematics are rough (falling pT spectra, flat eta/phi) but the object content mimics the
lepton + X selection: one lepton, two or more jets of which ~10% b-tagged, rare photons. That
is enough to give the autoencoder a "normal" population against which the artificial
anomalies must stand out, without running Pythia.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

__all__ = ["ordinary_events", "ordinary_rmm_rows"]


def ordinary_events(n: int, seed: int) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """(objects, met_pt, met_phi) of ``n`` events in :func:`adsearch.processors.rmm.compute_rmm` format."""
    rng = np.random.default_rng(seed)
    n_jets = 2 + rng.poisson(1.5, n)
    n_photons = (rng.random(n) < 0.02).astype(np.int64)
    counts = n_jets + 1 + n_photons
    pt, eta, phi, mass, kind = [], [], [], [], []
    for nj, nph in zip(n_jets, n_photons):
        jet_pt = np.sort(30.0 + rng.exponential(80.0, nj))[::-1]
        lepton = "muon" if rng.random() < 0.5 else "electron"
        pt += [*jet_pt, 60.0 + rng.exponential(60.0), *(30.0 + rng.exponential(40.0, nph))]
        eta += list(rng.uniform(-2.5, 2.5, nj + 1 + nph))
        phi += list(rng.uniform(-np.pi, np.pi, nj + 1 + nph))
        mass += [*(0.1 * jet_pt), 0.1 if lepton == "muon" else 0.0005, *np.zeros(nph)]
        kind += [*np.where(rng.random(nj) < 0.1, "bjet", "jet"), lepton, *["photon"] * nph]
    flat = {"pt": pt, "eta": eta, "phi": phi, "mass": mass}
    objects = ak.zip({**{k: ak.unflatten(np.asarray(v, np.float64), counts) for k, v in flat.items()},
                      "kind": ak.unflatten(ak.from_numpy(np.asarray(kind)), counts)})
    return objects, 10.0 + rng.exponential(50.0, n), rng.uniform(-np.pi, np.pi, n)


def ordinary_rmm_rows(n: int, seed: int) -> np.ndarray:
    """Flattened (n, 1287) float32 RMMs of :func:`ordinary_events`."""
    from adsearch.processors.rmm import compute_rmm, flatten_rmm

    return flatten_rmm(compute_rmm(*ordinary_events(n, seed)))
