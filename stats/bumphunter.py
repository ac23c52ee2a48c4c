"""BumpHunter (Choudalakis, arXiv:1101.0390) in excess mode, fast enough for 10^4+ pseudo-experiments.

Windows of ``min_width_bins..max_width_bins`` contiguous bins are scanned; a window's local p-value is
the Poisson tail P(n >= N | B) = regularised lower incomplete gamma P(N, B) when N > B and 1
otherwise (pyBumpHunter's convention); the test statistic is t = -ln(min p). The global
p-value is the fraction of pseudo-experiments, drawn from the background fit, with t >= t_obs.

Speed: a numba kernel screens every window with the continuity-corrected likelihood-ratio
statistic s (cheap). The exact incomplete gamma, in log space, is evaluated for windows with
few expected events and for those within ``SCREEN_MARGIN`` of the best s: for B >= 10 the
normal approximation -ln Phi(-sqrt(2 s)), monotone in s with slope > 1, is within 0.3 of the
exact -ln p, so no skipped window can win. Tests compare the kernel with a brute-force scipy
scan and with pyBumpHunter.

Background-shape uncertainty: with ``background_alt``, each pseudo-experiment's mean is
``b + g (b_alt - b)`` with g ~ N(0, 1) (the alternative function as a one-sigma shape
variation), while t is always computed against the nominal background, which widens the null
distribution of t (a conservative global p-value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numba
import numpy as np
from scipy import stats as sps
from scipy.special import gammainc, ndtri_exp

from adsearch.stats.fitting import check_counts

__all__ = ["BumpHuntResult", "bump_hunt", "scan", "null_distribution", "local_pvalues"]

#: Windows whose screening statistic is within this of the best are evaluated exactly.
SCREEN_MARGIN = 0.5
#: Windows expecting fewer events than this are always evaluated exactly.
EXACT_BELOW = 10.0


@dataclass
class BumpHuntResult:
    """Most significant window and its local and global significance.

    ``lo_bin``/``hi_bin`` are bin indices (``hi_bin`` exclusive); ``lo_gev``/``hi_gev`` its
    edges when edges were given. ``global_p`` is k / n_pseudo; when k = 0 it is 0 and
    ``global_z`` is the lower bound norm.isf(1 / n_pseudo) (``global_p_is_bound`` True).
    ``local_p_alt`` is the same window's local p against the alternative background.
    """

    lo_bin: int
    hi_bin: int
    lo_gev: float | None
    hi_gev: float | None
    n_observed: float
    n_background: float
    local_p: float
    local_z: float
    test_statistic: float
    global_p: float
    global_z: float
    global_p_is_bound: bool
    n_pseudo: int
    local_p_alt: float | None
    null_t: np.ndarray

    @property
    def width_bins(self) -> int:
        return self.hi_bin - self.lo_bin

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "null_t"}


@numba.njit(cache=True)
def _log_poisson_tail(n: float, b: float) -> float:
    """ln P(X >= n | b) for n > b > 0: ln of the regularised lower incomplete gamma P(n, b).

    Series P(a, x) = e^{-x} x^a / Gamma(a+1) * sum_k x^k / ((a+1)...(a+k)), converging
    for x < a + 1, which always holds in excess mode (n > b).
    """
    term = 1.0
    total = 1.0
    k = 1.0
    while True:
        term *= b / (n + k)
        total += term
        if term < total * 1e-16:
            break
        k += 1.0
    return -b + n * math.log(b) - math.lgamma(n + 1.0) + math.log(total)


@numba.njit(cache=True)
def _screen(n: float, b: float) -> float:
    """Continuity-corrected Poisson likelihood-ratio statistic: a cheap proxy for -ln p."""
    m = n - 0.5
    if m <= b:
        return 0.0
    return m * math.log(m / b) - (m - b)


@numba.njit(cache=True, parallel=True)
def _scan_kernel(
    counts: np.ndarray, background: np.ndarray, w_min: int, w_max: int, margin: float, b_exact: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``counts``: (-ln min p, lo bin, width) of the most significant window.

    ``background`` is (1, n_bins), shared by every row, or (n_rows, n_bins), one per row (e.g.
    each pseudo-experiment's own refit). Windows with background < ``b_exact`` (cheap series,
    large discreteness) are always evaluated exactly; larger ones only when their screening
    statistic is within ``margin`` of the best large window's (the normal approximation's log
    error is < 0.3 there).
    """
    n_rows, n_bins = counts.shape
    best_t = np.zeros(n_rows)
    best_lo = np.zeros(n_rows, dtype=np.int64)
    best_w = np.full(n_rows, w_min, dtype=np.int64)
    b_stride = 1 if background.shape[0] > 1 else 0  # (a literal 0 and the prange index unify to float)
    for r in numba.prange(n_rows):
        rb = r * b_stride
        cum_b = np.zeros(n_bins + 1)
        cum_n = np.zeros(n_bins + 1)
        for i in range(n_bins):
            cum_b[i + 1] = cum_b[i] + background[rb, i]
            cum_n[i + 1] = cum_n[i] + counts[r, i]
        top = 0.0
        for w in range(w_min, w_max + 1):
            for lo in range(0, n_bins - w + 1):
                b = cum_b[lo + w] - cum_b[lo]
                if b >= b_exact:
                    s = _screen(cum_n[lo + w] - cum_n[lo], b)
                    if s > top:
                        top = s
        t_best = 0.0
        lo_best = 0
        w_best = w_min
        threshold = top - margin
        for w in range(w_min, w_max + 1):
            for lo in range(0, n_bins - w + 1):
                b = cum_b[lo + w] - cum_b[lo]
                n = cum_n[lo + w] - cum_n[lo]
                if b > 0 and n > b and (b < b_exact or _screen(n, b) >= threshold):
                    t = -_log_poisson_tail(n, b)
                    if t > t_best:
                        t_best = t
                        lo_best = lo
                        w_best = w
        best_t[r] = t_best
        best_lo[r] = lo_best
        best_w[r] = w_best
    return best_t, best_lo, best_w


def _widths(n_bins: int, min_width_bins: int, max_width_bins: int | None) -> tuple[int, int]:
    w_max = n_bins // 2 if max_width_bins is None else int(max_width_bins)
    w_max = min(w_max, n_bins)
    if not 1 <= min_width_bins <= w_max:
        raise ValueError(f"need 1 <= min_width_bins <= max_width_bins <= n_bins, got {min_width_bins}, {w_max}, {n_bins}")
    return int(min_width_bins), w_max


def scan(
    counts: np.ndarray, background: np.ndarray, *, min_width_bins: int = 1, max_width_bins: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scan one spectrum (1-D) or many (2-D, one per row): (t, lo_bin, width_bins) arrays.

    ``background`` is one spectrum (1-D, shared by every row) or one per row of ``counts`` (2-D).
    """
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    bg = np.asarray(background, dtype=float)
    if bg.ndim == 2:
        if bg.shape != n.shape or not np.all(np.isfinite(bg)) or np.any(bg < 0):
            raise ValueError(f"a 2-D background must be finite, >= 0 and shaped like counts {n.shape}, got {bg.shape}")
        b = np.ascontiguousarray(bg)
    else:
        b = check_counts(bg, "background")[None, :]
    if n.shape[1] != b.shape[1]:
        raise ValueError(f"counts have {n.shape[1]} bins, background {b.shape[1]}")
    w_min, w_max = _widths(b.shape[1], min_width_bins, max_width_bins)
    return _scan_kernel(np.ascontiguousarray(n), b, w_min, w_max, SCREEN_MARGIN, EXACT_BELOW)


def local_pvalues(counts: np.ndarray, background: np.ndarray, width: int) -> np.ndarray:
    """Reference local p-values of every window of ``width`` bins (scipy, no screening)."""
    n = np.concatenate([[0.0], np.cumsum(counts)])
    b = np.concatenate([[0.0], np.cumsum(background)])
    nw, bw = n[width:] - n[:-width], b[width:] - b[:-width]
    p = np.ones(nw.size)
    ok = (nw > bw) & (bw > 0)
    p[ok] = gammainc(nw[ok], bw[ok])
    return p


def null_distribution(
    background: np.ndarray,
    *,
    background_alt: np.ndarray | None = None,
    n_pseudo: int = 10000,
    seed: int = 0,
    min_width_bins: int = 1,
    max_width_bins: int | None = None,
    chunk: int = 5000,
    refit: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Test statistics t of ``n_pseudo`` pseudo-experiments drawn from the background.

    ``refit``: optional map from a pseudo-experiment's counts to its own background (e.g. a
    fit of the same function); each pseudo-experiment is then scanned against its refit, as
    the data are against theirs. Without it the global p-value is conservative when the
    background was fitted to the data themselves (the fit absorbs part of any fluctuation).
    """
    b = check_counts(background, "background")
    rng = np.random.default_rng(seed)
    out = np.empty(n_pseudo)
    for start in range(0, n_pseudo, chunk):
        size = min(chunk, n_pseudo - start)
        mean = np.broadcast_to(b, (size, b.size))
        if background_alt is not None:
            shift = check_counts(background_alt, "background_alt") - b
            mean = np.clip(b + rng.standard_normal((size, 1)) * shift, 0.0, None)
        pseudo = rng.poisson(mean).astype(float)
        if refit is None:
            out[start : start + size] = scan(pseudo, b, min_width_bins=min_width_bins, max_width_bins=max_width_bins)[0]
        else:
            for i, row in enumerate(pseudo):
                out[start + i] = scan(row, refit(row), min_width_bins=min_width_bins, max_width_bins=max_width_bins)[0][0]
    return out


def bump_hunt(
    counts: np.ndarray,
    background: np.ndarray,
    *,
    background_alt: np.ndarray | None = None,
    edges_gev: np.ndarray | None = None,
    min_width_bins: int = 1,
    max_width_bins: int | None = None,
    n_pseudo: int = 10000,
    seed: int = 0,
    null_t: np.ndarray | None = None,
    refit: Callable[[np.ndarray], np.ndarray] | None = None,
) -> BumpHuntResult:
    """Find the most significant excess and its global significance.

    ``max_width_bins`` defaults to half the number of bins (as pyBumpHunter). ``null_t``: reuse a
    precomputed :func:`null_distribution` (then ``n_pseudo``/``seed`` are ignored). ``refit``:
    see :func:`null_distribution`, e.g. ``lambda n: fit_spectrum(n, edges, "five_param").expected``
    (exact but one fit per pseudo-experiment).

    >>> b = np.full(40, 100.0); n = b.copy(); n[20:23] += 60
    >>> r = bump_hunt(n, b, n_pseudo=200)
    >>> (r.lo_bin, r.hi_bin)
    (20, 23)
    """
    n = check_counts(counts)
    b = check_counts(background, "background")
    if n.size != b.size:
        raise ValueError(f"counts ({n.size} bins) and background ({b.size} bins) differ")
    t, lo, width = (arr[0] for arr in scan(n, b, min_width_bins=min_width_bins, max_width_bins=max_width_bins))
    lo, hi = int(lo), int(lo + width)
    if null_t is None:
        null_t = null_distribution(
            b, background_alt=background_alt, n_pseudo=n_pseudo, seed=seed,
            min_width_bins=min_width_bins, max_width_bins=max_width_bins, refit=refit,
        )
    n_pe = int(null_t.size)
    k = int(np.count_nonzero(null_t >= t))
    global_p = k / n_pe
    bound = k == 0
    global_z = float(sps.norm.isf(1.0 / n_pe)) if bound else float(max(sps.norm.isf(global_p), 0.0))
    local_p = float(np.exp(-t))
    p_alt = None
    if background_alt is not None:
        n_win, b_alt = n[lo:hi].sum(), float(np.sum(background_alt[lo:hi]))
        p_alt = float(gammainc(n_win, b_alt)) if n_win > b_alt > 0 else 1.0
    edges = None if edges_gev is None else np.asarray(edges_gev, dtype=float)
    return BumpHuntResult(
        lo_bin=lo,
        hi_bin=hi,
        lo_gev=None if edges is None else float(edges[lo]),
        hi_gev=None if edges is None else float(edges[hi]),
        n_observed=float(n[lo:hi].sum()),
        n_background=float(b[lo:hi].sum()),
        local_p=local_p,
        local_z=float(-ndtri_exp(-t)) if t > 0 else 0.0,
        test_statistic=float(t),
        global_p=global_p,
        global_z=global_z,
        global_p_is_bound=bound,
        n_pseudo=n_pe,
        local_p_alt=p_alt,
        null_t=null_t,
    )
