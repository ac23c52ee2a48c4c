"""Shared fixtures: synthetic lepton + jets events, their RMMs, a small trained model and store."""

from __future__ import annotations

import os
from collections.abc import Callable
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
def heldout_events() -> tuple[ak.Array, np.ndarray, np.ndarray]:
    return ordinary_events(400, seed=12)


@pytest.fixture(scope="session")
def rmm_rows(events: tuple[ak.Array, np.ndarray, np.ndarray]) -> np.ndarray:
    from adsearch.processors.rmm import compute_rmm, flatten_rmm

    return flatten_rmm(compute_rmm(*events))


def _make_store(path: Path, datasets: dict[str, tuple[int, np.ndarray | None, np.ndarray | None]]) -> Path:
    """A committed feature store written through the store's own API.

    ``datasets``: name -> (n_events, RMM rows or None, event rows that have them or None).
    """
    from adsearch.store import UnitRecord, commit_part, consolidate_dataset, create_store, write_part

    create_store(path, {"created_utc": "test"})
    for name, (n_events, rmm, rmm_index) in datasets.items():
        columns = {"mjj_gev": np.linspace(100.0, 1000.0, n_events).astype(np.float32)}
        write_part(path, name, "unit0", columns, rmm, rmm_index)
        commit_part(path, name, "unit0", b"done")
        n_rmm = 0 if rmm is None else len(rmm)
        consolidate_dataset(path, name, [UnitRecord("unit0", "test.root", 0, n_events, n_events, n_rmm)], {})
    return path


@pytest.fixture(scope="session")
def make_store() -> Callable[..., Path]:
    """``make_store(path, {name: (n_events, rmm or None, rmm_index or None)})`` -> path."""
    return _make_store


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory, rmm_rows: np.ndarray) -> Path:
    """One small model trained on ordinary synthetic events (shared by scoring and anomaly tests)."""
    from adsearch.models import AutoencoderConfig, train_on_rows

    config = AutoencoderConfig(max_epochs=12, patience=30, n_retrains=1, learning_rate=3e-3, jit_compile=False)
    return train_on_rows(rmm_rows[:600], config, tmp_path_factory.mktemp("ae")).model_path
