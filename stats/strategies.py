"""The three searches' fit strategies: which function, which bins, when a fit is good enough.

- (A) 2020 CWoLa dijet search: 100 GeV bins over 1.8-8.2 TeV, the whole range fitted (the
  fit signal region, i.e. the signal region plus the adjacent halves of its neighbouring
  regions, is *not* left out); three- then four-parameter then UA2 until the chi2 p-value of
  the fit sidebands (the bins outside the fit signal region) exceeds 0.05, else the fit range
  shrinks by 400 GeV on each side and the functions are tried again.
- (B) 2025 search: 30 bins of 60 GeV (SB+SR+SB), the SR masked, the same three functions,
  then the sideband bin furthest from the SR is dropped on each side until p > 0.05 or
  fewer than six sideband bins remain.
- (C) AE search: resolution binning, five-parameter fit of the whole spectrum, the
  alternative five-parameter function as a fully correlated shape uncertainty.

Failures are results (``success=False`` with a message), never silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from scipy import stats as sps

from adsearch.stats.fitting import FitResult, check_counts, fit_spectrum, goodness_of_fit

__all__ = [
    "Attempt",
    "StrategyResult",
    "AEFitResult",
    "SEQUENTIAL_FUNCTIONS",
    "cwola_fit_signal_region",
    "fit_strategy_a",
    "fit_strategy_b",
    "fit_strategy_c",
    "sideband_p_value",
]

SEQUENTIAL_FUNCTIONS: tuple[str, ...] = ("three_param", "four_param", "ua2")


@dataclass(frozen=True)
class Attempt:
    """One fit tried by a strategy."""

    function: str
    iteration: int
    p_value: float
    converged: bool
    n_fit_bins: int
    message: str


@dataclass
class StrategyResult:
    """Outcome of strategy A or B; ``fit`` is the accepted fit (or the last one tried).

    ``fit_mask``: bins that entered the accepted fit; ``background``/``sigma``: its prediction
    and fit uncertainty for every bin (B: the signal-region values are the interpolation).
    ``judge_mask`` / ``judge_p_value`` (A): the fit-sideband bins whose chi2 judged the fit.
    """

    strategy: str
    success: bool
    function: str | None
    iteration: int
    fit: FitResult | None
    fit_mask: np.ndarray
    message: str
    attempts: list[Attempt] = field(default_factory=list)
    judge_mask: np.ndarray | None = None
    judge_p_value: float = float("nan")

    @property
    def background(self) -> np.ndarray | None:
        return None if self.fit is None else self.fit.expected

    @property
    def sigma(self) -> np.ndarray | None:
        return None if self.fit is None else self.fit.sigma


def _try_functions(
    counts: np.ndarray,
    edges_gev: np.ndarray,
    mask: np.ndarray,
    functions: Sequence[str],
    p_threshold: float,
    iteration: int,
    attempts: list[Attempt],
    extra_variance: np.ndarray | None = None,
) -> tuple[bool, FitResult]:
    """(accepted, fit): the first fit (in ``functions`` order) that converges with
    p > threshold, else (False, the last fit tried)."""
    for name in functions:
        fit = fit_spectrum(counts, edges_gev, name, mask=mask, extra_variance=extra_variance)
        attempts.append(Attempt(name, iteration, fit.p_value, fit.converged, int(mask.sum()), fit.message))
        if fit.converged and fit.p_value > p_threshold:
            return True, fit
    return False, fit


def cwola_fit_signal_region(regions_gev: Sequence[float], index: int) -> tuple[float, float]:
    """Fit signal region of strategy A: region ``index`` plus the adjacent halves of its neighbours.

    ``regions_gev`` are the boundaries of the analysis' mass regions; at the ends of the list
    the missing neighbour contributes nothing.
    """
    r = np.asarray(regions_gev, dtype=float)
    if not 0 <= index < r.size - 1:
        raise ValueError(f"region index {index} outside 0..{r.size - 2}")
    lo = r[index] - (0.5 * (r[index] - r[index - 1]) if index > 0 else 0.0)
    hi = r[index + 1] + (0.5 * (r[index + 2] - r[index + 1]) if index + 2 < r.size else 0.0)
    return float(lo), float(hi)


def sideband_p_value(fit: FitResult, judge: np.ndarray, min_expected: float = 5.0) -> float:
    """chi2 p-value of ``fit`` over the ``judge`` bins only (bins merged as in the fit's own GoF).

    ndf = merged groups - free parameters of the fit (the parameters were fitted to all bins,
    the judged bins are a subset: the same convention as the 2020 search). Where groups of
    ``min_expected`` events leave no degree of freedom (the sidebands of a 1% selection hold a
    few dozen events), groups of one expected event are used instead; NaN if even those do not.
    """
    if not fit.converged:
        return float("nan")
    judge = np.asarray(judge, bool)
    for threshold in (min_expected, 1.0):  # sparse sidebands (a 1% selection): groups of >= 1 event
        dev, _, groups = goodness_of_fit(fit.expected, fit.counts, judge, threshold)
        ndf = groups - fit.theta.size
        if ndf > 0:
            return float(sps.chi2.sf(dev, ndf))
    return float("nan")


def fit_strategy_a(
    counts: np.ndarray,
    edges_gev: np.ndarray,
    fit_sr_gev: tuple[float, float],
    *,
    functions: Sequence[str] = SEQUENTIAL_FUNCTIONS,
    p_threshold: float = 0.05,
    shrink_gev: float = 400.0,
) -> StrategyResult:
    """Strategy A, the 2020 CWoLa fit as published. ``fit_sr_gev`` from :func:`cwola_fit_signal_region`.

    The **whole** spectrum in the current fit range is fitted, the fit signal region included;
    the fit signal region and the fit sidebands (every other bin of the range) only *judge*
    the fit: a function is accepted when the chi2 p-value over the fit sidebands exceeds
    ``p_threshold``. Three-, then four-parameter, then UA2; if none passes, the fit range shrinks
    by ``shrink_gev`` on each side and the functions are tried again. The strategy fails once a
    sideband is empty or too small to judge. A bin belongs to the range when its centre does.

    >>> from adsearch.stats.binning import cwola_2020_edges
    >>> from adsearch.stats.fitting import expected_counts
    >>> edges = cwola_2020_edges()
    >>> mu = expected_counts("three_param", [1.0, 10.0, 5.0], edges)
    >>> res = fit_strategy_a(np.round(mu * 2e5 / mu.sum()), edges, (2600.0, 3400.0))
    >>> res.success, res.function, bool(res.fit_mask.all()), bool(res.judge_mask[10])
    (True, 'three_param', True, False)
    """
    n = check_counts(counts)
    edges = np.asarray(edges_gev, dtype=float)
    centres = 0.5 * (edges[1:] + edges[:-1])
    in_sr = (centres > fit_sr_gev[0]) & (centres < fit_sr_gev[1])
    attempts: list[Attempt] = []
    iteration = 0
    last_range = last_judge = np.ones(n.size, bool)
    fit: FitResult | None = None
    while True:
        lo, hi = edges[0] + iteration * shrink_gev, edges[-1] - iteration * shrink_gev
        in_range = (centres > lo) & (centres < hi)
        judge = in_range & ~in_sr
        left, right = judge & (centres < fit_sr_gev[0]), judge & (centres > fit_sr_gev[1])
        if not left.any() or not right.any() or judge.sum() < len(SEQUENTIAL_FUNCTIONS) + 3:
            break
        last_range, last_judge = in_range, judge
        for name in functions:
            fit = fit_spectrum(n, edges, name, mask=in_range)
            p = sideband_p_value(fit, judge)
            attempts.append(Attempt(name, iteration, p, fit.converged, int(in_range.sum()), fit.message))
            if fit.converged and p > p_threshold:
                return StrategyResult("A", True, name, iteration, fit, in_range, "ok", attempts, judge, p)
        iteration += 1
    msg = f"no function reached fit-sideband p > {p_threshold} before the sidebands ran out after {iteration} iterations"
    p_last = attempts[-1].p_value if attempts else float("nan")
    return StrategyResult("A", False, None, iteration, fit, last_range, msg, attempts, last_judge, p_last)


def fit_strategy_b(
    counts: np.ndarray,
    edges_gev: np.ndarray,
    signal_region: np.ndarray,
    *,
    functions: Sequence[str] = SEQUENTIAL_FUNCTIONS,
    p_threshold: float = 0.05,
    min_sideband_bins: int = 6,
    extra_variance: np.ndarray | None = None,
) -> StrategyResult:
    """Strategy B (2025). ``signal_region``: boolean per bin, True inside the (masked) SR.

    ``extra_variance``: per-bin variance added in quadrature to the Poisson one in every fit
    (the 2025 search: the ensemble's standard error of the median), see ``fit_spectrum``.

    Each iteration tries the functions in turn; if none passes, the sideband bin furthest
    from the SR is dropped on each side. Fewer than ``min_sideband_bins`` sideband bins left
    is a reported failure.
    """
    n = check_counts(counts)
    sr = np.asarray(signal_region, dtype=bool)
    if sr.shape != n.shape or not sr.any():
        raise ValueError("signal_region must be a boolean per bin with at least one True")
    sr_idx = np.flatnonzero(sr)
    active = np.ones(n.size, bool)
    attempts: list[Attempt] = []
    iteration = 0
    mask = active & ~sr
    last_mask = mask
    fit: FitResult | None = None
    while mask.sum() >= min_sideband_bins:
        last_mask = mask
        accepted, fit = _try_functions(n, edges_gev, mask, functions, p_threshold, iteration, attempts,
                                       extra_variance)
        if accepted:
            return StrategyResult("B", True, fit.function, iteration, fit, mask, "ok", attempts)
        left = np.flatnonzero(mask[: sr_idx[0]])
        right = np.flatnonzero(mask[sr_idx[-1] + 1 :]) + sr_idx[-1] + 1
        if left.size:
            active[left[0]] = False
        if right.size:
            active[right[-1]] = False
        mask = active & ~sr
        iteration += 1
    msg = (
        f"no function reached sideband p > {p_threshold}; fewer than {min_sideband_bins} "
        f"sideband bins remain after {iteration} iterations"
    )
    return StrategyResult("B", False, None, iteration, fit, last_mask, msg, attempts)


@dataclass
class AEFitResult:
    """Strategy C: nominal and alternative fits; shape uncertainty = |alternative - nominal|.

    ``count_covariance`` = nominal fit covariance + outer(shift, shift): the alternative
    function enters as one fully correlated shape nuisance.
    """

    nominal: FitResult
    alternative: FitResult | None
    background: np.ndarray
    fit_sigma: np.ndarray
    shape_sigma: np.ndarray
    total_sigma: np.ndarray
    count_covariance: np.ndarray
    success: bool
    message: str

    @property
    def background_alt(self) -> np.ndarray | None:
        return None if self.alternative is None else self.alternative.expected


def fit_strategy_c(
    counts: np.ndarray,
    edges_gev: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    function: str = "five_param",
    alternative: str | None = "five_param_alt",
) -> AEFitResult:
    """Strategy C (AE search): whole-spectrum fit plus the alternative as shape uncertainty."""
    nominal = fit_spectrum(counts, edges_gev, function, mask=mask)
    alt = None
    if alternative is not None:
        alt = fit_spectrum(counts, edges_gev, alternative, mask=mask)
    shift = np.zeros_like(nominal.expected) if alt is None else alt.expected - nominal.expected
    cov = nominal.count_covariance + np.outer(shift, shift)
    problems = [f"{f.function}: {f.message}" for f in (nominal, alt) if f is not None and not f.converged]
    return AEFitResult(
        nominal=nominal,
        alternative=alt,
        background=nominal.expected,
        fit_sigma=nominal.sigma,
        shape_sigma=np.abs(shift),
        total_sigma=np.sqrt(nominal.sigma**2 + shift**2),
        count_covariance=cov,
        success=not problems,
        message="ok" if not problems else "; ".join(problems),
    )
