"""A calibrated BumpHunter null: every pseudo-experiment is refitted, as the data were.

Why: the background the data are scanned against is a fit *to the data*, which absorbs part of
any fluctuation; pseudo-experiments scanned against that one fixed curve have no such help, so
their test statistics come out larger and the global p-value of a background-only spectrum is
conservative (measured on 400 background-only toys of 2,000 events, drawn from a falling shape
that is none of the fit functions: 1.8% below p = 0.05 instead of 5%, mean p 0.62).

Refitting 10^4 pseudo-experiments with Minuit per spectrum would take minutes. The refit here
is one Fisher-scoring step of the same binned Poisson likelihood from the data's best fit,
vectorised over pseudo-experiments: for counts n' it moves the log-linear coefficients by
``d theta = I^-1 G^T (n'/mu - 1)`` (G = d mu / d theta at the best fit, I = G^T diag(1/mu) G the
Fisher information), and a second step from there when ``steps=2``; the expected counts stay
positive because the function is ``exp(basis @ theta)``. Pseudo-experiments differ from the fit
by Poisson fluctuations only, so the first step is already close to the exact refit (tests
compare it with Minuit refits).
"""

from __future__ import annotations

import numpy as np

from adsearch.stats.bumphunter import scan
from adsearch.stats.fitting import BinnedModel, FitResult, check_counts

__all__ = ["LinearisedRefit", "refitted_null"]


class LinearisedRefit:
    """Fast refit of one background fit's function to other counts on the same bins.

    >>> from adsearch.stats.fitting import expected_counts, fit_spectrum
    >>> edges = np.linspace(1000.0, 3000.0, 41)
    >>> n = np.random.default_rng(1).poisson(expected_counts("three_param", [2e3, 10.0, 5.0], edges)).astype(float)
    >>> refit = LinearisedRefit(fit_spectrum(n, edges, "three_param"))
    >>> bool(np.allclose(refit(n), fit_spectrum(n, edges, "three_param").expected, rtol=1e-3))
    True
    """

    def __init__(self, fit: FitResult, steps: int = 1) -> None:
        if not fit.converged:
            raise ValueError(f"cannot refit around a failed fit: {fit.message}")
        self.model = BinnedModel(fit.function, fit.edges_gev)
        self.k = self.model.function.n_params
        self.theta = np.asarray(fit.theta[: self.k], dtype=float)
        self.used = np.asarray(fit.mask, dtype=bool)
        self.steps = int(steps)
        self.mu, self.grad = self.model.counts_and_gradient(self.theta)

    def _step(self, theta: np.ndarray, n: np.ndarray) -> np.ndarray:
        """One Fisher-scoring step per row: theta (rows, k), n (rows, bins)."""
        f = self.model.w_nodes[None] * np.exp(np.clip(np.einsum("bqk,rk->rbq", self.model.basis, theta), -300, 300))
        mu = f.sum(axis=2)
        grad = np.einsum("rbq,bqk->rbk", f, self.model.basis) * self.used[None, :, None]
        info = np.einsum("rbk,rb,rbl->rkl", grad, 1.0 / mu, grad)
        score = np.einsum("rbk,rb->rk", grad, n / mu - 1.0)
        return theta + np.linalg.solve(info, score[..., None])[..., 0]

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        """Refitted expected counts for one spectrum (1-D) or many (2-D, one per row)."""
        n = np.asarray(counts, dtype=float)
        rows = np.atleast_2d(n)
        g = self.grad * self.used[:, None]
        info = g.T @ (g / self.mu[:, None])
        score = (rows / self.mu - 1.0) @ g
        theta = self.theta + np.linalg.solve(info, score.T).T
        for _ in range(self.steps - 1):
            theta = self._step(theta, rows)
        out = np.exp(np.clip(np.einsum("bqk,rk->rbq", self.model.basis, theta), -300, 300))
        out = (self.model.w_nodes[None] * out).sum(axis=2)
        return out[0] if n.ndim == 1 else out


def refitted_null(
    fit: FitResult,
    *,
    background_alt: np.ndarray | None = None,
    n_pseudo: int = 10000,
    seed: int = 0,
    min_width_bins: int = 1,
    max_width_bins: int | None = None,
    chunk: int = 2000,
    steps: int = 1,
) -> np.ndarray:
    """BumpHunter test statistics of ``n_pseudo`` pseudo-experiments, each scanned against its own refit.

    Pseudo-experiments are Poisson draws from the fit's expected counts; with ``background_alt``
    each one's mean is first moved by g (alt - fit), g ~ N(0, 1), as in
    :func:`adsearch.stats.bumphunter.null_distribution`. Pass the result to
    ``bump_hunt(..., null_t=...)``.
    """
    b = check_counts(fit.expected, "background")
    refit = LinearisedRefit(fit, steps=steps)
    rng = np.random.default_rng(seed)
    out = np.empty(n_pseudo)
    shift = None if background_alt is None else check_counts(background_alt, "background_alt") - b
    for start in range(0, n_pseudo, chunk):
        size = min(chunk, n_pseudo - start)
        mean = np.broadcast_to(b, (size, b.size))
        if shift is not None:
            mean = np.clip(b + rng.standard_normal((size, 1)) * shift, 0.0, None)
        pseudo = rng.poisson(mean).astype(float)
        refits = np.maximum(refit(pseudo), 1e-9)
        out[start : start + size] = scan(pseudo, refits, min_width_bins=min_width_bins, max_width_bins=max_width_bins)[0]
    return out
