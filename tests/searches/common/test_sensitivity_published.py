"""Delta-Z as published: b is the background fit's integral over the signal's +-1 sigma window."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.searches.autoencoder.regions import anomaly_regions
from adsearch.searches.common.fit_range import fit_range_edges
from adsearch.searches.common.sensitivity import (
    PeakWindow, benchmark_sensitivity, fitted_window_background, signal_peak,
)
from adsearch.stats.fitting import expected_counts, fit_spectrum
from adsearch.stats.significance import z_asimov


def _falling(rng: np.random.Generator, n: int) -> np.ndarray:
    return 300.0 + rng.exponential(350.0, n) * (1.0 + rng.exponential(0.3, n))


def test_b_is_the_fit_integral_over_the_window_not_the_count() -> None:
    rng = np.random.default_rng(7)
    masses = _falling(rng, 30000)
    window = PeakWindow(1500.0, 75.0)
    # a hole where the signal sits: the raw count there is 0, the background fit is smooth
    holed = masses[~window.contains(masses)]
    got = fitted_window_background(holed, window)
    edges = fit_range_edges(holed, 300.0, 8000.0)
    fit = fit_spectrum(np.histogram(holed, edges)[0].astype(float), edges, "five_param")
    expected = expected_counts("five_param", fit.params, np.array([window.lo_gev, window.hi_gev]))[0]
    assert got.function == "five_param"
    assert got.events == pytest.approx(expected, rel=1e-9)
    full_count = np.count_nonzero(window.contains(masses))
    assert 0.5 * full_count < got.events < 1.5 * full_count  # the smooth background under the hole


def test_delta_z_uses_fitted_b_in_presel_and_region() -> None:
    rng = np.random.default_rng(5)
    sig_m = rng.normal(1500.0, 60.0, 3000)
    bkg_m = _falling(rng, 40000)
    sig_s = rng.normal(-6.0, 0.5, sig_m.size)
    bkg_s = rng.normal(-10.0, 1.0, bkg_m.size)
    regions = anomaly_regions(bkg_s, 100.0, [20.0])
    (point,) = benchmark_sensitivity("lq_1500", "je", sig_m, sig_s, 0.01, bkg_m, bkg_s, regions)
    window = signal_peak(sig_m)
    b0 = fitted_window_background(bkg_m, window).events
    b1 = fitted_window_background(bkg_m[regions[0].select(bkg_s)], window).events
    assert point.b_presel == pytest.approx(b0) and point.b_region == pytest.approx(b1)
    assert point.z_presel == pytest.approx(float(z_asimov(point.s_presel, b0)))
    assert point.z_region == pytest.approx(float(z_asimov(point.s_region, b1)))
    assert point.b_function_presel == "five_param" and point.b_function_region
    assert point.delta_z_percent == pytest.approx(100.0 * (point.z_region / point.z_presel - 1.0))


def test_too_few_background_events_give_nan_not_a_floor() -> None:
    got = fitted_window_background(np.array([400.0, 800.0, 1200.0]), PeakWindow(1000.0, 50.0))
    assert np.isnan(got.events) and got.function.startswith("no fit")
