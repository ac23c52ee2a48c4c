"""The (m_X, m_Y) background fits and the grid bump hunt on toy spectra (fast, no network)."""

from __future__ import annotations

import numpy as np

from adsearch.searches.hx.config import DEFAULT_MX_EDGES_GEV, DEFAULT_MY_EDGES_GEV
from adsearch.searches.hx.grid import fit_grid, hunt_grid, sensitivity

MX, MY = np.asarray(DEFAULT_MX_EDGES_GEV), np.asarray(DEFAULT_MY_EDGES_GEV)


def _qcd(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Falling m_Y (m_JJ > 1.3 TeV) and a broad m_X, independent of each other."""
    my = 1300.0 + rng.exponential(350.0, n)
    mx = rng.gamma(3.0, 30.0, n) + 20.0
    return mx, my


def test_background_only_grid_is_quiet_and_the_global_correction_is_large() -> None:
    rng = np.random.default_rng(3)
    mx, my = _qcd(40_000, rng)
    grid = fit_grid(mx, my, MX, MY)
    assert grid.fitted.sum() >= 7
    p = grid.fit_p_values[grid.fitted]
    assert np.all(p[np.isfinite(p)] > 1e-3) and np.isfinite(p).sum() >= 7  # the function describes each row
    hunt = hunt_grid(grid, n_pseudo=500, seed=1)
    assert hunt.global_z < 3.0
    assert hunt.global_p > 0.01
    assert hunt.local_z > hunt.global_z  # the grid's look-elsewhere effect
    assert hunt.n_rows_searched == grid.fitted.sum()


def test_injected_resonance_is_found_at_its_mx_and_my() -> None:
    rng = np.random.default_rng(4)
    mx, my = _qcd(40_000, rng)
    sig_mx, sig_my = rng.normal(100.0, 7.0, 400), rng.normal(2000.0, 60.0, 400)
    grid = fit_grid(np.concatenate([mx, sig_mx]), np.concatenate([my, sig_my]), MX, MY)
    hunt = hunt_grid(grid, n_pseudo=500, seed=1)
    assert hunt.mx_lo_gev <= 100.0 <= hunt.mx_hi_gev
    assert hunt.my_lo_gev <= 2000.0 <= hunt.my_hi_gev
    assert hunt.global_z > 3.0 and hunt.local_z_pyhf > 3.0
    template, _, _ = np.histogram2d(sig_mx, sig_my, bins=(MX, MY))
    sens = sensitivity(grid, template, 1.0, "toy", "inclusive", 0.4)
    assert sens.z_expected > 2.0
    assert sens.limit_expected_pb < sens.limit_observed_pb  # the data hold the signal
    m2, m1, p1, p2 = sens.limit_band_pb
    assert m2 < m1 < sens.limit_expected_pb < p1 < p2  # the expected band is ordered around its median
