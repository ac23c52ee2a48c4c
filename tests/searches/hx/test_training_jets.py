"""The hx search's VRNN training jets: which jets train, their folds, and injected candidates (no TF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adsearch.errors import AdsearchError
from adsearch.models.ensemble import fold_of_ids
from adsearch.processors.run import run_processor
from adsearch.searches.common.samples import Sample
from adsearch.searches.hx.config import HxSearchConfig
from adsearch.searches.hx.pipeline import candidates, ensemble_inputs, injected_candidates, load_hx_sample, training_jets
from adsearch.store import open_store

REAL = Path(__file__).parents[2] / "data" / "real" / "pfnano.root"


def _sample(name: str, n: int, first_event: int, seed: int) -> Sample:
    rng = np.random.default_rng(seed)
    jets = {f"j{j}_constituents": rng.random((n, 5, 4)).astype(np.float32) + j for j in (1, 2)}
    flag = rng.random(n) < 0.3
    x = np.where(flag[:, None, None], jets["j2_constituents"], 0.0).astype(np.float32)
    return Sample(name, {"run": np.ones(n, np.int64), "luminosityBlock": np.ones(n, np.int64),
                         "event": np.arange(first_event, first_event + n, dtype=np.int64), "h_candidate": flag,
                         "x_constituents": x, "tau21_x": np.where(flag, 0.3, np.nan), **jets})


def test_training_jets_are_both_jets_of_every_preselected_event_in_its_fold() -> None:
    data = _sample("qcd", 400, 0, 1)
    cfg = HxSearchConfig(ensemble_folds=3)
    jets = training_jets(data, cfg)
    assert jets is not None and len(jets.constituents) == 800 == jets.n_available
    np.testing.assert_array_equal(jets.constituents[400:], data["j2_constituents"])
    x = candidates(data)
    assert x.n_events == int(data["h_candidate"].sum()) and "j1_constituents" not in x.columns
    constituents, ids, trainable = ensemble_inputs(x, {}, jets)
    assert not trainable[:x.n_events].any() and trainable[x.n_events:].all()
    folds = fold_of_ids(ids, 3)
    # the k-fold guarantee: each X jet's own copy (and its H partner) among the training jets is in
    # the X jet's fold, so the network that scores that fold never trained or validated on it
    x_fold = dict(zip(x["event"].tolist(), folds[:x.n_events].tolist()))
    train_events = ids["event"][x.n_events:]
    for event, fold in zip(train_events.tolist(), folds[x.n_events:].tolist()):
        if event in x_fold:
            assert fold == x_fold[event]
    is_x = np.isin(train_events, x["event"])
    assert is_x.sum() == 2 * x.n_events
    # the X jet is one of the training jets of its event (here the second)
    np.testing.assert_array_equal(constituents[:x.n_events], x["x_constituents"])


def test_training_jets_subset_is_seeded_and_x_mode_trains_on_x_jets() -> None:
    data = _sample("qcd", 400, 0, 2)
    a = training_jets(data, HxSearchConfig(max_training_jets=300, seed=4))
    b = training_jets(data, HxSearchConfig(max_training_jets=300, seed=4))
    c = training_jets(data, HxSearchConfig(max_training_jets=300, seed=5))
    assert a is not None and b is not None and c is not None
    assert len(a.constituents) == 300 and a.n_available == 800
    np.testing.assert_array_equal(a.ids["event"], b.ids["event"])
    assert not np.array_equal(a.ids["event"], c.ids["event"])
    assert training_jets(data, HxSearchConfig(training_jets="x")) is None
    x = candidates(data)
    signal = candidates(_sample("sig", 50, 10_000, 3))
    _, _, trainable = ensemble_inputs(x, {"sig": signal}, None)
    assert trainable[:x.n_events].all() and not trainable[x.n_events:].any()


def test_injected_candidates_counts_each_signal_block() -> None:
    data = _sample("qcd", 100, 0, 4)
    s1, s2 = _sample("a", 60, 1000, 5), _sample("b", 80, 2000, 6)
    both = data.with_injection(s1, 20, seed=1).with_injection(s2, 30, seed=2)  # name order, as inject_signals
    flag = both["h_candidate"]
    counts = injected_candidates(both, {"a": 20, "b": 30})
    assert counts == {"a": int(flag[100:120].sum()), "b": int(flag[120:150].sum())}
    assert sum(counts.values()) == int(candidates(both).injected.sum())
    # a store without training jets: every row is a candidate
    assert injected_candidates(Sample("x", {"m": np.zeros(5)}), {"a": 2}) == {"a": 2}


def test_a_real_store_gives_the_h_candidates_in_either_training_mode(tmp_path: Path) -> None:
    """Real CMS PFNano without the Xbb tag: some preselected events have no H candidate; both modes
    search only the candidates; a store without training jets is refused by the default mode."""
    cuts = {"hbb_score_min": 0.0}
    run_processor("hx", {"pfnano": [str(REAL)]}, tmp_path / "t.zarr", config=cuts, n_workers=0, progress=False)
    fs = open_store(tmp_path / "t.zarr")
    flag = fs.read("pfnano", ["h_candidate"])["h_candidate"].astype(bool)
    assert 0 < flag.sum() < len(flag)
    for mode in ("preselected", "x"):
        x = candidates(load_hx_sample(fs, "pfnano", HxSearchConfig(training_jets=mode)))
        assert x.n_events == int(flag.sum()) and np.isfinite(x["mx_gev"]).all()
    run_processor("hx", {"pfnano": [str(REAL)]}, tmp_path / "x.zarr", config={**cuts, "training_jets": False}, n_workers=0,
                  progress=False)
    with pytest.raises(AdsearchError, match="training-jet columns"):
        load_hx_sample(open_store(tmp_path / "x.zarr"), "pfnano", HxSearchConfig())
