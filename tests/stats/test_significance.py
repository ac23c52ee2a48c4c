from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from adsearch.stats.significance import delta_z, window_z, z_asimov, z_observed


def test_z_asimov_limits() -> None:
    # s << b: Z -> s / sqrt(b)
    assert float(z_asimov(10.0, 1e6)) == pytest.approx(10.0 / 1e3, rel=1e-3)
    assert float(z_asimov(5.0, 1.0)) == pytest.approx(np.sqrt(2 * (6 * np.log(6) - 5)))
    # with uncertainty the significance drops, and -> no-uncertainty as sigma -> 0
    assert float(z_asimov(50.0, 1000.0, 100.0)) < float(z_asimov(50.0, 1000.0))
    assert float(z_asimov(50.0, 1000.0, 1e-4)) == pytest.approx(float(z_asimov(50.0, 1000.0)), rel=1e-4)


def test_z_observed_is_signed_and_matches_poisson_tail_at_large_counts() -> None:
    assert float(z_observed(900.0, 1000.0)) < 0 < float(z_observed(1100.0, 1000.0))
    n, b = 10300.0, 1e4
    p = sps.poisson.sf(n - 1, b)
    assert float(z_observed(n, b)) == pytest.approx(float(sps.norm.isf(p)), abs=0.02)


def _profile_z(n: float, b: float, sigma_b: float) -> float:
    """Signed sqrt(q0) of n ~ Pois(s + b') with b' constrained by an auxiliary m ~ Pois(tau b'),
    tau = b / sigma_b^2, m = tau b, from the likelihoods themselves (b' profiled, s free)."""
    tau = b / sigma_b**2
    m = tau * b

    def log_l(mean_n: float, bkg: float) -> float:
        return float(sps.poisson.logpmf(round(n), mean_n) + (m * np.log(tau * bkg) - tau * bkg))

    b_hat_hat = (n + m) / (1.0 + tau)  # maximises log_l(b', b') over b'
    q0 = 2.0 * (log_l(n, b) - log_l(b_hat_hat, b_hat_hat))
    return float(np.sign(n - b) * np.sqrt(max(q0, 0.0)))


@pytest.mark.parametrize("n, b, sigma_b", [(1300.0, 1000.0, 100.0), (700.0, 1000.0, 50.0), (25.0, 10.0, 3.0)])
def test_z_observed_with_uncertainty_is_the_profile_likelihood(n: float, b: float, sigma_b: float) -> None:
    z = float(z_observed(n, b, sigma_b))
    assert z == pytest.approx(_profile_z(n, b, sigma_b), rel=1e-6)
    assert abs(z) < abs(float(z_observed(n, b)))  # the uncertainty always costs significance


def test_window_z_counts_plus_minus_one_sigma() -> None:
    edges = np.arange(0.0, 101.0, 1.0)
    s = np.zeros(100)
    s[45:55] = 10.0
    b = np.full(100, 100.0)
    w = window_z(s, b, edges, 50.0, 3.0)
    assert (w.lo_bin, w.hi_bin) == (47, 53)
    assert w.s == 60.0 and w.b == 600.0
    assert w.z == pytest.approx(float(z_asimov(60.0, 600.0)))
    # centres exactly one sigma away belong to the window
    edge = window_z(s, b, edges, 50.5, 3.0)
    assert (edge.lo_bin, edge.hi_bin) == (47, 54) and edge.s == 70.0


def test_delta_z() -> None:
    assert float(delta_z(3.0, 2.0)) == pytest.approx(50.0)
    assert float(delta_z(1.0, 2.0)) == pytest.approx(-50.0)
