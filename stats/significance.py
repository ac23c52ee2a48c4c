"""Closed-form significances: Asimov Z (with and without background uncertainty), signed
per-bin/window Z of observed counts, the +-1 sigma window count and Delta-Z.

Formulae: Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, and
Cowan's "Discovery sensitivity for a counting experiment with background uncertainty".

>>> round(float(z_asimov(10.0, 100.0)), 4)
0.9834
>>> round(float(delta_z(2.0, 1.0)), 1)
100.0
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "z_asimov",
    "z_observed",
    "WindowZ",
    "window_z",
    "delta_z",
    "p_to_z",
    "z_to_p",
]


def p_to_z(p: np.ndarray | float) -> np.ndarray:
    """One-sided p-value to significance."""
    from scipy.stats import norm

    return norm.isf(np.asarray(p, dtype=float))


def z_to_p(z: np.ndarray | float) -> np.ndarray:
    from scipy.stats import norm

    return norm.sf(np.asarray(z, dtype=float))


def z_asimov(s: np.ndarray | float, b: np.ndarray | float, sigma_b: np.ndarray | float | None = None) -> np.ndarray:
    """Median discovery significance of s signal on b background (Asimov).

    Without ``sigma_b``: Z = sqrt(2((s+b) ln(1 + s/b) - s)). With it, the profile-likelihood
    formula for an auxiliary Poisson measurement of b (tau = b / sigma_b^2).
    """
    s = np.asarray(s, dtype=float)
    b = np.asarray(b, dtype=float)
    if np.any(b <= 0):
        raise ValueError("z_asimov needs b > 0")
    if sigma_b is None or np.all(np.asarray(sigma_b) == 0):
        with np.errstate(invalid="ignore"):
            q = 2.0 * ((s + b) * np.log1p(s / b) - s)
        return np.sign(s) * np.sqrt(np.clip(q, 0.0, None))
    return _z_with_uncertainty(s + b, b, np.asarray(sigma_b, dtype=float))


def _z_with_uncertainty(n: np.ndarray, b: np.ndarray, sigma_b: np.ndarray) -> np.ndarray:
    """Signed Z of n observed on b +- sigma_b (auxiliary Poisson constraint); n = s+b is Asimov."""
    n = np.asarray(n, dtype=float)
    var = sigma_b**2
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(n > 0, n * np.log(n * (b + var) / (b**2 + n * var)), 0.0)
        t2 = (b**2 / var) * np.log1p(var * (n - b) / (b * (b + var)))
        q = 2.0 * (t1 - t2)
    return np.sign(n - b) * np.sqrt(np.clip(q, 0.0, None))


def z_observed(n: np.ndarray | float, b: np.ndarray | float, sigma_b: np.ndarray | float | None = None) -> np.ndarray:
    """Signed likelihood-ratio significance of observed counts n over b (+- sigma_b).

    Positive for excesses, negative for deficits; this is the per-bin significance panel
    and the fixed-window local Z. Poisson only when ``sigma_b`` is None or 0.
    """
    n = np.asarray(n, dtype=float)
    b = np.asarray(b, dtype=float)
    if np.any(b <= 0):
        raise ValueError("z_observed needs b > 0")
    if sigma_b is not None and np.any(np.asarray(sigma_b) > 0):
        return _z_with_uncertainty(n, b, np.maximum(np.asarray(sigma_b, dtype=float), 1e-12 * b))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 2.0 * (np.where(n > 0, n * np.log(n / b), 0.0) - (n - b))
    return np.sign(n - b) * np.sqrt(np.clip(q, 0.0, None))


class WindowZ(NamedTuple):
    """Counts in the +-1 sigma window around a signal mean and their Asimov Z."""

    s: float
    b: float
    z: float
    lo_bin: int
    hi_bin: int


def window_z(
    signal: np.ndarray, background: np.ndarray, edges_gev: np.ndarray, mean_gev: float, sigma_gev: float
) -> WindowZ:
    """Z = sqrt(2((s+b) ln(1+s/b) - s)) from the bins whose centres lie within mean +- sigma.

    If no centre falls inside (sigma below a bin width), the bin holding the mean is used.
    """
    edges = np.asarray(edges_gev, dtype=float)
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside = np.flatnonzero(np.abs(centres - mean_gev) <= sigma_gev)
    if inside.size == 0:
        inside = np.clip(np.searchsorted(edges, [mean_gev]) - 1, 0, centres.size - 1)
    lo, hi = int(inside[0]), int(inside[-1]) + 1
    s = float(np.sum(np.asarray(signal, dtype=float)[lo:hi]))
    b = float(np.sum(np.asarray(background, dtype=float)[lo:hi]))
    return WindowZ(s, b, float(z_asimov(s, b)), lo, hi)


def delta_z(z_ar: np.ndarray | float, z_inclusive: np.ndarray | float) -> np.ndarray:
    """Delta-Z = (Z_AR / Z - 1) x 100%: the gain of the anomaly region over no selection."""
    return (np.asarray(z_ar, dtype=float) / np.asarray(z_inclusive, dtype=float) - 1.0) * 100.0
