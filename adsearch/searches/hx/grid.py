"""The background in the (m_X, m_Y) plane from data, and a bump hunt over the whole grid.

Background (as the paper, arXiv:2306.03637, fits m_Y per m_X bin): in each m_X bin the m_Y
spectrum of the selected events is fitted with a smoothly falling function (default
``three_param``, p1 (1-x)^p2 x^-p3, x = m_Y / 13 TeV) by a binned Poisson likelihood
(:func:`adsearch.stats.fitting.fit_spectrum`); its expected counts and count covariance are the
background of that row. Rows with too few events to fit (fewer non-empty bins than the function
has parameters + 2, or under 10 events) are not searched and are listed as such.

Bump hunt: in every fitted row, every window of 1..``max_window_bins`` m_Y bins is tested with
the BumpHunter statistic t = -ln(local Poisson p) (:func:`adsearch.stats.bumphunter.scan`); the
most significant window of the whole grid is the candidate. **Look-elsewhere effect of the whole
grid**: each pseudo-experiment draws Poisson counts from the fitted background in *every* row and
keeps the largest t over the grid; global p = fraction of pseudo-experiments with t >= t_obs
(no refit, conservative: the fit absorbed part of any real fluctuation). The candidate's local
significance is also given by pyhf (:func:`adsearch.stats.likelihood.discovery_significance`,
the fit's uncertainty in the window as a constrained nuisance).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from adsearch.stats.bumphunter import null_distribution, scan
from adsearch.stats.fitting import fit_spectrum
from adsearch.stats.functions import get_function
from adsearch.stats.likelihood import LikelihoodInputs, discovery_significance
from adsearch.stats.limits import upper_limit

__all__ = ["GridBackground", "GridHunt", "SignalSensitivity", "fit_grid", "hunt_grid", "signed_z", "sensitivity"]


@dataclass
class GridBackground:
    """Counts, fitted background and its uncertainty per (m_X bin, m_Y bin) of one region."""

    mx_edges_gev: np.ndarray
    my_edges_gev: np.ndarray
    counts: np.ndarray
    background: np.ndarray
    sigma: np.ndarray
    covariances: list[np.ndarray]
    fitted: np.ndarray
    fit_p_values: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"mx_edges_gev": self.mx_edges_gev.tolist(), "my_edges_gev": self.my_edges_gev.tolist(),
                "counts": self.counts.tolist(), "background": self.background.tolist(),
                "fitted_rows": self.fitted.tolist(), "fit_p_values": self.fit_p_values.tolist()}


def fit_grid(mx_gev: np.ndarray, my_gev: np.ndarray, mx_edges_gev: np.ndarray, my_edges_gev: np.ndarray,
             function: str = "three_param", weights: np.ndarray | None = None) -> GridBackground:
    """Histogram the events in (m_X, m_Y) and fit m_Y in every m_X bin."""
    mx_edges, my_edges = np.asarray(mx_edges_gev, float), np.asarray(my_edges_gev, float)
    counts, _, _ = np.histogram2d(mx_gev, my_gev, bins=(mx_edges, my_edges), weights=weights)
    n_params = get_function(function).n_params
    background = counts.copy()
    sigma = np.zeros_like(counts)
    covariances = [np.zeros((counts.shape[1], counts.shape[1])) for _ in range(counts.shape[0])]
    fitted = np.zeros(counts.shape[0], bool)
    p_values = np.full(counts.shape[0], np.nan)
    for row, n in enumerate(counts):
        if n.sum() < 10 or np.count_nonzero(n) < n_params + 2:
            continue
        fit = fit_spectrum(np.round(n), my_edges, function)
        if not fit.converged or not np.all(np.isfinite(fit.expected)):
            continue
        background[row], sigma[row], covariances[row] = fit.expected, fit.sigma, fit.count_covariance
        fitted[row], p_values[row] = True, fit.p_value
    return GridBackground(mx_edges, my_edges, counts, background, sigma, covariances, fitted, p_values)


def signed_z(n: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed Poisson significance sqrt(2 (n ln(n/b) - (n - b))) per cell (0 where b = 0).

    >>> signed_z(np.array([150.0, 50.0]), np.array([100.0, 100.0])).round(2).tolist()
    [4.65, -5.54]
    """
    n, b = np.asarray(n, float), np.asarray(b, float)
    ok = b > 0
    term = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / np.where(ok, b, 1.0)), 0.0) - (n - b)
    return np.where(ok, np.sign(n - b) * np.sqrt(np.clip(2 * term, 0, None)), 0.0)


@dataclass
class GridHunt:
    """The most significant (m_X bin, m_Y window) and its local and grid-global significance."""

    mx_lo_gev: float
    mx_hi_gev: float
    my_lo_gev: float
    my_hi_gev: float
    n_observed: float
    n_background: float
    sigma_background: float
    local_z: float
    local_z_pyhf: float
    global_p: float
    global_z: float
    n_pseudo: int
    n_rows_searched: int
    z_map: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "z_map"}
        out["z_map"] = self.z_map.tolist()
        return out


def hunt_grid(grid: GridBackground, max_window_bins: int = 3, n_pseudo: int = 2000, seed: int = 0) -> GridHunt:
    """Scan every fitted row, take the grid's most significant window, correct for the whole grid."""
    rows = np.flatnonzero(grid.fitted)
    z_map = np.where(grid.fitted[:, None], signed_z(grid.counts, grid.background), 0.0)
    if rows.size == 0:
        nan = float("nan")
        return GridHunt(nan, nan, nan, nan, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0, 0, z_map)
    width = min(max_window_bins, grid.counts.shape[1])
    t, lo, w = scan(grid.counts[rows], grid.background[rows], min_width_bins=1, max_width_bins=width)
    best = int(np.argmax(t))
    row, a, b = int(rows[best]), int(lo[best]), int(lo[best] + w[best])
    null = np.max([null_distribution(grid.background[r], n_pseudo=n_pseudo, seed=seed + 1000 * int(r),
                                     max_width_bins=width) for r in rows], axis=0)
    global_p = float(np.mean(null >= t[best]))
    global_z = float(max(sps.norm.isf(max(global_p, 0.5 / n_pseudo)), 0.0))
    n_win = float(grid.counts[row, a:b].sum())
    b_win = float(grid.background[row, a:b].sum())
    s_win = float(np.sqrt(max(grid.covariances[row][a:b, a:b].sum(), 0.0)))
    local_z = float(-sps.norm.ppf(np.exp(-t[best]))) if t[best] > 0 else 0.0
    z_pyhf = 0.0
    if n_win > b_win > 0:
        z_pyhf = max(discovery_significance([n_win], [max(n_win - b_win, 1.0)], [b_win],
                                            background_sigma=[max(s_win, 1e-6)]).z, 0.0)
    return GridHunt(float(grid.mx_edges_gev[row]), float(grid.mx_edges_gev[row + 1]), float(grid.my_edges_gev[a]),
                    float(grid.my_edges_gev[b]), n_win, b_win, s_win, local_z, float(z_pyhf), global_p, global_z,
                    n_pseudo, int(rows.size), z_map)


@dataclass
class SignalSensitivity:
    """One signal in one region: expected yield, expected Z at the reference cross-section, and
    the CLs upper limits (observed on the data of that region, expected), in pb."""

    signal: str
    region: str
    efficiency: float
    expected_events: float
    z_expected: float
    limit_observed_pb: float
    limit_expected_pb: float
    mx_lo_gev: float
    mx_hi_gev: float
    #: expected-limit band (pb): -2, -1, +1, +2 sigma around ``limit_expected_pb``
    limit_band_pb: tuple[float, float, float, float] = (float("nan"),) * 4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sensitivity(grid: GridBackground, signal_counts: np.ndarray, xsec_pb: float, name: str, region: str,
                efficiency: float) -> SignalSensitivity:
    """Expected Z (pyhf, Asimov) and CLs limits for a signal template (counts at ``xsec_pb``) in
    the m_X row holding most of it, over the m_Y bins with >= 5% of its peak; ``efficiency``:
    the fraction of generated signal events in the region (reported)."""
    total = float(signal_counts.sum())
    row = int(np.argmax(signal_counts.sum(axis=1)))
    s = signal_counts[row]
    use = s >= 0.05 * max(s.max(), 1e-12)
    nan = float("nan")
    if total <= 0 or not grid.fitted[row]:
        return SignalSensitivity(name, region, efficiency, total, 0.0, nan, nan,
                                 float(grid.mx_edges_gev[row]), float(grid.mx_edges_gev[row + 1]))
    b = np.maximum(grid.background[row, use], 1e-3)
    cov = grid.covariances[row][np.ix_(use, use)]
    z_exp = discovery_significance(b, s[use], b, background_sigma=cov).z_expected
    limit = upper_limit(LikelihoodInputs.make(grid.counts[row, use], s[use] / max(s[use].sum(), 1e-12), b, cov),
                        method="asymptotic")
    per_pb = s[use].sum() / xsec_pb
    band = tuple(float(v / per_pb) for v in (limit.minus2, limit.minus1, limit.plus1, limit.plus2))
    return SignalSensitivity(name, region, efficiency, total, float(z_exp),
                             float(limit.observed / per_pb), float(limit.expected / per_pb),
                             float(grid.mx_edges_gev[row]), float(grid.mx_edges_gev[row + 1]), band)
