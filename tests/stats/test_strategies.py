from __future__ import annotations

import numpy as np

from adsearch.stats.binning import cwola_2020_edges, resolution_binning, window_edges
from adsearch.stats.strategies import (
    cwola_fit_signal_region,
    fit_strategy_a,
    fit_strategy_b,
    fit_strategy_c,
    sideband_p_value,
)
from adsearch.stats.fitting import fit_spectrum


def test_cwola_fit_signal_region_adds_neighbour_halves() -> None:
    regions = [2000.0, 2400.0, 3000.0, 3800.0]
    assert cwola_fit_signal_region(regions, 1) == (2200.0, 3400.0)
    assert cwola_fit_signal_region(regions, 0) == (2000.0, 2700.0)


def test_strategy_a_accepts_three_param_on_its_own_shape(rng: np.random.Generator, spectrum) -> None:
    edges = cwola_2020_edges()
    mu, _ = spectrum("three_param", edges, 5e5)
    res = fit_strategy_a(rng.poisson(mu), edges, (2600.0, 3400.0))
    assert res.success and res.function == "three_param" and res.iteration == 0
    centres = 0.5 * (edges[1:] + edges[:-1])
    sr = (centres > 2600) & (centres < 3400)
    assert res.fit_mask[sr].all() and not res.judge_mask[sr].any() and res.judge_mask[~sr].all()
    assert np.all(np.abs(res.background[sr] - mu[sr]) < 4 * res.sigma[sr])


def test_strategy_a_fits_the_signal_region_too(rng: np.random.Generator, spectrum) -> None:
    """2020 as published: the fit SR enters the fit; only the p-value ignores it. A bump in
    the SR therefore pulls the fit up there (a fit without the SR would not move)."""
    edges = cwola_2020_edges()
    mu, _ = spectrum("three_param", edges, 5e5)
    centres = 0.5 * (edges[1:] + edges[:-1])
    sr = (centres > 2600) & (centres < 3400)
    counts = rng.poisson(mu).astype(float)
    bumped = counts + np.where(sr, 0.05 * mu, 0.0)
    plain, pulled = fit_strategy_a(counts, edges, (2600.0, 3400.0)), fit_strategy_a(bumped, edges, (2600.0, 3400.0))
    assert plain.success and pulled.success
    whole = fit_spectrum(bumped, edges, pulled.function, mask=pulled.fit_mask)
    np.testing.assert_allclose(pulled.background, whole.expected, rtol=1e-6)
    assert pulled.background[sr].sum() > plain.background[sr].sum() + 3 * plain.sigma[sr].sum() / np.sqrt(sr.sum())
    p = sideband_p_value(pulled.fit, pulled.judge_mask)
    assert p == pulled.judge_p_value and p != pulled.fit.p_value


def test_strategy_a_moves_on_and_reports_failure(rng: np.random.Generator, spectrum) -> None:
    edges = cwola_2020_edges()
    # five-parameter truth with strong curvature: three-parameter cannot describe 1e8 events
    mu, _ = spectrum("five_param", edges, 1e8, [1.0, 10.0, -5.0, -0.5, 0.1])
    res = fit_strategy_a(rng.poisson(mu), edges, (3000.0, 3600.0))
    assert res.attempts[0].function == "three_param" and res.attempts[0].p_value < 0.05
    assert res.success == (res.function is not None)
    if res.success:
        assert res.function != "three_param" or res.iteration > 0
    # a wiggle no smooth function follows: every attempt fails and the strategy says so
    wiggle = mu * (1.0 + 0.05 * np.sin(np.arange(mu.size)))
    bad = fit_strategy_a(rng.poisson(wiggle), edges, (3000.0, 3600.0))
    assert not bad.success and "no function" in bad.message
    assert len(bad.attempts) == 3 * bad.iteration and bad.iteration >= 2


def test_strategy_b_masks_sr_and_reports_failure(rng: np.random.Generator, spectrum) -> None:
    edges = window_edges(2850.0, 3150.0)
    mu, _ = spectrum("three_param", edges, 2e5)
    centres = 0.5 * (edges[1:] + edges[:-1])
    sr = (centres > 2850.0) & (centres < 3150.0)
    good = fit_strategy_b(rng.poisson(mu), edges, sr)
    assert good.success and good.iteration == 0 and not good.fit_mask[sr].any()
    wiggle = mu * (1.0 + 0.3 * np.sin(3.0 * np.arange(mu.size)))
    bad = fit_strategy_b(rng.poisson(wiggle), edges, sr)
    assert not bad.success and "fewer than 6" in bad.message
    assert bad.attempts and bad.fit_mask.sum() >= 6
    assert {a.n_fit_bins for a in bad.attempts} == set(range(bad.attempts[-1].n_fit_bins, int((~sr).sum()) + 1, 2))


def test_strategy_c_shape_uncertainty(rng: np.random.Generator, spectrum) -> None:
    from adsearch.stats.fitting import fit_spectrum

    edges = resolution_binning()
    # an alternative-function truth with a strong 1/sqrt(x) term: the two fits differ by more
    # than the nominal fit's own uncertainty in many bins
    mu, _ = spectrum("five_param_alt", edges, 1e6, [1.0, 10.0, -5.0, -0.1, 0.5])
    counts = rng.poisson(mu)
    res = fit_strategy_c(counts, edges)
    assert res.success, res.message
    assert res.alternative is not None and res.alternative.function == "five_param_alt"
    nominal, alternative = fit_spectrum(counts, edges, "five_param"), fit_spectrum(counts, edges, "five_param_alt")
    difference = np.abs(alternative.expected - nominal.expected)
    assert (difference > nominal.sigma).sum() > 20
    np.testing.assert_allclose(res.background, nominal.expected, rtol=1e-6)
    np.testing.assert_allclose(res.fit_sigma, nominal.sigma, rtol=1e-6)
    np.testing.assert_allclose(res.shape_sigma, difference, rtol=1e-6, atol=1e-9 * difference.max())
    np.testing.assert_allclose(res.total_sigma**2, res.fit_sigma**2 + res.shape_sigma**2)
    np.testing.assert_allclose(np.sqrt(np.diag(res.count_covariance)), res.total_sigma, rtol=1e-6)
    assert np.all(np.linalg.eigvalsh(res.count_covariance) > -1e-6 * res.count_covariance.max())
