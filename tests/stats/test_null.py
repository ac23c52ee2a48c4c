"""Null (background-only) behaviour of the whole chain: fit -> local Z, fit -> BumpHunter global p.

Default run: 500 toys with the cheaper three-parameter sideband fit (local Z), and a small
version of each ``-m slow`` test (fewer toys, 3-sigma tolerances derived from the toy count:
they catch a broken chain, not percent-level miscalibration); the global-p uniformity with a
fixed background is in test_bumphunter.py. ``-m slow``: the AE binning with the five-parameter
fit, global p with refitted pseudo-experiments, and the conservative no-refit global p used by
default, with the full toy counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from adsearch.stats.binning import resolution_binning, window_edges
from adsearch.stats.bumphunter import bump_hunt
from adsearch.stats.fitting import fit_spectrum
from adsearch.stats.significance import z_observed


def local_z_toys(spectrum, n_toys: int, seed: int) -> np.ndarray:
    """Signed Z of the masked signal region over the sideband-fit prediction (+- its uncertainty)."""
    edges = window_edges(2850.0, 3150.0)
    mu, _ = spectrum("three_param", edges, 4e4)
    centres = 0.5 * (edges[1:] + edges[:-1])
    sr = (centres > 2850.0) & (centres < 3150.0)
    rng = np.random.default_rng(seed)
    z = []
    for _ in range(n_toys):
        n = rng.poisson(mu)
        fit = fit_spectrum(n, edges, "three_param", mask=~sr)
        assert fit.converged, fit.message
        b = fit.expected[sr].sum()
        sigma = np.sqrt(fit.count_covariance[np.ix_(sr, sr)].sum())
        z.append(float(z_observed(n[sr].sum(), b, sigma)))
    return np.array(z)


def test_null_local_z_is_standard_normal(spectrum) -> None:
    z = local_z_toys(spectrum, 500, seed=1)
    print(f"null local Z over 500 toys: mean {z.mean():.3f}, sd {z.std(ddof=1):.3f}")
    assert abs(z.mean()) < 0.1
    assert abs(z.std(ddof=1) - 1.0) < 0.1


def _uniform_mean_tolerance(n_toys: int, n_pseudo: int) -> float:
    """3 sigma of the mean of n_toys global p-values k / n_pseudo, uniform under the null."""
    return 3.0 * math.sqrt((1.0 / 12.0 + 1.0 / (6.0 * n_pseudo)) / n_toys)


@pytest.mark.parametrize("n_toys, mean_tol, sd_tol", [
    pytest.param(300, 3.0 / math.sqrt(300), 3.0 / math.sqrt(2 * 299), id="300-toys"),
    pytest.param(500, 0.1, 0.1, marks=pytest.mark.slow, id="500-toys"),
])
def test_null_ae_chain_local_z(spectrum, n_toys: int, mean_tol: float, sd_tol: float) -> None:
    """Toys of the AE binning: five-parameter fit with a fixed window masked, signed local Z."""
    edges = resolution_binning(1000.0, 6000.0)
    mu, _ = spectrum("five_param", edges, 3e5)
    window = np.zeros(edges.size - 1, bool)
    window[40:45] = True
    rng = np.random.default_rng(77)
    z = []
    for _ in range(n_toys):
        n = rng.poisson(mu)
        fit = fit_spectrum(n, edges, "five_param", mask=~window)
        sigma = np.sqrt(fit.count_covariance[np.ix_(window, window)].sum())
        z.append(float(z_observed(n[window].sum(), fit.expected[window].sum(), sigma)))
    z = np.array(z)
    print(f"AE chain null (window masked): local Z mean {z.mean():.3f} sd {z.std(ddof=1):.3f}")
    assert abs(z.mean()) < mean_tol and abs(z.std(ddof=1) - 1.0) < sd_tol


@pytest.mark.parametrize("n_toys, n_pseudo", [
    pytest.param(15, 12, id="15-toys"),
    pytest.param(200, 50, marks=pytest.mark.slow, id="200-toys"),
])
def test_null_global_p_uniform_with_refit(spectrum, n_toys: int, n_pseudo: int) -> None:
    """Toys, each fitted; BumpHunter pseudo-experiments refitted the same way: p ~ U(0, 1)."""
    edges = np.linspace(1500.0, 4500.0, 41)
    mu, _ = spectrum("three_param", edges, 5e4)
    rng = np.random.default_rng(78)

    def refit(n: np.ndarray) -> np.ndarray:
        return fit_spectrum(n, edges, "three_param").expected

    global_p = []
    for i in range(n_toys):
        n = rng.poisson(mu).astype(float)
        res = bump_hunt(n, refit(n), max_width_bins=10, n_pseudo=n_pseudo, seed=i, refit=refit)
        global_p.append(res.global_p)
    ks = sps.kstest(np.array(global_p), "uniform").pvalue
    print(f"global p with refit: mean {np.mean(global_p):.3f}, KS p-value {ks:.3f}")
    assert ks > 0.01
    assert abs(np.mean(global_p) - 0.5) < _uniform_mean_tolerance(n_toys, n_pseudo)


@pytest.mark.parametrize("n_toys, n_pseudo", [
    pytest.param(60, 200, id="60-toys"),
    pytest.param(300, 500, marks=pytest.mark.slow, id="300-toys"),
])
def test_null_global_p_without_refit_is_conservative(spectrum, n_toys: int, n_pseudo: int) -> None:
    """Pseudo-experiments from the data's own fit, not refitted: p-values lean high (safe side).

    The full version shows it (mean above 0.5, at most 5% below 0.05); the small one checks
    that the p-values are not anti-conservative beyond the toy error."""
    edges = resolution_binning(1000.0, 6000.0)
    mu, _ = spectrum("five_param", edges, 3e5)
    rng = np.random.default_rng(79)
    global_p = []
    for i in range(n_toys):
        n = rng.poisson(mu)
        fit = fit_spectrum(n, edges, "five_param")
        global_p.append(bump_hunt(n, fit.expected, max_width_bins=20, n_pseudo=n_pseudo, seed=i).global_p)
    global_p = np.array(global_p)
    print(f"global p without refit: mean {global_p.mean():.3f}, fraction < 0.05: {np.mean(global_p < 0.05):.3f}")
    if n_toys >= 300:
        assert global_p.mean() > 0.5 and np.mean(global_p < 0.05) <= 0.05
    else:
        assert global_p.mean() > 0.5 - _uniform_mean_tolerance(n_toys, n_pseudo)
        assert np.mean(global_p < 0.05) <= 0.05 + 3.0 * math.sqrt(0.05 * 0.95 / n_toys)
