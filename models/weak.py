"""Weakly supervised classifiers of the 2025 ATLAS dijet search: data versus a background template.

In each signal region a classifier learns the data (label 1) against a background template
(label 0, weighted events: SALAD reweighted simulation or CURTAINS transported sidebands); where
the data holds a signal that the template lacks, the classifier output rises. As published:
dense 64-64-64, ReLU, dropout 5%, a sigmoid output, binary cross-entropy, Adam 1e-3, batch 512,
up to 100 epochs with early stopping (patience 10). Events are split into 5 folds; for each test
fold the next fold validates and the other 3 train (:class:`EnsembleLayout` with
``validation_choices=1``), so every event is scored by networks that never saw it. N = 10
members per test fold (each a Dask task, :mod:`adsearch.models.ensemble`) give N scores per
event; the search selects with each member and combines the mJJ histograms bin-wise
(:func:`ensemble_histograms`).

Where the paper is silent: inputs are standardised with the training rows' mean and sd (each
network its own), the template's weights are scaled so that both classes carry the same total
weight, and a working point keeps the fraction ``eff`` of reference events of the test fold
(each (fold, member) its own threshold; the search takes the data events of the whole analysis
window, signal region and sidebands, as the reference: :func:`select_working_point`).

>>> rng = np.random.default_rng(0)
>>> xd, xt = rng.normal(size=(600, 2)), rng.normal(size=(600, 2))
>>> s = weak_classifier_scores(xd, xt, WeakConfig(n_members=2, max_epochs=2))   # doctest: +SKIP
>>> s.shape                                                                      # doctest: +SKIP
(600, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

from adsearch.cluster import run_tasks
from adsearch.config import StrictModel
from adsearch.models.dense import DenseFit, train_dense
from adsearch.models.ensemble import EnsembleLayout, MemberResult, fold_of_ids, member_seeds, train_ensemble
from adsearch.models.runtime import configure_tensorflow

__all__ = [
    "NetworkConfig", "WeakConfig", "WeakEnsemble", "fit_network", "fit_hgb", "EnsembleHistogram", "train_classifier", "cross_validated_scores",
    "weak_classifier_scores", "fit_weak_classifier", "select_working_point", "ensemble_histograms",
    "summarise_members", "training_arrays",
]

#: asymptotic efficiency of the median relative to the mean for a normal spread: var(median) = pi/2 var/N.
_MEDIAN_VARIANCE_FACTOR = np.pi / 2.0


class NetworkConfig(StrictModel):
    """One dense classifier of the 2025 search (shared by the weak classifier and SALAD)."""

    hidden: list[int] = Field(default_factory=lambda: [64, 64, 64])
    dropout: float = Field(0.05, ge=0, lt=1)
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(512, ge=1)
    max_epochs: int = Field(100, ge=1)
    patience: int = Field(10, ge=1)
    tf_threads: int | None = Field(None, ge=1)


class WeakConfig(NetworkConfig):
    """The data-versus-template classifier and its folding (defaults: the 2025 ATLAS search)."""

    k: int = Field(5, ge=3)
    n_members: int = Field(10, ge=1)
    #: "dense" (published) or "hgb": scikit-learn HistGradientBoosting (beyond the paper, off by
    #: default; the literature finds boosted trees stronger once the feature set grows)
    kind: Literal["dense", "hgb"] = "dense"
    hgb_max_iter: int = Field(200, ge=1)
    hgb_learning_rate: float = Field(0.1, gt=0)
    working_points: list[float] = Field(default_factory=lambda: [0.1, 0.02])
    seed: int = 0

    @property
    def layout(self) -> EnsembleLayout:
        """5 folds: 3 train, the next one validates, the test fold is scored."""
        return EnsembleLayout(k=self.k, n_members=self.n_members, validation_choices=1)


def _standardise(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x_train.mean(axis=0) if len(x_train) else np.zeros(x_train.shape[1])
    sd = x_train.std(axis=0) if len(x_train) else np.ones(x_train.shape[1])
    return mean.astype(np.float32), np.where(sd > 0, sd, 1.0).astype(np.float32)


def fit_network(
    x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray | None,
    x_val: np.ndarray, y_val: np.ndarray, w_val: np.ndarray | None, seed: int, config: NetworkConfig,
) -> tuple[DenseFit, np.ndarray, np.ndarray]:
    """One network on standardised inputs: (fit, mean, sd); predict with ``fit.predict((x - mean) / sd)``."""
    configure_tensorflow(config.tf_threads)
    mean, sd = _standardise(np.asarray(x_train, np.float32))
    fit = train_dense((x_train - mean) / sd, y_train, w_train, (x_val - mean) / sd, y_val, w_val, seed=seed,
                      hidden=tuple(config.hidden), learning_rate=config.learning_rate,
                      batch_size=config.batch_size, max_epochs=config.max_epochs, patience=config.patience,
                      dropout=config.dropout)
    return fit, mean, sd


def train_classifier(
    x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray,
    x_val: np.ndarray, y_val: np.ndarray, w_val: np.ndarray,
    x_score: np.ndarray, seed: int, *, config: WeakConfig,
) -> tuple[float, np.ndarray, int]:
    """One member (the ensemble's task body): (best validation loss, outputs on ``x_score``, epochs)."""
    if getattr(config, "kind", "dense") == "hgb":
        from threadpoolctl import threadpool_limits

        model, val_loss = fit_hgb(x_train, y_train, w_train, x_val, y_val, w_val, seed, config)
        with threadpool_limits(1):
            return val_loss, model.predict_proba(x_score)[:, 1], int(model.n_iter_)
    fit, mean, sd = fit_network(x_train, y_train, w_train, x_val, y_val, w_val, seed, config)
    return fit.val_loss, fit.predict((x_score - mean) / sd), fit.epochs


def fit_hgb(
    x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray | None,
    x_val: np.ndarray, y_val: np.ndarray, w_val: np.ndarray | None, seed: int, config: WeakConfig,
) -> tuple[Any, float]:
    """A HistGradientBoosting member: early stopping on its own 10% split (scikit-learn's), the
    weighted BCE on the layout's validation fold reported. One OpenMP thread per member: members
    run in parallel as Dask tasks, and oversubscribed OpenMP threads spin (measured: 4x slower)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(max_iter=config.hgb_max_iter, learning_rate=config.hgb_learning_rate,
                                           early_stopping=True, n_iter_no_change=config.patience,
                                           random_state=seed % 2**32)
    with threadpool_limits(1):
        model.fit(x_train, y_train, sample_weight=w_train)
        p = np.clip(model.predict_proba(x_val)[:, 1], 1e-7, 1 - 1e-7)
    w = np.ones(len(p)) if w_val is None else np.asarray(w_val, float)
    loss = -np.sum(w * (y_val * np.log(p) + (1 - y_val) * np.log(1 - p))) / max(w.sum(), 1e-12)
    return model, float(loss)


def training_arrays(
    x_data: np.ndarray, x_template: np.ndarray, template_weights: np.ndarray | None = None,
    x_extra: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows data | template | extra (scored only): (x, labels, weights, trainable).

    The template's weights are scaled so that its total equals the number of data rows.

    >>> x, y, w, t = training_arrays(np.zeros((2, 1)), np.ones((4, 1)), x_extra=np.ones((1, 1)))
    >>> y.tolist(), w.tolist(), t.tolist()
    ([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.0], [True, True, True, True, True, True, False])
    """
    xd, xt = np.atleast_2d(np.asarray(x_data, np.float32)), np.atleast_2d(np.asarray(x_template, np.float32))
    xe = np.zeros((0, xd.shape[1]), np.float32) if x_extra is None else np.asarray(x_extra, np.float32)
    if not xd.shape[1] == xt.shape[1] == xe.shape[1]:
        raise ValueError(f"data, template and extra rows need the same features: {xd.shape}, {xt.shape}, {xe.shape}")
    wt = np.ones(len(xt)) if template_weights is None else np.asarray(template_weights, float).reshape(len(xt))
    if np.any(wt < 0) or not np.all(np.isfinite(wt)) or wt.sum() <= 0:
        raise ValueError("template weights must be finite, >= 0 and not all zero")
    wt = wt * len(xd) / wt.sum()
    x = np.concatenate([xd, xt, xe])
    y = np.concatenate([np.ones(len(xd)), np.zeros(len(xt) + len(xe))]).astype(np.float32)
    w = np.concatenate([np.ones(len(xd)), wt, np.zeros(len(xe))]).astype(np.float32)
    trainable = np.concatenate([np.ones(len(xd) + len(xt), bool), np.zeros(len(xe), bool)])
    return x, y, w, trainable


def cross_validated_scores(
    x: np.ndarray, y: np.ndarray, fold: np.ndarray, *, weights: np.ndarray | None = None,
    trainable: np.ndarray | None = None, config: WeakConfig | None = None, client: Any | None = None,
) -> tuple[np.ndarray, list[MemberResult]]:
    """(n, N) out-of-fold scores: column j is member j of each event's own test fold."""
    config = config or WeakConfig()
    layout = config.layout
    members = train_ensemble(train_classifier, x, y, fold, weights=weights, trainable=trainable, layout=layout,
                             seed=config.seed, client=client, options={"config": config})
    fold = np.asarray(fold)
    scores = np.full((fold.size, config.n_members), np.nan)
    for m in members:
        scores[np.flatnonzero(fold == m.test_fold), m.member] = m.scores
    return scores, members


def _row_folds(n: int, k: int, seed: int, ids: dict[str, np.ndarray] | None, offset: int = 0) -> np.ndarray:
    ids = ids or {"row": np.arange(offset, offset + n, dtype=np.uint64)}
    return fold_of_ids(ids, k, salt=seed)


def weak_classifier_scores(
    X_data: np.ndarray, X_template: np.ndarray, config: WeakConfig | None = None, *,
    template_weights: np.ndarray | None = None, data_ids: dict[str, np.ndarray] | None = None,
    client: Any | None = None,
) -> np.ndarray:
    """(n_data, N) cross-validated scores of the data rows (the 2025 defaults without ``config``).

    Folds of the data from ``data_ids`` (event id columns), else from the row number; template
    rows get their own folds, so no data event is scored by a network that trained on it.
    """
    config = config or WeakConfig()
    x, y, w, trainable = training_arrays(X_data, X_template, template_weights)
    n_data = len(np.atleast_2d(X_data))
    fold = np.concatenate([_row_folds(n_data, config.k, config.seed, data_ids),
                           _row_folds(len(x) - n_data, config.k, config.seed + 1, None, offset=n_data)])
    scores, _ = cross_validated_scores(x, y, fold, weights=w, trainable=trainable, config=config, client=client)
    return scores[:n_data]


@dataclass
class WeakEnsemble:
    """Trained networks of every (test fold, member); ``predict`` averages member j's k networks."""

    config: WeakConfig
    networks: dict[tuple[int, int], tuple[Any, np.ndarray, np.ndarray]]  # dense weights, or a fitted HGB
    val_losses: dict[tuple[int, int], float]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, N) scores of new events (events never used in training)."""
        from adsearch.models.dense import trainer_for

        x = np.asarray(X, np.float32)
        out = np.zeros((len(x), self.config.n_members))
        c = self.config
        trainer = trainer_for(x.shape[1], tuple(c.hidden), c.learning_rate, c.dropout) if c.kind == "dense" else None
        for (test, member), (values, mean, sd) in sorted(self.networks.items()):
            if c.kind == "hgb":
                out[:, member] += values.predict_proba(x)[:, 1] / c.k
                continue
            fit = DenseFit(self.val_losses[(test, member)], 0, 0, values, trainer)
            out[:, member] += fit.predict((x - mean) / sd) / c.k
        return out


def _fit_member(
    test: int, val: int, member: int, seed: int, *, x: np.ndarray, y: np.ndarray, w: np.ndarray,
    fold: np.ndarray, config: WeakConfig,
) -> tuple[tuple[int, int], list[np.ndarray], np.ndarray, np.ndarray, float]:
    tr, va = (fold != test) & (fold != val), fold == val
    if config.kind == "hgb":
        model, loss = fit_hgb(x[tr], y[tr], w[tr], x[va], y[va], w[va], seed, config)
        return (test, member), model, np.zeros(0), np.ones(0), loss
    fit, mean, sd = fit_network(x[tr], y[tr], w[tr], x[va], y[va], w[va], seed, config)
    return (test, member), fit.values, mean, sd, fit.val_loss


def fit_weak_classifier(
    X_data: np.ndarray, X_template: np.ndarray, config: WeakConfig | None = None, *,
    template_weights: np.ndarray | None = None, client: Any | None = None,
) -> WeakEnsemble:
    """Train the k x N networks of the layout (each a Dask task) and keep them for new events."""
    config = config or WeakConfig()
    x, y, w, _ = training_arrays(X_data, X_template, template_weights)
    fold = _row_folds(len(x), config.k, config.seed, None)
    seeds = member_seeds(config.seed, config.layout)
    calls = [(t, v, j, seeds[(t, v, j)]) for t, v, j in config.layout.tasks()]
    results = run_tasks(_fit_member, calls, client, shared={"x": x, "y": y, "w": w, "fold": fold, "config": config},
                        gpu=True)
    return WeakEnsemble(config, {key: (vals, mean, sd) for key, vals, mean, sd, _ in results},
                        {key: loss for key, _, _, _, loss in results})


def select_working_point(scores: np.ndarray, fold: np.ndarray, reference: np.ndarray, efficiency: float) -> np.ndarray:
    """(n, N) selection: per (fold, member), scores above the (1 - eff) quantile of its reference rows.

    >>> s = np.arange(10.0)[:, None]; f = np.zeros(10, int)
    >>> select_working_point(s, f, np.ones(10, bool), 0.2)[:, 0].nonzero()[0].tolist()
    [8, 9]
    """
    scores = np.asarray(scores, float)
    fold, reference = np.asarray(fold), np.asarray(reference, bool)
    if not 0 < efficiency < 1:
        raise ValueError(f"working point must lie in (0, 1), got {efficiency}")
    out = np.zeros(scores.shape, bool)
    for f in np.unique(fold):
        rows = fold == f
        ref = rows & reference
        if not ref.any():
            continue
        for j in range(scores.shape[1]):
            ranked = np.sort(scores[ref, j])[::-1]
            n_keep = max(int(round(efficiency * ranked.size)), 1)
            out[rows, j] = scores[rows, j] >= ranked[n_keep - 1]
    return out


@dataclass
class EnsembleHistogram:
    """Bin-wise median of the members' histograms and its covariance (standard error of the median)."""

    edges_gev: np.ndarray
    per_member: np.ndarray  # (N, bins)
    median: np.ndarray
    covariance: np.ndarray

    @property
    def sigma(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    @property
    def correlation(self) -> np.ndarray:
        s = self.sigma
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.outer(s, s) > 0, self.covariance / np.outer(s, s), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"edges_gev": self.edges_gev.tolist(), "median": self.median.tolist(), "sigma": self.sigma.tolist(),
                "per_member": self.per_member.tolist()}


def summarise_members(per_member: np.ndarray, edges_gev: np.ndarray | None = None) -> EnsembleHistogram:
    """Median over members and its asymptotic covariance (standard error of the median, bins correlated).

    var(median_i) = (pi / 2) var_i / N; cov(median_i, median_j) = sd_i sd_j arcsin(rho_ij) / N
    (the medians of correlated normal members correlate less than the members do).

    >>> h = summarise_members(np.array([[10.0, 5.0], [12.0, 6.0], [14.0, 7.0]]))
    >>> h.median.tolist(), round(float(h.correlation[0, 1]), 3)
    ([12.0, 6.0], 1.0)
    """
    counts = np.atleast_2d(np.asarray(per_member, float))
    n = counts.shape[0]
    nb = counts.shape[1]
    cov_median = np.zeros((nb, nb))
    if n > 1:
        cov = np.cov(counts, rowvar=False, ddof=1).reshape(nb, nb)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.clip(np.where(np.outer(sd, sd) > 0, cov / np.outer(sd, sd), 0.0), -1.0, 1.0)
        # medians of a bivariate normal correlate as (2/pi) arcsin(rho), their variances are pi/2 var / N
        cov_median = np.outer(sd, sd) * np.arcsin(rho) / n
        np.fill_diagonal(cov_median, _MEDIAN_VARIANCE_FACTOR * sd**2 / n)
    edges = np.arange(nb + 1.0) if edges_gev is None else np.asarray(edges_gev, float)
    return EnsembleHistogram(edges, counts, np.median(counts, axis=0), cov_median)


def ensemble_histograms(mjj_gev: np.ndarray, selected: np.ndarray, edges_gev: np.ndarray) -> EnsembleHistogram:
    """Histogram mJJ of the events each member selects ((n, N) booleans) and summarise the members.

    >>> sel = np.array([[True, True], [True, False], [False, True]])
    >>> ensemble_histograms(np.array([1.5, 2.5, 2.5]), sel, np.array([1.0, 2.0, 3.0])).median.tolist()
    [1.0, 1.0]
    """
    m = np.asarray(mjj_gev, float)
    sel = np.asarray(selected, bool)
    if sel.ndim != 2 or sel.shape[0] != m.size:
        raise ValueError(f"selected must be (n_events, n_members), got {sel.shape} for {m.size} events")
    edges = np.asarray(edges_gev, float)
    per_member = np.stack([np.histogram(m[sel[:, j]], bins=edges)[0] for j in range(sel.shape[1])]).astype(float)
    return summarise_members(per_member, edges)
