"""Shared toy spectra for the stats tests: smooth dijet-like backgrounds from known parameters."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.stats.fitting import expected_counts

#: Generating parameters per function, with p1 rescaled to the wanted total by ``spectrum``.
TRUTH: dict[str, list[float]] = {
    "three_param": [1.0, 10.0, 5.0],
    "four_param": [1.0, 10.0, 5.0, 0.1],
    "ua2": [1.0, -5.0, 20.0, 5.0],
    "five_param": [1.0, 10.0, -5.0, -0.1, 0.01],
    "five_param_alt": [1.0, 10.0, -5.0, -0.1, 0.1],
}


def make_spectrum(function: str, edges: np.ndarray, total: float, params: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(expected counts, physical parameters) normalised to ``total`` events."""
    p = np.array(TRUTH[function] if params is None else params, dtype=float)
    mu = expected_counts(function, p, edges)
    p[0] *= total / mu.sum()
    return mu * total / mu.sum(), p


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def spectrum():  # noqa: ANN201 - returns the helper so tests can call it with their own binning
    """The :func:`make_spectrum` helper (tests run with --import-mode=importlib: no imports)."""
    return make_spectrum
