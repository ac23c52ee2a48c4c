"""Null (background-only) behaviour of the whole chain: fit -> local Z, fit -> BumpHunter global p.

Default run: 500 toys each, with the cheaper three-parameter sideband fit (local Z) and a
fixed background (global p, in test_bumphunter.py). ``-m slow``: the AE-search chain (five-
parameter fit of the whole spectrum, BumpHunter against each toy's own fit).
"""

from __future__ import annotations

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


@pytest.mark.slow
def test_null_ae_chain_local_z_and_global_p(spectrum) -> None:
    """500 toys of the AE search: 5-parameter fit, BumpHunter against the toy's own fit."""
    edges = resolution_binning(1000.0, 6000.0)
    mu, _ = spectrum("five_param", edges, 3e5)
    rng = np.random.default_rng(77)
    local_z, global_p = [], []
    for i in range(500):
        n = rng.poisson(mu)
        fit = fit_spectrum(n, edges, "five_param")
        res = bump_hunt(n, fit.expected, max_width=20, n_pseudo=1000, seed=i)
        global_p.append(res.global_p)
        mid = slice(40, 45)  # a fixed window: its signed local Z
        sigma = np.sqrt(fit.count_covariance[mid, mid].sum())
        local_z.append(float(z_observed(n[mid].sum(), fit.expected[mid].sum(), sigma)))
    local_z, global_p = np.array(local_z), np.array(global_p)
    ks = sps.kstest(global_p, "uniform").pvalue
    print(f"AE chain null: local Z mean {local_z.mean():.3f} sd {local_z.std(ddof=1):.3f}; global p KS p-value {ks:.3f}")
    assert abs(local_z.mean()) < 0.1 and abs(local_z.std(ddof=1) - 1.0) < 0.1
    assert ks > 0.01
