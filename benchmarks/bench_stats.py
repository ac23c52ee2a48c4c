"""Benchmark of adsearch.stats: fits/s per function, BumpHunter pseudo-experiments/s, CLs time per mass point.

Run: ``python benchmarks/bench_stats.py [--quick]``. Prints a markdown table. Inputs are
seeded toy spectra: the AE-search resolution binning (0.3-8 TeV, ~119 bins) with 10^6 events
for fits and limits, a 200-bin falling spectrum for BumpHunter.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

from adsearch.stats.binning import resolution_binning
from adsearch.stats.bumphunter import null_distribution, scan
from adsearch.stats.calibration import refitted_null
from adsearch.stats.fitting import expected_counts, fit_spectrum
from adsearch.stats.functions import FUNCTION_NAMES
from adsearch.stats.limits import gaussian_limits
from adsearch.stats.strategies import fit_strategy_c

TRUTH = {
    "three_param": [1.0, 10.0, 5.0],
    "four_param": [1.0, 10.0, 5.0, 0.1],
    "ua2": [1.0, -5.0, 20.0, 5.0],
    "five_param": [1.0, 10.0, -5.0, -0.1, 0.01],
    "five_param_alt": [1.0, 10.0, -5.0, -0.1, 0.1],
}


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    rng = np.random.default_rng(0)
    edges = resolution_binning()

    n_fits = 5 if args.quick else 20
    for name in FUNCTION_NAMES:
        mu = expected_counts(name, TRUTH[name], edges)
        mu *= 1e6 / mu.sum()
        toys = [rng.poisson(mu) for _ in range(n_fits)]
        it = iter(toys)
        dt = timed(lambda: fit_spectrum(next(it), edges, name), n_fits)
        rows.append((f"fit {name} ({edges.size - 1} bins)", f"{1.0 / dt:.1f} fits/s", f"{1e3 * dt:.1f} ms/fit"))

    b = 1e5 * np.exp(-np.linspace(0.0, 13.0, 200)) + 0.002
    scan(np.ones((1, 200)), b)  # numba compile / cache load outside the timing
    n_pe = 2000 if args.quick else 10000
    for max_width_bins in (20, 100):
        dt = timed(lambda: null_distribution(b, n_pseudo=n_pe, seed=1, max_width_bins=max_width_bins))
        rows.append((f"BumpHunter {n_pe} PE, 200 bins, widths 1-{max_width_bins}", f"{n_pe / dt:,.0f} PE/s", f"{dt:.2f} s"))
    # the AE search's calibrated global p: each pseudo-experiment refitted (linearised) vs a fixed fit
    mu_ae = expected_counts("five_param", TRUTH["five_param"], edges)
    ae_counts = rng.poisson(mu_ae * 2e4 / mu_ae.sum()).astype(float)
    ae_fit = fit_spectrum(ae_counts, edges, "five_param")
    keep = slice(int(np.argmax(ae_counts / np.diff(edges))), int(np.nonzero(ae_counts)[0][-1]) + 2)
    ae_fit = fit_spectrum(ae_counts[keep], edges[keep.start : keep.stop + 1], "five_param")
    scan(np.ones((1, ae_fit.expected.size)), ae_fit.expected)
    dt_fixed = timed(lambda: null_distribution(ae_fit.expected, n_pseudo=n_pe, seed=1))
    dt_refit = timed(lambda: refitted_null(ae_fit, n_pseudo=n_pe, seed=1))
    rows.append((f"BumpHunter null {n_pe} PE, fixed fit ({ae_fit.expected.size} bins, 20k events)",
                 f"{n_pe / dt_fixed:,.0f} PE/s", f"{dt_fixed:.2f} s"))
    rows.append((f"BumpHunter null {n_pe} PE, each refitted (calibrated, AE default)",
                 f"{n_pe / dt_refit:,.0f} PE/s", f"{dt_refit:.2f} s ({dt_refit / dt_fixed:.1f}x the fixed fit)"))
    try:
        import contextlib
        import io

        import pyBumpHunter as BH

        n_ref = 500
        data = rng.poisson(b).astype(float)
        hunter = BH.BumpHunter1D(rang=(0, 200), bins=np.arange(201.0), width_min=1, width_max=100, npe=n_ref, nworker=1, seed=1)
        with contextlib.redirect_stdout(io.StringIO()):
            dt = timed(lambda: hunter.bump_scan(data, b, is_hist=True))
        rows.append((f"pyBumpHunter {n_ref} PE, 200 bins, widths 1-100 (reference)", f"{n_ref / dt:,.0f} PE/s", f"{dt:.2f} s"))
    except ImportError:
        pass

    mu = expected_counts("five_param", TRUTH["five_param"], edges)
    mu *= 1e6 / mu.sum()
    counts = rng.poisson(mu)
    fit = fit_strategy_c(counts, edges)
    masses = np.array([500.0, 1000.0, 1500.0, 2000.0]) if args.quick else 300.0 * 1.05 ** np.arange(0, 60, 6)
    for width in (0.0, 0.15):
        for method in ("asymptotic", "toys"):
            pts: list = []
            dt = timed(lambda: pts.extend(gaussian_limits(
                counts, fit.background, fit.count_covariance, edges, masses_gev=masses,
                width_fraction=width, background_alt=None, method=method,
            )))
            if pts:
                rows.append((f"CLs {method}, Gaussian width {width:.0%}, fit covariance", f"{dt / len(pts):.2f} s/mass point", f"{len(pts)} points"))
    for engine in ("fast", "pyhf"):
        pts_ref: list = []
        dt = timed(lambda: pts_ref.extend(gaussian_limits(
            counts, fit.background, fit.count_covariance, edges, masses_gev=[1000.0], width_fraction=0.0,
            method="asymptotic", engine=engine,
        )))
        rows.append((
            f"CLs asymptotic at 1 TeV, engine={engine}",
            f"{dt:.2f} s/mass point",
            f"obs {pts_ref[0].observed:.1f}, exp {pts_ref[0].expected:.1f} events",
        ))

    print("| benchmark | rate | detail |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


if __name__ == "__main__":
    main()
