from __future__ import annotations

import numpy as np
import pytest

from adsearch.stats.binning import (
    ResolutionModel,
    cwola_2020_edges,
    mass_points,
    mass_resolution_gev,
    resolution_binning,
    validate_edges,
    window_edges,
)


def test_resolution_binning_widths_follow_model() -> None:
    edges = resolution_binning(300.0, 8000.0)
    widths = np.diff(edges)
    assert edges[0] == 300.0 and edges[-1] == 8000.0
    assert widths[0] == pytest.approx(16.0, rel=0.03)
    assert widths[-1] == pytest.approx(150.0, rel=0.03)
    assert np.all(np.diff(widths) > 0)
    centres = 0.5 * (edges[1:] + edges[:-1])
    np.testing.assert_allclose(widths / mass_resolution_gev(centres), 1.0, rtol=0.02)
    # a sub-range keeps the same resolution model; a finer binning halves the widths
    sub = resolution_binning(1000.0, 6000.0)
    np.testing.assert_allclose(np.diff(sub) / mass_resolution_gev(0.5 * (sub[1:] + sub[:-1])), 1.0, rtol=0.03)
    fine = resolution_binning(bins_per_sigma=2.0)
    assert fine.size - 1 == pytest.approx(2 * (edges.size - 1), abs=1)


def test_resolution_model_passes_through_its_points() -> None:
    model = ResolutionModel.from_widths(500.0, 20.0, 5000.0, 100.0)
    np.testing.assert_allclose(model(np.array([500.0, 5000.0])), [20.0, 100.0])
    with pytest.raises(ValueError, match="no resolution model"):
        ResolutionModel.from_widths(500.0, 100.0, 5000.0, 20.0)


def test_fixed_binnings() -> None:
    a = cwola_2020_edges()
    assert a.size == 65 and a[0] == 1800.0 and a[-1] == 8200.0
    np.testing.assert_allclose(np.diff(a), 100.0)
    b = window_edges(2940.0, 3060.0)
    assert b.size == 31 and np.mean(b) == pytest.approx(3000.0)
    np.testing.assert_allclose(np.diff(b), 60.0)


def test_mass_points_five_percent_apart() -> None:
    m = mass_points(300.0, 8000.0)
    assert m[0] == 300.0 and m[-1] <= 8000.0 and m[-1] * 1.05 > 8000.0
    np.testing.assert_allclose(m[1:] / m[:-1], 1.05)


def test_validate_edges_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        validate_edges([100.0, 90.0, 200.0])
    with pytest.raises(ValueError, match="13000"):
        validate_edges([100.0, 14000.0])
    with pytest.raises(ValueError, match="do not match"):
        validate_edges([100.0, 200.0, 300.0], n_counts=3)
