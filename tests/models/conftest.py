"""Shared fixtures: synthetic lepton + jets events, their RMMs, a small trained model and store."""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def ordinary_events(n: int, seed: int) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """Lepton + 2-7 jets events (10% b-tagged jets, rare photons), in compute_rmm's input format."""
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(n):
        objs = []
        n_jets = 2 + rng.poisson(1.5)
        for pt in np.sort(30.0 + rng.exponential(80.0, n_jets))[::-1]:
            kind = "bjet" if rng.random() < 0.1 else "jet"
            objs.append({"pt": pt, "eta": rng.uniform(-2.5, 2.5), "phi": rng.uniform(-np.pi, np.pi),
                         "mass": 0.1 * pt, "kind": kind})
        lepton = "muon" if rng.random() < 0.5 else "electron"
        objs.append({"pt": 60.0 + rng.exponential(60.0), "eta": rng.uniform(-2.5, 2.5),
                     "phi": rng.uniform(-np.pi, np.pi), "mass": 0.1 if lepton == "muon" else 0.0005, "kind": lepton})
        if rng.random() < 0.02:
            objs.append({"pt": 30.0 + rng.exponential(40.0), "eta": rng.uniform(-2.4, 2.4),
                         "phi": rng.uniform(-np.pi, np.pi), "mass": 0.0, "kind": "photon"})
        events.append(objs)
    met_pt = 10.0 + rng.exponential(50.0, n)
    met_phi = rng.uniform(-np.pi, np.pi, n)
    return ak.Array(events), met_pt, met_phi


@pytest.fixture(scope="session")
def events() -> tuple[ak.Array, np.ndarray, np.ndarray]:
    return ordinary_events(1500, seed=11)


@pytest.fixture(scope="session")
def rmm_rows(events: tuple[ak.Array, np.ndarray, np.ndarray]) -> np.ndarray:
    from adsearch.processors.rmm import compute_rmm, flatten_rmm

    return flatten_rmm(compute_rmm(*events))
