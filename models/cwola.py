"""CWoLa hunting classifiers (ATLAS 2020): signal region versus sidebands on two jet masses.

The network is dense 64-32-8-1 with ReLU and a sigmoid output, trained by Adam on binary
cross-entropy (labels 1 = signal region, 0 = sidebands; sideband weights from the region
grid). k = 5, n = 3: for each test fold, each of the 4 other folds in turn is the validation
fold, n networks train on the remaining 3 folds and the one with the lowest validation loss is
kept; its output on the test fold becomes an *efficiency*, the fraction of that fold's
trainable events whose output is as high or higher, and the efficiencies of the 4 validation
choices are averaged: 60 networks, each a Dask task (:mod:`adsearch.models.ensemble`). The
average is ranked once more within its fold, so a selection at efficiency 0.1 keeps exactly the
10% most signal-like trainable events of every fold (an average of four efficiencies is itself
no efficiency: below 0.1 it would keep far fewer than 10%).

Where the paper is silent (batch size, epochs, early stopping) the defaults are stated in
:class:`CWoLaConfig`; early stopping restores the epoch of lowest validation loss. Networks
train with the compiled TensorFlow loop of :mod:`adsearch.models.dense` (Glorot-uniform
initial weights from each member's seed, Keras' Adam update).

>>> rng = np.random.default_rng(0)
>>> x = rng.uniform(size=(400, 2)).astype("float32"); y = (rng.uniform(size=400) < 0.5).astype(int)
>>> eff = kfold_efficiencies(x, y, CWoLaConfig(n_members=1, max_epochs=2))   # doctest: +SKIP
>>> eff.shape, bool(((eff > 0) & (eff <= 1)).all())                          # doctest: +SKIP
((400,), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from adsearch.config import StrictModel
from adsearch.models.dense import train_dense
from adsearch.models.ensemble import EnsembleLayout, MemberResult, fold_of_ids, train_ensemble
from adsearch.models.runtime import configure_tensorflow

__all__ = ["CWoLaConfig", "train_classifier", "cwola_efficiencies", "kfold_efficiencies",
           "efficiencies_from_members", "output_to_efficiency"]


class CWoLaConfig(StrictModel):
    """The classifier and its k-folding (defaults: the 2020 search; batch/epochs our choice)."""

    hidden: list[int] = Field(default_factory=lambda: [64, 32, 8])
    k: int = Field(5, ge=3)
    n_members: int = Field(3, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(512, ge=1)
    max_epochs: int = Field(200, ge=1)
    patience: int = Field(30, ge=1)
    seed: int = 0
    tf_threads: int | None = Field(None, ge=1)


def train_classifier(
    x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray,
    x_val: np.ndarray, y_val: np.ndarray, w_val: np.ndarray,
    x_score: np.ndarray, seed: int, *, config: CWoLaConfig,
) -> tuple[float, np.ndarray, int]:
    """Train one network (weighted BCE, early stopping on the weighted validation loss);
    return (best validation loss, outputs on ``x_score``, epochs run). The ensemble's task body."""
    configure_tensorflow(config.tf_threads)
    x_train, x_val, x_score = (centre_unit_features(a) for a in (x_train, x_val, x_score))
    fit = train_dense(x_train, y_train, w_train, x_val, y_val, w_val, seed=seed, hidden=tuple(config.hidden),
                      learning_rate=config.learning_rate, batch_size=config.batch_size,
                      max_epochs=config.max_epochs, patience=config.patience)
    return fit.val_loss, fit.predict(x_score), fit.epochs


def centre_unit_features(x: np.ndarray) -> np.ndarray:
    """ECDF features (uniform on (0, 1]) mapped to logit(u) / 2: centred, unbounded, edges stretched.

    Why: with inputs in [0, 1] and zero initial biases every first-layer ReLU boundary starts
    through the corner (0, 0); and the heavier jet's ECDF piles up near 1 (a 400 GeV jet at
    mJJ = 3 TeV sits at u ~ 0.97-0.99), a strip a small network resolves only in logit space.
    A monotonic map of each feature carries the same information.

    >>> [round(float(v), 3) for v in centre_unit_features(np.array([[0.5, 0.9]]))[0]]
    [0.0, 1.099]
    """
    u = np.clip(np.asarray(x, np.float64), 1e-4, 1.0 - 1e-4)
    return (0.5 * np.log(u / (1.0 - u))).astype(np.float32)


def output_to_efficiency(outputs: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Fraction of ``reference`` outputs >= each output (high output = signal-like = low efficiency).

    >>> output_to_efficiency(np.array([0.9, 0.5, 0.1]), np.array([0.1, 0.5, 0.9, 0.95])).tolist()
    [0.5, 0.75, 1.0]
    """
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    if ref.size == 0:
        raise ValueError("no reference outputs to define an efficiency")
    return (ref.size - np.searchsorted(ref, np.asarray(outputs, np.float64), side="left")) / ref.size


def efficiencies_from_members(
    members: list[MemberResult], fold: np.ndarray, trainable: np.ndarray, layout: EnsembleLayout
) -> np.ndarray:
    """Per event: for each validation choice the lowest-validation-loss member's output as an
    efficiency within its test fold's trainable events, averaged over the validation choices."""
    fold = np.asarray(fold)
    eff = np.zeros(fold.size)
    count = np.zeros(fold.size)
    by_key: dict[tuple[int, int], list[MemberResult]] = {}
    for m in members:
        by_key.setdefault((m.test_fold, m.val_fold), []).append(m)
    for (test, _val), group in sorted(by_key.items()):
        best = min(group, key=lambda m: (m.val_loss, m.member))
        rows = np.flatnonzero(fold == test)
        reference = best.scores[trainable[rows]]
        eff[rows] += output_to_efficiency(best.scores, reference)
        count[rows] += 1
    if np.any(count == 0):
        raise ValueError("some events were scored by no network (a fold without members)")
    mean = eff / count
    # the average of k-1 efficiencies is no efficiency itself (it is narrower than uniform):
    # rank it once more within the test fold, so "efficiency 0.1" keeps 10% of the fold's events
    out = np.empty_like(mean)
    for test in np.unique(fold):
        rows = np.flatnonzero(fold == test)
        out[rows] = output_to_efficiency(-mean[rows], -mean[rows][trainable[rows]])
    return out


def cwola_efficiencies(
    x: np.ndarray, y: np.ndarray, fold: np.ndarray, *,
    weights: np.ndarray | None = None, trainable: np.ndarray | None = None,
    config: CWoLaConfig | None = None, client: Any | None = None,
) -> tuple[np.ndarray, list[MemberResult]]:
    """Averaged efficiency of every event (trainable or only scored) and the trained members."""
    config = config or CWoLaConfig()
    layout = EnsembleLayout(k=config.k, n_members=config.n_members)
    mask = np.ones(len(x), bool) if trainable is None else np.asarray(trainable, bool)
    members = train_ensemble(train_classifier, x, y, fold, weights=weights, trainable=mask, layout=layout,
                             seed=config.seed, client=client, options={"config": config})
    return efficiencies_from_members(members, fold, mask, layout), members


def kfold_efficiencies(
    X: np.ndarray, y: np.ndarray, config: CWoLaConfig | None = None, *,
    ids: dict[str, np.ndarray] | None = None, weights: np.ndarray | None = None, client: Any | None = None,
) -> np.ndarray:
    """Each event's CWoLa efficiency (y = 1 signal region, 0 sideband); the 2020 defaults when
    ``config`` is omitted. Folds from ``ids`` (event id columns), else from the row number."""
    config = config or CWoLaConfig()
    ids = ids or {"row": np.arange(len(X), dtype=np.uint64)}
    fold = fold_of_ids(ids, config.k, salt=config.seed)
    eff, _ = cwola_efficiencies(X, y, fold, weights=weights, config=config, client=client)
    return eff
