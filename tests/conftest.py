"""Fixtures shared by the model and search tests: synthetic lepton + jets events, their RMMs, a
small trained autoencoder and a store maker (tests/models and tests/searches both use them)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from adsearch.processors.synthetic import ordinary_events

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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


@pytest.fixture(scope="session")
def make_store() -> Callable[..., Path]:
    """``make_store(path, {name: (n_events, rmm or None, rmm_index or None)})`` -> path."""
    from adsearch.processors.synthetic import write_store

    return write_store


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory, rmm_rows: np.ndarray) -> Path:
    """One small model trained on ordinary synthetic events (shared by scoring and anomaly tests)."""
    from adsearch.models import AutoencoderConfig, train_on_rows

    # the paper's learning rate (1e-3): with its ln(MSE) objective 3e-3 overshoots in 8 epochs
    config = AutoencoderConfig(max_epochs=8, patience=30, n_retrains=1, jit_compile=False)
    return train_on_rows(rmm_rows[:600], config, tmp_path_factory.mktemp("ae")).model_path
