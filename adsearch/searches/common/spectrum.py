"""Analyse one selected mJJ spectrum: histogram, a fit strategy, and the window significance.

Both dijet searches end the same way: the events passing a selection are histogrammed in mJJ,
a fit strategy (:mod:`adsearch.stats.strategies`) gives the background, and the excess in a
window (the 2020 fit signal region) is tested by a profile likelihood ratio: the accepted
function is refitted with a free signal yield in the window (template: the background shape
inside the window, i.e. a window-normalisation excess), all function parameters profiled, and
q0 = D(background only) - D(signal + background) gives Z = sqrt(q0). Because the 2020 fit
includes the window, a fit without the signal term would absorb part of an excess; the free
yield is what keeps it out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from scipy import stats as sps

from adsearch.stats.fitting import fit_spectrum
from adsearch.stats.strategies import StrategyResult, fit_strategy_a

__all__ = ["WindowSpectrum", "analyse_window", "window_mask"]

Strategy = Callable[[np.ndarray, np.ndarray, tuple[float, float]], StrategyResult]


def window_mask(edges_gev: np.ndarray, window_gev: tuple[float, float]) -> np.ndarray:
    """Bins whose centre lies inside the window.

    >>> window_mask(np.array([0.0, 1.0, 2.0, 3.0]), (0.8, 2.2)).tolist()
    [False, True, False]
    """
    e = np.asarray(edges_gev, dtype=float)
    c = 0.5 * (e[1:] + e[:-1])
    return (c > window_gev[0]) & (c < window_gev[1])


@dataclass
class WindowSpectrum:
    """A selected spectrum, its fit and the window's observed and expected counts and Z."""

    label: str
    edges_gev: np.ndarray
    counts: np.ndarray
    window_gev: tuple[float, float]
    fit: StrategyResult
    n_window: float
    b_window: float
    sigma_b_window: float
    z: float
    p0: float

    def to_dict(self) -> dict[str, Any]:
        f = self.fit
        return {
            "label": self.label, "edges_gev": self.edges_gev.tolist(), "counts": self.counts.tolist(),
            "window_gev": list(self.window_gev), "n_window": self.n_window, "b_window": self.b_window,
            "sigma_b_window": self.sigma_b_window, "z": self.z, "p0": self.p0,
            "fit": {"success": f.success, "function": f.function, "iteration": f.iteration, "message": f.message,
                    "sideband_p_value": f.judge_p_value,
                    "background": None if f.background is None else f.background.tolist(),
                    "sigma": None if f.sigma is None else f.sigma.tolist()},
        }


def analyse_window(
    mjj_gev: np.ndarray, edges_gev: np.ndarray, window_gev: tuple[float, float], *,
    label: str = "", strategy: Strategy = fit_strategy_a,
) -> WindowSpectrum:
    """Histogram ``mjj_gev``, fit it with ``strategy`` and test the window for an excess.

    Z is the one-sided profile-likelihood significance of an excess in the window (0 for
    deficits); NaN when the strategy found no acceptable fit (the table and plot still show
    the last fit tried, marked rejected).
    """
    edges = np.asarray(edges_gev, dtype=float)
    counts = np.histogram(np.asarray(mjj_gev, dtype=float), bins=edges)[0].astype(float)
    fit = strategy(counts, edges, window_gev)
    win = window_mask(edges, window_gev)
    n = float(counts[win].sum())
    if fit.fit is None or not fit.fit.converged:
        return WindowSpectrum(label, edges, counts, window_gev, fit, n, float("nan"), float("nan"), float("nan"), float("nan"))
    b = float(fit.background[win].sum())
    cov = fit.fit.count_covariance[np.ix_(win, win)]
    sigma_b = float(np.sqrt(max(cov.sum(), 0.0)))
    z, p0 = window_excess_z(counts, edges, fit, win) if fit.success else (float("nan"), float("nan"))
    return WindowSpectrum(label, edges, counts, window_gev, fit, n, b, sigma_b, z, p0)


def _deviance(mu: np.ndarray, n: np.ndarray) -> float:
    mu = np.maximum(mu, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(2.0 * np.sum(mu - n + np.where(n > 0, n * np.log(n / mu), 0.0)))


def window_excess_z(counts: np.ndarray, edges: np.ndarray, fit: StrategyResult, window: np.ndarray) -> tuple[float, float]:
    """(Z, p0) of a window excess by the profile likelihood ratio (Z = 0 for a deficit)."""
    used = fit.fit_mask
    template = np.where(window, fit.background, 0.0)
    template = template / max(template.sum(), 1e-300)
    sb = fit_spectrum(counts, edges, fit.fit.function, mask=used, signal_template=template,
                      start_params=fit.fit.params)
    if not sb.converged or sb.signal_yield is None:
        # a fit with a free yield that cannot converge on a window without excess is no excess
        return (0.0, 0.5) if counts[window].sum() <= fit.background[window].sum() else (float("nan"), float("nan"))
    q0 = _deviance(fit.fit.expected[used], counts[used]) - _deviance(
        (sb.expected + sb.signal_yield * template)[used], counts[used])
    z = float(np.sqrt(max(q0, 0.0))) if sb.signal_yield > 0 else 0.0
    return z, float(sps.norm.sf(z))
