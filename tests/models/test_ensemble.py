"""k-fold ensembles: folds from ids, seeds per member, no event scored by a network that saw it."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.models.ensemble import EnsembleLayout, fold_of_ids, member_seeds, train_ensemble


def _ids(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"run": rng.integers(1, 4, n), "luminosityBlock": rng.integers(1, 50, n),
            "event": rng.permutation(10 * n)[:n].astype(np.uint64)}


def test_folds_follow_the_event_not_its_position() -> None:
    ids = _ids(5000)
    folds = fold_of_ids(ids, k=5)
    order = np.random.default_rng(1).permutation(5000)
    shuffled = fold_of_ids({k: v[order] for k, v in ids.items()}, k=5)
    np.testing.assert_array_equal(shuffled, folds[order])
    chunks = np.concatenate([fold_of_ids({k: v[a:a + 700] for k, v in ids.items()}, k=5) for a in range(0, 5000, 700)])
    np.testing.assert_array_equal(chunks, folds)
    counts = np.bincount(folds, minlength=5)
    assert np.all(np.abs(counts - 1000) < 5 * np.sqrt(1000 * 0.8)), counts
    assert not np.array_equal(fold_of_ids(ids, k=5, salt=1), folds)  # the salt reshuffles


def test_member_seeds_are_distinct_reproducible_and_stable_when_members_are_added() -> None:
    small = member_seeds(7, EnsembleLayout(k=5, n_members=3))
    assert len(small) == 60 and len(set(small.values())) == 60
    assert member_seeds(7, EnsembleLayout(k=5, n_members=3)) == small
    big = member_seeds(7, EnsembleLayout(k=5, n_members=4))
    assert all(big[key] == value for key, value in small.items())
    assert member_seeds(8, EnsembleLayout(k=5, n_members=3)) != small


def _leak_probe(x_tr, y_tr, w_tr, x_va, y_va, w_va, x_sc, seed, *, check):  # noqa: ANN001, ANN202
    """A "network" whose score is the row id; it records which ids it trained and validated on."""
    check.append((set(x_tr[:, 0].astype(int)), set(x_va[:, 0].astype(int)), x_sc[:, 0].astype(int), seed))
    return float(len(x_tr)), x_sc[:, 0].copy(), 1


@pytest.mark.parametrize("choices", [None, 1])
def test_no_event_is_scored_by_a_network_that_saw_it(choices: int | None) -> None:
    n = 600
    x = np.c_[np.arange(n), np.zeros(n)].astype(np.float32)
    fold = fold_of_ids(_ids(n), k=5)
    trainable = np.arange(n) % 7 != 0  # some rows are only scored
    layout = EnsembleLayout(k=5, n_members=2, validation_choices=choices)
    seen: list = []
    members = train_ensemble(_leak_probe, x, np.zeros(n), fold, trainable=trainable, layout=layout,
                             seed=3, options={"check": seen})
    assert len(members) == len(layout.tasks()) == 5 * (4 if choices is None else 1) * 2
    for m, (train_ids, val_ids, score_ids, seed) in zip(members, seen):
        test_ids = set(np.flatnonzero(fold == m.test_fold))
        assert not (train_ids & test_ids) and not (val_ids & test_ids) and not (train_ids & val_ids)
        assert train_ids | val_ids <= set(np.flatnonzero(trainable))
        assert set(score_ids) == test_ids and m.seed == seed
        np.testing.assert_array_equal(m.scores, np.flatnonzero(fold == m.test_fold))


def test_dask_workers_train_the_same_networks_as_this_process() -> None:
    """Real TensorFlow members on a real 2-worker cluster equal the in-process ones (seeded)."""
    from adsearch.cluster import dask_client
    from adsearch.models.cwola import CWoLaConfig, train_classifier

    rng = np.random.default_rng(0)
    n = 1500
    x = rng.uniform(size=(n, 2)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0.5).astype(np.float32)
    fold = fold_of_ids({"row": np.arange(n, dtype=np.uint64)}, k=3)
    layout = EnsembleLayout(k=3, n_members=1, validation_choices=1)
    config = CWoLaConfig(k=3, n_members=1, max_epochs=5, patience=5, tf_threads=1)
    here = train_ensemble(train_classifier, x, y, fold, layout=layout, seed=5, options={"config": config})
    with dask_client(n_workers=2, memory_limit="2GiB") as client:
        there = train_ensemble(train_classifier, x, y, fold, layout=layout, seed=5, client=client,
                               options={"config": config})
    for a, b in zip(here, there):
        assert (a.test_fold, a.val_fold, a.seed) == (b.test_fold, b.val_fold, b.seed)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-6)
    other = train_ensemble(train_classifier, x, y, fold, layout=layout, seed=6, options={"config": config})
    assert not np.allclose(other[0].scores, here[0].scores)  # another seed, another network
