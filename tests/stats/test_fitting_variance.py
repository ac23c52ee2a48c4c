"""fit_spectrum's extra per-bin variance (the 2025 weak search's ensemble uncertainty inside the fit)."""

from __future__ import annotations

import numpy as np

from adsearch.stats.fitting import expected_counts, fit_spectrum
from adsearch.stats.strategies import fit_strategy_b

EDGES = np.linspace(2000.0, 3800.0, 31)
PARAMS = [3e4, 10.0, 5.0]


def test_zero_variance_is_the_poisson_fit() -> None:
    n = np.random.default_rng(0).poisson(expected_counts("three_param", PARAMS, EDGES)).astype(float)
    plain = fit_spectrum(n, EDGES, "three_param")
    zero = fit_spectrum(n, EDGES, "three_param", extra_variance=np.zeros(n.size))
    np.testing.assert_allclose(zero.params, plain.params, rtol=1e-6)
    assert abs(zero.chi2 - plain.chi2) < 1e-6 and zero.p_value == plain.p_value


def test_extra_variance_enters_in_quadrature() -> None:
    rng = np.random.default_rng(1)
    mu = expected_counts("three_param", PARAMS, EDGES)
    v = 3.0 * mu  # an ensemble spread 3x the Poisson variance: total variance 4 mu
    p_plain, p_var, pull_sd = [], [], []
    for _ in range(150):
        n = np.maximum(np.round(rng.poisson(mu) + rng.normal(0.0, np.sqrt(v))), 0.0)
        plain = fit_spectrum(n, EDGES, "three_param")
        with_v = fit_spectrum(n, EDGES, "three_param", extra_variance=v)
        p_plain.append(plain.p_value)
        p_var.append(with_v.p_value)
        pull_sd.append(with_v.sigma[15] / plain.sigma[15])
    # without it, over-dispersed spectra fail the goodness of fit; with it, p is ~uniform
    assert np.mean(np.array(p_plain) < 0.05) > 0.5
    assert abs(np.mean(np.array(p_var) < 0.05) - 0.05) < 0.05 and 0.4 < np.mean(p_var) < 0.6
    # the background uncertainty grows as sqrt((n + v) / n) = 2
    assert abs(np.median(pull_sd) - 2.0) < 0.2


def test_strategy_b_passes_the_variance_to_every_fit() -> None:
    rng = np.random.default_rng(2)
    mu = expected_counts("three_param", PARAMS, EDGES)
    sr = np.zeros(mu.size, bool)
    sr[10:20] = True
    n = np.maximum(np.round(rng.poisson(mu) + rng.normal(0.0, np.sqrt(8.0 * mu))), 0.0)
    assert not fit_strategy_b(n, EDGES, sr, functions=("three_param",), min_sideband_bins=20).success
    res = fit_strategy_b(n, EDGES, sr, functions=("three_param",), min_sideband_bins=20, extra_variance=8.0 * mu)
    assert res.success and res.fit is not None and res.fit.sigma[15] > 2.5 * np.sqrt(mu[15] / 20)
