"""k-fold x N-member classifier ensembles, every member one Dask task.

Why this shape: weakly supervised searches (CWoLa 2020, SALAD/CURTAINS 2025) train classifiers
on the very events they later select, so no event may be scored by a network that saw it. The
events are split into k folds; for each *test* fold and each chosen *validation* fold the
members train on the remaining folds, stop early on the validation fold and score the test fold.

- Folds come from the event ids (run, lumi block, event) through a 64-bit hash, so an event's
  fold does not depend on file order, chunking or which other events are present.
- Every (test fold, validation fold, member) gets its own seed from one ``SeedSequence``, so a
  rerun with the same seed reproduces and adding members leaves the others unchanged.
- The feature rows, labels, weights and folds are sent to the workers once
  (:func:`adsearch.cluster.run_tasks` with ``shared``); each task slices them.
- Each member returns its validation loss and its scores on the whole test fold, i.e.
  out-of-fold scores per event; combining members (best of N, median, averages of
  efficiencies) is the search's choice.

>>> folds = fold_of_ids({"run": np.ones(10000, np.int64), "event": np.arange(10000, dtype=np.uint64)}, k=5)
>>> np.bincount(folds).tolist()
[2043, 2022, 2052, 1922, 1961]
>>> layout = EnsembleLayout(k=5, n_members=3)
>>> len(layout.tasks()), layout.tasks()[:2]
(60, [(0, 1, 0), (0, 1, 1)])
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from adsearch.cluster import run_tasks

__all__ = ["EnsembleLayout", "MemberResult", "fold_of_ids", "member_seeds", "train_ensemble", "TrainMember"]

#: ``train_member(x_train, y_train, w_train, x_val, y_val, w_val, x_score, seed, **options)``
#: -> (validation loss, scores of x_score, epochs trained).
TrainMember = Callable[..., tuple[float, np.ndarray, int]]

_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _MIX[0]
        z = (z ^ (z >> np.uint64(30))) * _MIX[1]
        z = (z ^ (z >> np.uint64(27))) * _MIX[2]
        return z ^ (z >> np.uint64(31))


def fold_of_ids(ids: Mapping[str, np.ndarray], k: int, salt: int = 0) -> np.ndarray:
    """Fold (0..k-1) of every event from its id columns (e.g. run, luminosityBlock, event)."""
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if not ids:
        raise ValueError("fold_of_ids needs at least one id column")
    h = np.full(len(next(iter(ids.values()))), np.uint64(salt), dtype=np.uint64)
    for name in sorted(ids):
        h = _splitmix64(h ^ np.asarray(ids[name]).astype(np.uint64))
    return (h % np.uint64(k)).astype(np.int8)


@dataclass(frozen=True)
class EnsembleLayout:
    """Which networks train: ``k`` folds; per test fold, ``validation_choices`` validation folds
    (None: all k-1 others, the 2020 CWoLa scheme; 1: the next fold only, the 2025 scheme), each
    with ``n_members`` networks."""

    k: int = 5
    n_members: int = 3
    validation_choices: int | None = None

    def validation_folds(self, test: int) -> list[int]:
        others = [(test + d) % self.k for d in range(1, self.k)]
        return others if self.validation_choices is None else others[: self.validation_choices]

    def tasks(self) -> list[tuple[int, int, int]]:
        """(test fold, validation fold, member) of every network, in a fixed order."""
        return [(t, v, j) for t in range(self.k) for v in self.validation_folds(t) for j in range(self.n_members)]


def member_seeds(seed: int, layout: EnsembleLayout) -> dict[tuple[int, int, int], int]:
    """One independent seed per network, spawned from ``SeedSequence(seed)`` by (test, val, member)."""
    root = np.random.SeedSequence(seed)
    return {
        (t, v, j): int(np.random.SeedSequence(root.entropy, spawn_key=(t, v, j)).generate_state(1)[0])
        for t, v, j in layout.tasks()
    }


@dataclass
class MemberResult:
    """One trained network: where it trained, its validation loss, and its test-fold scores.

    ``scores`` follow ``np.flatnonzero(fold == test_fold)`` (every event of the test fold,
    trainable or not).
    """

    test_fold: int
    val_fold: int
    member: int
    seed: int
    val_loss: float
    scores: np.ndarray
    epochs: int
    seconds: float
    n_train: int


def _member_task(
    test: int, val: int, member: int, seed: int, *,
    x: np.ndarray, y: np.ndarray, w: np.ndarray, fold: np.ndarray, trainable: np.ndarray,
    train_member: TrainMember, options: dict[str, Any],
) -> MemberResult:
    start = time.perf_counter()
    tr = trainable & (fold != test) & (fold != val)
    va = trainable & (fold == val)
    te = fold == test
    val_loss, scores, epochs = train_member(x[tr], y[tr], w[tr], x[va], y[va], w[va], x[te], seed, **options)
    return MemberResult(test, val, member, seed, float(val_loss), np.asarray(scores, np.float32),
                        int(epochs), time.perf_counter() - start, int(tr.sum()))


def train_ensemble(
    train_member: TrainMember,
    x: np.ndarray,
    y: np.ndarray,
    fold: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    trainable: np.ndarray | None = None,
    layout: EnsembleLayout = EnsembleLayout(),
    seed: int = 0,
    client: Any | None = None,
    options: dict[str, Any] | None = None,
) -> list[MemberResult]:
    """Train every network of ``layout`` (as Dask tasks on ``client``, else here), in task order.

    ``trainable``: events that may enter training and validation (default all); the others are
    only scored (e.g. events outside the signal region and sidebands).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[0]
    y = np.asarray(y, dtype=np.float32).reshape(n)
    fold = np.asarray(fold).reshape(n)
    w = np.ones(n, np.float32) if weights is None else np.asarray(weights, dtype=np.float32).reshape(n)
    mask = np.ones(n, bool) if trainable is None else np.asarray(trainable, bool).reshape(n)
    if fold.min(initial=0) < 0 or fold.max(initial=0) >= layout.k:
        raise ValueError(f"folds must lie in 0..{layout.k - 1}")
    seeds = member_seeds(seed, layout)
    calls = [(t, v, j, seeds[(t, v, j)]) for t, v, j in layout.tasks()]
    shared = {"x": x, "y": y, "w": w, "fold": fold, "trainable": mask,
              "train_member": train_member, "options": dict(options or {})}
    return run_tasks(_member_task, calls, client, shared=shared, gpu=True)
