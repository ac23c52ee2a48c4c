"""95% CL CLs upper limits (observed, expected, +-1/2 sigma) on signal templates, in events.

- Asymptotic: pyhf's q~mu test statistic with the asymptotic formulae, root found by
  ``toms748_scan`` (:mod:`adsearch.stats.likelihood` builds the model).
- Toys, used when the background under the signal is small (asymptotics fail there: for
  n = 0, b = 0 they give 1.9 events instead of 3.0): the LEP/Tevatron hybrid CLs with
  Q = sum n ln(1 + mu s / b) - mu s, pseudo-experiments drawn with the background
  uncertainties sampled from their covariance and the signal-side ones from their constraints.
  Fully vectorised, seeded.

Systematic uncertainties (the paper's): the spurious signal, the alternative fit function, the
autoencoder-retraining spread and the signal-side ones (:class:`SignalUncertainties`: luminosity,
object efficiencies, jet energy scale and resolution) are nuisance parameters of the pyhf model
(:mod:`adsearch.stats.likelihood`); :func:`gaussian_limits` can also measure how much each one
alone raises the expected limit (``breakdown_every``).

Templates are normalised to one event over the whole Gaussian, so limits are on the number
of produced signal events in the spectrum; divide by luminosity x efficiency for a cross section.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

import numpy as np
from pyhf.infer import hypotest
from scipy import interpolate, optimize
from scipy import stats as sps

from adsearch.stats.binning import mass_points, mass_resolution_gev, validate_edges
from adsearch.stats.likelihood import (
    LikelihoodInputs,
    build_model,
    build_workspace,
    discovery_significance,
    export_workspace,
    total_covariance,
)
from adsearch.stats.profile import AsymptoticCLs, ProfileModel

if TYPE_CHECKING:
    from adsearch.stats.systematics import SignalUncertainties

__all__ = [
    "LimitResult",
    "LimitPoint",
    "upper_limit",
    "toy_upper_limit",
    "gaussian_template",
    "gaussian_limits",
    "template_limit",
    "discovery_significance",
]

Method = Literal["auto", "asymptotic", "toys"]
#: Quantiles of the expected band, in the order (-2, -1, 0, +1, +2) sigma.
BAND_SIGMAS = (-2, -1, 0, 1, 2)


@dataclass(frozen=True)
class LimitResult:
    """Upper limits on the signal yield (events for a unit template)."""

    observed: float
    expected: float
    minus1: float
    plus1: float
    minus2: float
    plus2: float
    method: str

    @classmethod
    def from_band(cls, observed: float, band: list[float], method: str) -> LimitResult:
        m2, m1, med, p1, p2 = (float(v) for v in band)
        return cls(float(observed), med, m1, p1, m2, p2, method)


@dataclass(frozen=True)
class LimitPoint:
    """Limit at one Gaussian mass hypothesis; yields in events over the full Gaussian."""

    mass_gev: float
    sigma_gev: float
    width_fraction: float
    observed: float
    expected: float
    minus1: float
    plus1: float
    minus2: float
    plus2: float
    method: str
    window_lo_gev: float
    window_hi_gev: float
    acceptance: float
    #: expected limit with the fit's statistical uncertainty only (no systematics), when measured
    expected_no_systematics: float | None = None
    #: systematic -> relative rise of the expected limit when it alone is added to that
    impact: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sensitivity_guess(inputs: LikelihoodInputs) -> float:
    """Rough expected limit, to bracket the root finding: 2 / sqrt(sum s^2 / (b + var))."""
    var = np.diag(total_covariance(inputs))
    denom = np.sum(inputs.signal**2 / np.maximum(inputs.background + var, 1e-3))
    return float(2.0 / np.sqrt(max(denom, 1e-300)))


def upper_limit(
    inputs: LikelihoodInputs,
    *,
    method: Method = "auto",
    cl: float = 0.95,
    small_count_threshold: float = 10.0,
    n_toys: int = 10000,
    seed: int = 0,
    engine: Literal["fast", "pyhf"] = "fast",
) -> LimitResult:
    """CLs upper limit on ``mu`` (the template's yield) for prepared inputs.

    ``auto`` uses toys when the background under the central 68% of the signal is below
    ``small_count_threshold`` events, asymptotics otherwise. Asymptotic ``engine``: "fast"
    (:mod:`adsearch.stats.profile`, same likelihood with exact gradients, ~ms) or "pyhf"
    (pyhf hypotests on a grid, seconds to minutes with many nuisances); tests keep them equal.
    """
    if method == "auto":
        method = "toys" if _core_background(inputs) < small_count_threshold else "asymptotic"
    if method == "toys":
        return toy_upper_limit(inputs, cl=cl, n_toys=n_toys, seed=seed)
    if method != "asymptotic":
        raise ValueError(f"method must be 'auto', 'asymptotic' or 'toys', got {method!r}")
    if engine == "pyhf":
        return _asymptotic_limit(inputs, 1.0 - cl)
    return _fast_asymptotic_limit(inputs, 1.0 - cl)


def _fast_asymptotic_limit(inputs: LikelihoodInputs, alpha: float) -> LimitResult:
    """Root of each CLs curve (observed, -2..+2 sigma) with the fast profile likelihood."""
    guess = _sensitivity_guess(inputs)
    cls = AsymptoticCLs(ProfileModel(build_workspace(inputs, poi_max=1e4 * guess + 10.0)))
    hi = 2.0 * guess
    while np.any(cls(hi) > alpha):
        hi *= 2.0
        if hi > 1e3 * guess:
            raise ValueError("CLs never fell below 1 - cl; is the signal template empty?")
    lo = 1e-3 * guess
    limits = [
        optimize.brentq(lambda mu, k=k: np.log(cls(mu)[k] / alpha), lo, hi, rtol=1e-5)
        for k in range(6)
    ]
    return LimitResult.from_band(limits[0], limits[1:], "asymptotic")


def _asymptotic_limit(inputs: LikelihoodInputs, alpha: float, n_grid: int = 7) -> LimitResult:
    """pyhf q~mu asymptotic CLs on a geometric grid of mu, interpolated in ln CLs (cross-check engine).

    A grid of ``n_grid`` hypotests (each returns the observed CLs and the expected band)
    is extended until it brackets every crossing, then one more hypotest at the observed
    and median estimates refines them; ~10 hypotests instead of toms748's ~40.
    """
    guess = _sensitivity_guess(inputs)
    model, data = build_model(inputs, poi_max=1e3 * guess + 10.0)
    cache: dict[float, np.ndarray] = {}

    def cls_at(mu: float) -> np.ndarray:
        if mu not in cache:
            obs, exp = hypotest(mu, data, model, test_stat="qtilde", return_expected_set=True)
            cache[mu] = np.concatenate([[float(obs)], np.asarray(exp, dtype=float)])
        return cache[mu]

    for mu in guess * np.geomspace(0.3, 4.0, n_grid):
        cls_at(float(mu))
    for _ in range(30):
        mus = sorted(cache)
        if np.any(cls_at(mus[-1]) > alpha):
            cls_at(mus[-1] * 2.0)
        elif np.any(cls_at(mus[0]) < alpha):
            cls_at(mus[0] / 2.0)
        else:
            break
    for idx in (0, 3):
        cls_at(float(_crossings(cache, alpha)[idx]))
    limits = _crossings(cache, alpha)
    return LimitResult.from_band(limits[0], list(limits[1:]), "asymptotic")


def _crossings(cache: dict[float, np.ndarray], alpha: float) -> np.ndarray:
    """mu where each CLs curve (obs, -2..+2) crosses alpha: monotone cubic in ln CLs vs ln mu."""
    mus = np.array(sorted(cache))
    curves = np.log(np.clip(np.array([cache[m] for m in mus]), 1e-300, None))
    target = np.log(alpha)
    out = np.full(curves.shape[1], np.nan)
    for k in range(curves.shape[1]):
        c = curves[:, k]
        below = np.flatnonzero(c < target)
        if below.size == 0:
            continue
        j = max(int(below[0]), 1)
        spline = interpolate.PchipInterpolator(np.log(mus), c)
        try:
            out[k] = np.exp(optimize.brentq(lambda x: spline(x) - target, np.log(mus[j - 1]), np.log(mus[j])))
        except ValueError:
            out[k] = mus[j]
    return out


def _core_background(inputs: LikelihoodInputs) -> float:
    order = np.argsort(inputs.signal)[::-1]
    frac = np.cumsum(inputs.signal[order]) / max(inputs.signal.sum(), 1e-300)
    core = order[: int(np.searchsorted(frac, 0.68)) + 1]
    return float(inputs.background[core].sum())


def _q_statistic(n: np.ndarray, s: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LEP log-likelihood ratio Q = sum n ln(1 + s/b) - s (larger = more signal-like)."""
    with np.errstate(divide="ignore"):
        log_term = np.log1p(s / np.maximum(b, 1e-300))
    return np.where(n > 0, n * log_term, 0.0).sum(axis=-1) - s.sum()


def toy_upper_limit(inputs: LikelihoodInputs, *, cl: float = 0.95, n_toys: int = 10000, seed: int = 0) -> LimitResult:
    """Hybrid CLs limit from pseudo-experiments (see module docstring).

    Each pseudo-experiment's background is drawn once from N(b, covariance) clipped at 0;
    signal+background toys add n_s ~ Pois(mu s) to an independent background draw
    (Poisson additivity), with the same seed at every mu, so CLs is a deterministic
    function of mu. The expected band uses the background-only quantiles of Q at each mu.
    """
    n_obs, s, b = inputs.counts, inputs.signal, inputs.background
    cov = total_covariance(inputs)
    rng = np.random.default_rng(seed)
    n_bonly = rng.poisson(_draw_backgrounds(rng, b, cov, n_toys))
    n_bkg_for_sb = rng.poisson(_draw_backgrounds(rng, b, cov, n_toys))
    s_toys = _draw_signals(rng, inputs, n_toys)
    cache: dict[float, np.ndarray] = {}

    def cls_values(mu: float) -> np.ndarray:
        """CLs for the observed Q followed by the five expected quantiles."""
        if mu in cache:
            return cache[mu]
        sig = mu * s
        q_b = np.sort(_q_statistic(n_bonly, sig, b))
        n_sb = n_bkg_for_sb + np.random.default_rng([seed, 1]).poisson(mu * s_toys)
        q_sb = np.sort(_q_statistic(n_sb, sig, b))
        targets = np.concatenate([[_q_statistic(n_obs, sig, b)], np.quantile(q_b, sps.norm.cdf(BAND_SIGMAS))])
        tol = 1e-9 * (1.0 + np.abs(targets))
        clsb = np.searchsorted(q_sb, targets + tol, side="right") / n_toys
        clb = np.searchsorted(q_b, targets + tol, side="right") / n_toys
        cache[mu] = clsb / np.maximum(clb, 1.0 / n_toys)
        return cache[mu]

    alpha = 1.0 - cl
    guess = max(_sensitivity_guess(inputs), 1.0)
    hi = guess
    while np.any(cls_values(hi) > alpha):
        hi *= 2.0
        if hi > 1e4 * guess:
            raise ValueError("toy CLs never fell below 1 - cl; is the signal template empty?")
    limits = [
        optimize.brentq(lambda mu, k=k: cls_values(mu)[k] - alpha, 0.0, hi, xtol=1e-3 * guess, rtol=1e-3)
        for k in range(6)
    ]
    return LimitResult.from_band(limits[0], limits[1:], "toys")


def _draw_signals(rng: np.random.Generator, inputs: LikelihoodInputs, n: int) -> np.ndarray:
    """Per-toy signal templates with the signal-side nuisances drawn from their constraints
    (code-0 shape interpolation, code-1 normalisation factors, as in the pyhf model)."""
    s = np.broadcast_to(inputs.signal, (n, inputs.signal.size)).copy()
    for up, down in inputs.signal_shapes.values():
        alpha = rng.standard_normal((n, 1))
        s += np.where(alpha >= 0, alpha * (up - inputs.signal), alpha * (inputs.signal - down))
    s = np.clip(s, 0.0, None)
    for hi, lo in inputs.signal_norm.values():
        alpha = rng.standard_normal((n, 1))
        s *= np.where(alpha >= 0, hi**alpha, lo ** (-alpha))
    return s


def _draw_backgrounds(rng: np.random.Generator, b: np.ndarray, cov: np.ndarray, n: int) -> np.ndarray:
    if not np.any(cov):
        return np.broadcast_to(b, (n, b.size)).copy()
    evals, evecs = np.linalg.eigh(0.5 * (cov + cov.T))
    root = evecs * np.sqrt(np.clip(evals, 0.0, None))
    return np.clip(b + rng.standard_normal((n, b.size)) @ root.T, 0.0, None)


def gaussian_template(edges_gev: np.ndarray, mass_gev: float, sigma_gev: float) -> np.ndarray:
    """Expected counts per bin of a unit-yield Gaussian (bin integrals of the CDF)."""
    edges = validate_edges(edges_gev)
    return np.diff(sps.norm.cdf(edges, mass_gev, sigma_gev))


def _signal_sigma(mass_gev: float, width_fraction: float, resolution_fn: Callable[[float], float]) -> float:
    """Detector resolution added in quadrature to the intrinsic width (a fraction of the mass)."""
    return float(np.hypot(width_fraction * mass_gev, resolution_fn(mass_gev)))


def template_limit(
    counts: np.ndarray,
    template: np.ndarray,
    background: np.ndarray,
    background_sigma: np.ndarray | None = None,
    *,
    extra_sigma: np.ndarray | None = None,
    background_alt: np.ndarray | None = None,
    select: np.ndarray | slice | None = None,
    method: Method = "auto",
    workspace_path: str | Path | None = None,
    systematics: dict[str, Any] | None = None,
    **kwargs: Any,
) -> LimitResult:
    """Limit on the yield of an arbitrary template (e.g. an injected-signal histogram).

    ``template`` is the expected count per bin per unit yield; normalise it to 1 over the
    full signal to get limits in produced events. ``systematics``: keyword arguments of
    :meth:`LikelihoodInputs.make` (``spurious_signal``, ``background_shapes``, ``signal_norm``,
    ``signal_shapes``).
    """
    inputs = LikelihoodInputs.make(counts, template, background, background_sigma, extra_sigma, background_alt,
                                   select, **(systematics or {}))
    if workspace_path is not None:
        export_workspace(build_workspace(inputs), workspace_path)
    return upper_limit(inputs, method=method, **kwargs)


def gaussian_limits(
    counts: np.ndarray,
    background: np.ndarray,
    background_sigma: np.ndarray | None,
    edges_gev: np.ndarray,
    masses_gev: np.ndarray | None = None,
    width_fraction: float = 0.0,
    resolution_fn: Callable[[float], float] | None = None,
    *,
    extra_sigma: np.ndarray | None = None,
    background_alt: np.ndarray | None = None,
    window_sigmas: float = 3.0,
    min_acceptance: float = 0.8,
    method: Method = "auto",
    workspace_dir: str | Path | None = None,
    spurious_events: Callable[[float, float], float] | None = None,
    background_shapes: dict[str, np.ndarray] | None = None,
    signal_uncertainties: SignalUncertainties | None = None,
    breakdown_every: int = 0,
    **kwargs: Any,
) -> list[LimitPoint]:
    """Limits for Gaussian signals at each mass (default: 5% apart from 0.3 TeV inside the edges).

    Signal width = resolution (``resolution_fn``, default the binning's resolution model) in
    quadrature with ``width_fraction`` x mass (0 or 0.15 in the searches). The likelihood uses
    the bins within ``window_sigmas`` of the mass; ``background_sigma`` may be per-bin (1-D,
    uncorrelated) or a count covariance (2-D, preferred: e.g. ``AEFitResult.count_covariance``).
    Near the ends of the spectrum the window is truncated; masses with less than
    ``min_acceptance`` of the Gaussian inside the spectrum are skipped. Yields stay per
    produced event over the full Gaussian (``acceptance`` records the fraction in the window).

    Systematics: ``spurious_events(mass, sigma)`` the spurious-signal yield (events, full
    Gaussian); ``background_shapes`` per-bin one-sigma background shifts (all bins; e.g. the
    autoencoder-retraining spread); ``signal_uncertainties``. With ``breakdown_every`` = k > 0,
    every k-th mass point also records the expected limit without systematics and each one's
    impact alone (costs 1 + n_systematics more limits there).
    """
    edges = validate_edges(edges_gev, np.asarray(counts).size)
    res_fn = mass_resolution_gev if resolution_fn is None else resolution_fn
    if masses_gev is None:
        masses_gev = mass_points(max(300.0, edges[0]), edges[-1])
    points = []
    for mass in np.asarray(masses_gev, dtype=float):
        sigma = _signal_sigma(mass, width_fraction, res_fn)
        lo, hi = mass - window_sigmas * sigma, mass + window_sigmas * sigma
        sel = np.flatnonzero((edges[1:] > lo) & (edges[:-1] < hi))
        template = gaussian_template(edges, mass, sigma)
        if sel.size == 0 or template[sel].sum() < min_acceptance:
            continue
        path = None
        if workspace_dir is not None:
            path = Path(workspace_dir) / f"gauss_m{mass:.0f}_w{width_fraction:g}.json"
        systematics: dict[str, Any] = {"background_shapes": background_shapes}
        if spurious_events is not None:
            systematics["spurious_signal"] = abs(float(spurious_events(mass, sigma)))
        if signal_uncertainties is not None:
            systematics["signal_norm"] = signal_uncertainties.norms()
            systematics["signal_shapes"] = signal_uncertainties.shapes(edges, mass, width_fraction, res_fn)
        inputs = LikelihoodInputs.make(counts, template, background, background_sigma, extra_sigma, background_alt,
                                       sel, **systematics)
        if path is not None:
            export_workspace(build_workspace(inputs), path)
        res = upper_limit(inputs, method=method, **kwargs)
        no_syst, impact = None, {}
        if breakdown_every > 0 and len(points) % breakdown_every == 0 and inputs.systematics:
            names = inputs.systematics
            no_syst = upper_limit(inputs.without(*names), method=method, **kwargs).expected
            for name in names:
                alone = upper_limit(inputs.without(*[k for k in names if k != name]), method=method, **kwargs)
                impact[name] = alone.expected / no_syst - 1.0
        points.append(LimitPoint(
            mass_gev=float(mass), sigma_gev=sigma, width_fraction=float(width_fraction),
            observed=res.observed, expected=res.expected, minus1=res.minus1, plus1=res.plus1,
            minus2=res.minus2, plus2=res.plus2, method=res.method,
            window_lo_gev=float(edges[sel[0]]), window_hi_gev=float(edges[sel[-1] + 1]),
            acceptance=float(template[sel].sum()), expected_no_systematics=no_syst, impact=impact,
        ))
    return points
