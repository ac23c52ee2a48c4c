"""Synthetic lepton + jets events for tests and benchmarks of the RMM models (not physics).

Kinematics are rough (falling pT spectra, flat eta/phi) but the object content mimics the
lepton + X selection: one lepton, two or more jets of which ~10% b-tagged, rare photons. That
is enough to give the autoencoder a "normal" population against which the artificial
anomalies must stand out, without running Pythia.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

__all__ = ["ordinary_events", "ordinary_rmm_rows", "write_store"]


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


def write_store(path: str | Path, datasets: dict[str, tuple[int, np.ndarray | None, np.ndarray | None]]) -> Path:
    """A committed feature store written through :mod:`adsearch.store`'s own part/consolidate API.

    ``datasets``: name -> (n_events, RMM rows or None, event rows that have them or None). One
    work unit per dataset; for tests and benchmarks of the model workers without ROOT files.
    """
    from adsearch.store import RMM_CHUNK_ROWS, UnitRecord, commit_part, consolidate_dataset, create_store, write_part

    path = Path(path)
    create_store(path, {"created_utc": "synthetic"})
    for name, (n_events, rmm, rmm_index) in datasets.items():
        columns = {"mjj_gev": np.linspace(100.0, 1000.0, n_events).astype(np.float32)}
        frames = None if rmm is None else [rmm[lo:lo + RMM_CHUNK_ROWS] for lo in range(0, len(rmm), RMM_CHUNK_ROWS)]
        write_part(path, name, "unit0", columns, frames, rmm_index)
        commit_part(path, name, "unit0", b"synthetic")
        n_rmm = 0 if rmm is None else len(rmm)
        consolidate_dataset(path, name, [UnitRecord("unit0", "synthetic", 0, n_events, n_events, n_rmm)], {})
    return path
