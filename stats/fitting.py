"""Binned Poisson likelihood fits of the background functions with iminuit.

Why it converges without hand-tuning: every function is ``exp(basis @ theta)``
(:mod:`adsearch.stats.functions`), so a weighted linear least-squares fit of ln(counts)
gives starting values close to the optimum, and its inverse curvature gives a linear map
``theta = theta0 + L z`` in which the likelihood is nearly isotropic. Minuit minimises the
Poisson deviance in ``z`` with an exact gradient. Expected counts are integrals of the
density over each bin (Gauss-Legendre), never values at bin centres.

``mask`` follows iminuit's convention: True marks a bin that *enters* the fit. Predictions,
per-bin uncertainties and the full count covariance are returned for every bin, so masked
signal-region bins get an interpolated background.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from iminuit import Minuit
from scipy import stats as sps

from adsearch.stats.binning import from_hist, validate_edges
from adsearch.stats.functions import FitFunction, get_function, x_of_mass

__all__ = ["FitResult", "BinnedModel", "expected_counts", "fit_spectrum", "check_counts", "goodness_of_fit"]


def check_counts(counts: np.ndarray, name: str = "counts") -> np.ndarray:
    """Counts as a float array, or a ValueError naming what is wrong."""
    arr = np.asarray(counts, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return arr


class BinnedModel:
    """A function integrated over fixed bins: expected counts and their theta-gradient."""

    def __init__(self, function: str | FitFunction, edges_gev: np.ndarray, n_nodes: int = 5) -> None:
        self.function = get_function(function)
        self.edges_gev = validate_edges(edges_gev)
        nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
        x_edges = x_of_mass(self.edges_gev)
        half = 0.5 * np.diff(x_edges)[:, None]
        mid = 0.5 * (x_edges[1:] + x_edges[:-1])[:, None]
        self.x_nodes = mid + half * nodes[None, :]  # (n_bins, n_nodes)
        self.w_nodes = half * weights[None, :]
        self.basis = self.function.basis(self.x_nodes)  # (n_bins, n_nodes, n_params)

    @property
    def n_bins(self) -> int:
        return self.edges_gev.size - 1

    def counts_and_gradient(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """mu (n_bins,) and d mu / d theta (n_bins, n_params)."""
        f = self.w_nodes * np.exp(np.clip(self.basis @ theta, -300.0, 300.0))
        mu = f.sum(axis=1)
        grad = np.einsum("bq,bqk->bk", f, self.basis)
        return mu, grad

    def counts(self, theta: np.ndarray) -> np.ndarray:
        return (self.w_nodes * np.exp(np.clip(self.basis @ theta, -300.0, 300.0))).sum(axis=1)


def expected_counts(
    function: str | FitFunction, params: np.ndarray, edges_gev: np.ndarray, n_nodes: int = 5
) -> np.ndarray:
    """Expected counts per bin: the density integrated over each bin in x."""
    model = BinnedModel(function, edges_gev, n_nodes)
    return model.counts(model.function.theta_from_params(np.asarray(params, dtype=float)))


@dataclass
class FitResult:
    """Outcome of one background fit; counts-valued fields cover *all* bins.

    ``chi2`` is the Poisson likelihood chi2 (Baker-Cousins deviance) over the fitted bins,
    with adjacent fitted bins merged until each group expects ``gof_min_expected`` events
    (see :func:`goodness_of_fit`); ``pearson_chi2`` uses the same groups. ``p_value`` is the
    chi2 survival probability for ``ndf`` = groups - free parameters.
    """

    function: str
    params: np.ndarray
    param_errors: np.ndarray
    covariance: np.ndarray
    expected: np.ndarray
    sigma: np.ndarray
    count_covariance: np.ndarray
    chi2: float
    pearson_chi2: float
    ndf: int
    p_value: float
    converged: bool
    message: str
    edges_gev: np.ndarray
    counts: np.ndarray
    mask: np.ndarray
    theta: np.ndarray = field(repr=False)
    theta_covariance: np.ndarray = field(repr=False)
    signal_yield: float | None = None
    signal_error: float | None = None
    nfcn: int = 0

    def predict(self, edges_gev: np.ndarray, n_nodes: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts and their fit uncertainty on another binning (background only)."""
        model = BinnedModel(self.function, edges_gev, n_nodes)
        k = model.function.n_params
        mu, grad = model.counts_and_gradient(self.theta[:k])
        var = np.einsum("bk,kl,bl->b", grad, self.theta_covariance[:k, :k], grad)
        return mu, np.sqrt(np.clip(var, 0.0, None))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (lists, floats)."""
        out: dict[str, Any] = {}
        for key in (
            "function", "params", "param_errors", "covariance", "expected", "sigma", "chi2",
            "pearson_chi2", "ndf", "p_value", "converged", "message", "edges_gev", "signal_yield",
            "signal_error",
        ):
            value = getattr(self, key)
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return out


def _starting_theta(model: BinnedModel, counts: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of ln(density) on bin centres, and a whitening matrix L."""
    k = model.function.n_params
    dx = np.diff(x_of_mass(model.edges_gev))
    centres = model.function.basis(x_of_mass(0.5 * (model.edges_gev[1:] + model.edges_gev[:-1])))
    pos = used & (counts > 0)
    if pos.sum() < k:
        raise ValueError(
            f"{model.function.name}: {int(pos.sum())} fitted bins with counts > 0, need >= {k}"
        )
    design = centres[pos]
    weight = counts[pos]
    y = np.log(counts[pos] / dx[pos])
    scale = np.sqrt(np.sum(design**2 * weight[:, None], axis=0))
    a = design / scale
    hess = a.T @ (a * weight[:, None])
    theta0 = np.linalg.lstsq(a * np.sqrt(weight)[:, None], y * np.sqrt(weight), rcond=None)[0] / scale
    evals, evecs = np.linalg.eigh(hess)
    evals = np.clip(evals, evals.max() * 1e-15, None)
    whiten = (evecs / np.sqrt(evals)) / scale[:, None]
    return theta0, whiten


def _deviance(mu: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(n > 0, n * np.log(n / mu), 0.0)
    return 2.0 * (mu - n + term)


def fit_spectrum(
    counts: np.ndarray,
    edges_gev: np.ndarray | None,
    function: str | FitFunction = "five_param",
    mask: np.ndarray | None = None,
    *,
    signal_template: np.ndarray | None = None,
    start_params: np.ndarray | None = None,
    n_nodes: int = 5,
    gof_min_expected: float = 5.0,
    extra_variance: np.ndarray | None = None,
) -> FitResult:
    """Fit ``function`` to a binned spectrum by a binned Poisson likelihood (iminuit).

    ``counts`` may be a 1-D ``hist.Hist`` (then ``edges_gev`` may be None).
    ``mask``: bins that enter the fit (True), e.g. ``~signal_region``; default all.
    ``signal_template``: optional expected counts of a unit-yield signal; its free yield (may
    be negative) is fitted together with the background (spurious-signal fits).
    ``start_params``: physical starting parameters, overriding the least-squares start.
    ``gof_min_expected``: for chi2/ndf only, adjacent fitted bins are merged until each group
    expects this many events (empty tails would otherwise inflate ndf).
    ``extra_variance``: a per-bin variance (e.g. an ensemble's) added in quadrature to the
    Poisson one: each bin's deviance is weighted by n / (n + v) (n floored at 1), so at large
    counts the bin enters as (n - mu)^2 / (n + v), at v = 0 the fit is the plain Poisson one,
    and nearly empty bins keep the Poisson form. The chi2 and p-value use the same weights.
    A fit that does not converge is returned with ``converged=False`` and Minuit's reason; one
    that cannot start (fewer non-empty fitted bins than parameters) with NaN values and why.
    Malformed input (shapes, negative or non-finite counts) raises ValueError.

    >>> edges = np.linspace(1000.0, 3000.0, 41)
    >>> mu = expected_counts("three_param", [2e3, 10.0, 5.0], edges)
    >>> res = fit_spectrum(np.round(mu), edges, "three_param")
    >>> res.converged
    True
    """
    if hasattr(counts, "axes"):
        counts, hist_edges = from_hist(counts)
        edges_gev = hist_edges if edges_gev is None else edges_gev
    if edges_gev is None:
        raise ValueError("edges_gev is required unless counts is a histogram")
    n = check_counts(counts)
    model = BinnedModel(function, edges_gev, n_nodes)
    if n.size != model.n_bins:
        raise ValueError(f"{n.size} counts do not match {model.n_bins} bins of edges_gev")
    used = np.ones(n.size, bool) if mask is None else np.asarray(mask, dtype=bool)
    if used.shape != n.shape:
        raise ValueError(f"mask shape {used.shape} does not match counts shape {n.shape}")
    k = model.function.n_params
    n_nonzero = int(np.count_nonzero(n[used] > 0))
    if n_nonzero < k + (signal_template is not None):
        return _failed_result(model, n, used, f"{n_nonzero} fitted bins with counts > 0, need >= {k}")
    theta0, whiten = _starting_theta(model, n, used)
    if start_params is not None:
        theta0 = model.function.theta_from_params(np.asarray(start_params, dtype=float))
    template = None
    if signal_template is not None:
        template = check_counts(signal_template, "signal_template")
        if template.shape != n.shape:
            raise ValueError("signal_template must have one entry per bin")
        s_scale = 1.0 / np.sqrt(np.sum(template[used] ** 2 / np.maximum(n[used], 1.0)) + 1e-300)
        theta0 = np.append(theta0, 0.0)
        whiten = np.block([[whiten, np.zeros((k, 1))], [np.zeros((1, k)), np.array([[s_scale]])]])
    n_used = n[used]
    if extra_variance is not None:
        v = check_counts(extra_variance, "extra_variance")
        if v.shape != n.shape:
            raise ValueError("extra_variance must have one entry per bin")
    bin_weight = np.ones(n_used.size) if extra_variance is None else _variance_weights(n_used, v[used])

    def mu_grad(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, grad = model.counts_and_gradient(theta[:k])
        if template is not None:
            mu = mu + theta[k] * template
            grad = np.concatenate([grad, template[:, None]], axis=1)
        return mu, grad

    def cost(z: np.ndarray) -> float:
        mu = mu_grad(theta0 + whiten @ z)[0][used]
        if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
            return 1e300
        return float((bin_weight * _deviance(mu, n_used)).sum())

    def gradient(z: np.ndarray) -> np.ndarray:
        mu, grad = mu_grad(theta0 + whiten @ z)
        mu, grad = mu[used], grad[used]
        if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
            return np.zeros_like(z)
        return whiten.T @ ((2.0 * bin_weight * (1.0 - n_used / mu)) @ grad)

    minuit = Minuit(cost, np.zeros(theta0.size), grad=gradient)
    minuit.errordef = Minuit.LEAST_SQUARES
    minuit.errors = np.ones(theta0.size)
    minuit.migrad()
    for retry in range(2):
        if minuit.valid and minuit.accurate:
            break
        if retry == 1:
            minuit.strategy = 2
        minuit.simplex().migrad()
    minuit.hesse()
    converged = bool(minuit.valid and minuit.accurate)
    message = "ok" if converged else _failure_reason(minuit)

    theta = theta0 + whiten @ np.asarray(minuit.values)
    cov_z = np.asarray(minuit.covariance) if minuit.covariance is not None else np.full((theta.size,) * 2, np.nan)
    cov_theta = whiten @ cov_z @ whiten.T
    mu, grad = mu_grad(theta)
    jac = model.function.jacobian_params_theta(theta[:k])
    if template is not None:
        jac = np.block([[jac, np.zeros((k, 1))], [np.zeros((1, k)), np.ones((1, 1))]])
    with np.errstate(invalid="ignore", over="ignore"):
        params_cov = jac @ cov_theta @ jac.T
    params = model.function.params_from_theta(theta[:k])
    bkg_mu = mu - (theta[k] * template if template is not None else 0.0)
    bkg_grad = grad[:, :k]
    bkg_cov = bkg_grad @ cov_theta[:k, :k] @ bkg_grad.T
    chi2, pearson, n_groups = goodness_of_fit(mu, n, used, gof_min_expected,
                                              None if extra_variance is None else v)
    ndf = n_groups - theta.size
    p_value = float(sps.chi2.sf(chi2, ndf)) if ndf > 0 else float("nan")
    return FitResult(
        function=model.function.name,
        params=params,
        param_errors=np.sqrt(np.clip(np.diag(params_cov)[:k], 0.0, None)),
        covariance=params_cov[:k, :k],
        expected=bkg_mu,
        sigma=np.sqrt(np.clip(np.diag(bkg_cov), 0.0, None)),
        count_covariance=bkg_cov,
        chi2=chi2,
        pearson_chi2=pearson,
        ndf=ndf,
        p_value=p_value,
        converged=converged,
        message=message,
        edges_gev=model.edges_gev,
        counts=n,
        mask=used,
        theta=theta,
        theta_covariance=cov_theta,
        signal_yield=None if template is None else float(theta[k]),
        signal_error=None if template is None else float(np.sqrt(max(cov_theta[k, k], 0.0))),
        nfcn=int(minuit.nfcn),
    )


def _failed_result(model: BinnedModel, n: np.ndarray, used: np.ndarray, message: str) -> FitResult:
    """A fit that could not start: NaN numbers, ``converged=False`` and the reason."""
    k, nb = model.function.n_params, model.n_bins
    return FitResult(
        function=model.function.name, params=np.full(k, np.nan), param_errors=np.full(k, np.nan),
        covariance=np.full((k, k), np.nan), expected=np.full(nb, np.nan), sigma=np.full(nb, np.nan),
        count_covariance=np.full((nb, nb), np.nan), chi2=float("nan"), pearson_chi2=float("nan"),
        ndf=int(used.sum()) - k, p_value=float("nan"), converged=False, message=message,
        edges_gev=model.edges_gev, counts=n, mask=used, theta=np.full(k, np.nan),
        theta_covariance=np.full((k, k), np.nan),
    )


def goodness_of_fit(
    mu: np.ndarray, n: np.ndarray, used: np.ndarray, min_expected: float = 5.0,
    extra_variance: np.ndarray | None = None,
) -> tuple[float, float, int]:
    """(deviance chi2, Pearson chi2, number of groups) over fitted bins merged into groups.

    Adjacent fitted bins are merged left to right until a group expects ``min_expected``
    events; a short remainder joins the last group. Masked bins end a group, so sidebands
    on either side of a masked signal region are never merged across it.
    ``extra_variance``: per-bin variance added to the Poisson one (summed within a group);
    each group's terms are then weighted by n / (n + v), see :func:`fit_spectrum`.
    """
    label = _group_labels(mu, used, min_expected)
    n_groups = int(label.max()) + 1 if label.size and label.max() >= 0 else 0
    keep = label >= 0
    gmu = np.bincount(label[keep], weights=np.asarray(mu, float)[keep], minlength=n_groups)
    gn = np.bincount(label[keep], weights=np.asarray(n, float)[keep], minlength=n_groups)
    weight = np.ones(n_groups)
    if extra_variance is not None:
        gv = np.bincount(label[keep], weights=np.asarray(extra_variance, float)[keep], minlength=n_groups)
        weight = _variance_weights(gn, gv)
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.sum(weight * np.where(gmu > 0, (gn - gmu) ** 2 / gmu, 0.0)))
    return float((weight * _deviance(gmu, gn)).sum()), pearson, n_groups


def _variance_weights(n: np.ndarray, extra_variance: np.ndarray) -> np.ndarray:
    """n / (n + v) per bin (n floored at 1): the Poisson variance n becomes n + v."""
    n1 = np.maximum(np.asarray(n, float), 1.0)
    return n1 / (n1 + np.clip(np.asarray(extra_variance, float), 0.0, None))


def _group_labels(mu: np.ndarray, used: np.ndarray, min_expected: float) -> np.ndarray:
    """Group index per bin (-1: not fitted), grouped as :func:`goodness_of_fit` describes."""
    label = np.full(np.asarray(mu).size, -1, dtype=int)
    group_mu: list[float] = []
    current: list[int] = []
    acc_mu = 0.0

    def close() -> None:
        # a short trailing run joins the previous group (if any)
        if group_mu and acc_mu < min_expected:
            label[current] = len(group_mu) - 1
            group_mu[-1] += acc_mu
        else:
            label[current] = len(group_mu)
            group_mu.append(acc_mu)

    for i in range(label.size):
        if not used[i]:
            if current:
                close()
            acc_mu, current = 0.0, []
            continue
        acc_mu += mu[i]
        current.append(i)
        if acc_mu >= min_expected:
            label[current] = len(group_mu)
            group_mu.append(acc_mu)
            acc_mu, current = 0.0, []
    if current:
        close()
    return label


def _failure_reason(minuit: Minuit) -> str:
    fmin = minuit.fmin
    reasons = []
    if fmin is None:
        return "minimisation did not run"
    if fmin.has_reached_call_limit:
        reasons.append("call limit reached")
    if fmin.is_above_max_edm:
        reasons.append(f"EDM {fmin.edm:.3g} above tolerance")
    if not fmin.has_posdef_covar:
        reasons.append("covariance not positive definite")
    if fmin.hesse_failed:
        reasons.append("HESSE failed")
    if not minuit.accurate:
        reasons.append("covariance not accurate")
    return "; ".join(reasons) or "Minuit reports an invalid minimum"
