"""Spectrum analysis on toy spectra drawn from the 5-parameter function: null and injected bump."""

from __future__ import annotations

import numpy as np

from adsearch.searches.common.sensitivity import benchmark_sensitivity, signal_peak
from adsearch.searches.autoencoder.regions import anomaly_regions
from adsearch.searches.autoencoder.spectra import analyse_spectrum


def _falling_masses(rng: np.random.Generator, n: int) -> np.ndarray:
    # dijet-like falling spectrum above a turn-on at ~350 GeV
    return 300.0 + rng.gamma(1.3, 250.0, n)


def test_null_spectrum_has_no_significant_bump() -> None:
    rng = np.random.default_rng(11)
    res = analyse_spectrum(_falling_masses(rng, 20000), region="10pb", spectrum="jj", n_pseudo=1000, seed=1)
    assert res.status == "ok"
    assert res.fit.converged and res.fit.p_value > 0.01
    assert res.global_z < 3.0
    assert res.counts.sum() == res.n_events


def test_injected_bump_is_found_where_injected() -> None:
    rng = np.random.default_rng(12)
    masses = np.concatenate([_falling_masses(rng, 20000), rng.normal(1500.0, 40.0, 250)])
    res = analyse_spectrum(masses, region="10pb", spectrum="jj", n_pseudo=1000, seed=1)
    assert res.bumphunt.lo_gev <= 1500.0 <= res.bumphunt.hi_gev
    assert res.bumphunt.local_z > 4.0


def test_too_few_events_is_reported_not_fitted() -> None:
    res = analyse_spectrum(np.array([500.0, 600.0, 700.0]), region="0.1pb", spectrum="bb")
    assert res.fit is None and "too few events" in res.status


def test_signal_peak_and_delta_z_sign() -> None:
    rng = np.random.default_rng(5)
    sig_m = rng.normal(2000.0, 60.0, 4000)
    bkg_m = _falling_masses(rng, 50000)
    window = signal_peak(sig_m)
    assert abs(window.mean_gev - 2000.0) < 5.0 and abs(window.sigma_gev - 60.0) < 5.0
    # signal scores high, background low: the anomaly region must raise the sensitivity
    sig_s = rng.normal(-6.0, 0.5, sig_m.size)
    bkg_s = rng.normal(-10.0, 1.0, bkg_m.size)
    regions = anomaly_regions(np.concatenate([bkg_s, sig_s[:40]]), 100.0, [10.0])
    (point,) = benchmark_sensitivity("lq_2000", "je", sig_m, sig_s, 0.01, bkg_m, bkg_s, regions)
    assert point.z_region > point.z_presel > 0
    assert point.delta_z_percent > 0
    # and a region that throws the signal away must lower it
    (worse,) = benchmark_sensitivity("lq_2000", "je", sig_m, -sig_s - 20, 0.01, bkg_m, bkg_s, regions)
    assert worse.delta_z_percent < 0
