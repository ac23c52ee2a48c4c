from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from adsearch.stats.bumphunter import bump_hunt, local_pvalues, null_distribution, scan


def falling_background(n_bins: int = 200, top: float = 1e5) -> np.ndarray:
    """Steep spectrum from 1e5 to < 1 event per bin, so both kernel regimes are exercised."""
    return top * np.exp(-np.linspace(0.0, 13.0, n_bins)) + 0.002


def brute_force(counts: np.ndarray, background: np.ndarray, max_width_bins: int) -> tuple[float, int, int]:
    """Every window's scipy p-value; first minimum in (width, position) order like pyBumpHunter."""
    best = (1.0, 0, 1)
    for width in range(1, max_width_bins + 1):
        p = local_pvalues(counts, background, width)
        i = int(np.argmin(p))
        if p[i] < best[0]:
            best = (float(p[i]), i, width)
    return best


def test_kernel_matches_brute_force_scan() -> None:
    rng = np.random.default_rng(3)
    b = falling_background(120)
    pseudo = rng.poisson(np.broadcast_to(b, (150, b.size))).astype(float)
    pseudo[:50, 60:64] += rng.integers(0, 80, (50, 4))  # some with bumps
    t, lo, width = scan(pseudo, b, max_width_bins=60)
    for row in range(pseudo.shape[0]):
        p, i, w = brute_force(pseudo[row], b, 60)
        assert t[row] == pytest.approx(-np.log(p), rel=1e-9, abs=1e-12)
        assert (lo[row], width[row]) == (i, w)


@pytest.mark.parametrize("bump, n_pseudo, global_range", [
    ((40.0, 70.0, 40.0), 600, (0.0, 0.01)),  # an obvious bump: both find it, no pseudo-experiment beats it
    ((5.0, 10.0, 5.0), 1000, (0.05, 0.5)),  # a modest excess: the global p-values are measured, not bounds
])
def test_agrees_with_pybumphunter(bump: tuple[float, ...], n_pseudo: int, global_range: tuple[float, float]) -> None:
    """Same best window and local p within 5% as pyBumpHunter on identical histograms; global
    p-values from independent pseudo-experiments agree within their binomial errors."""
    import pyBumpHunter as BH

    rng = np.random.default_rng(11)
    b = falling_background(60, top=5e3)
    edges = np.linspace(0.0, 60.0, 61)
    data = rng.poisson(b).astype(float)
    data[25:28] += np.array(bump)
    hunter = BH.BumpHunter1D(rang=(0, 60), bins=edges, width_min=1, width_max=30, npe=n_pseudo, nworker=1, seed=5)
    hunter.bump_scan(data, b, is_hist=True)
    ours = bump_hunt(data, b, max_width_bins=30, n_pseudo=n_pseudo, seed=5)
    assert (ours.lo_bin, ours.width_bins) == (int(hunter.min_loc_ar[0]), int(hunter.min_width_ar[0]))
    assert ours.local_p == pytest.approx(float(hunter.min_Pval_ar[0]), rel=0.05)
    low, high = global_range
    assert low <= ours.global_p <= high and low <= hunter.global_Pval <= high
    p = max(0.5 * (ours.global_p + hunter.global_Pval), 2e-3)
    err = 4 * np.sqrt(2 * p * (1 - p) / n_pseudo)  # 4 sigma of the difference of two estimates
    assert abs(ours.global_p - hunter.global_Pval) < err


def test_injected_five_sigma_bump_is_found() -> None:
    rng = np.random.default_rng(5)
    edges = np.linspace(1000.0, 5000.0, 201)
    centres = 0.5 * (edges[1:] + edges[:-1])
    b = 2e6 * (centres / 1000.0) ** -6 * 20.0 / 1000.0
    mean, sigma = 2500.0, 60.0
    window = np.abs(centres - mean) <= sigma
    shape = np.diff(sps.norm.cdf(edges, mean, sigma))
    s_total = 5.0 * np.sqrt(b[window].sum()) / shape[window].sum()
    data = rng.poisson(b + s_total * shape)
    res = bump_hunt(data, b, edges_gev=edges, max_width_bins=20, n_pseudo=2000, seed=1)
    assert abs(0.5 * (res.lo_gev + res.hi_gev) - mean) < sigma
    assert res.hi_gev - res.lo_gev < 5 * sigma
    assert res.local_z > 4.0
    assert res.global_p_is_bound or res.global_z > 3.0


def test_null_global_p_uniform_light() -> None:
    """Default-run version of the null test: 500 toys scanned against 4000 pseudo-experiments."""
    b = falling_background(100, top=2e4)
    null_t = null_distribution(b, n_pseudo=4000, seed=2, max_width_bins=25)
    toys = np.random.default_rng(99).poisson(np.broadcast_to(b, (500, b.size))).astype(float)
    t_obs = scan(toys, b, max_width_bins=25)[0]
    global_p = np.array([(null_t >= t).mean() for t in t_obs])
    assert sps.kstest(global_p, "uniform").pvalue > 0.01


def test_seeded_and_shape_uncertainty_is_conservative() -> None:
    rng = np.random.default_rng(8)
    b = falling_background(80, top=1e4)
    data = rng.poisson(b).astype(float)
    data[40:43] += 30
    a = bump_hunt(data, b, n_pseudo=1000, seed=4)
    again = bump_hunt(data, b, n_pseudo=1000, seed=4)
    assert a.global_p == again.global_p and np.array_equal(a.null_t, again.null_t)
    alt = b * (1.0 + 0.02 * np.linspace(-1.0, 1.0, b.size))
    wide = bump_hunt(data, b, background_alt=alt, n_pseudo=1000, seed=4)
    assert wide.test_statistic == a.test_statistic
    assert np.median(wide.null_t) > np.median(a.null_t)
    assert wide.global_p >= a.global_p and wide.local_p_alt is not None


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="differ"):
        bump_hunt(np.ones(5), np.ones(6), n_pseudo=10)
    with pytest.raises(ValueError, match="max_width_bins"):
        scan(np.ones(5), np.ones(5), min_width_bins=4, max_width_bins=2)
