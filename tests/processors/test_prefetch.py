"""Learned branches read in one bulk request (processors/prefetch.py) give exactly the store of
lazy per-branch reads, and a damaged basket in the bulk read is still a one-line bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from adsearch.errors import BadInputError
from adsearch.processors import base, prefetch
from adsearch.processors.run import run_processor
from tests.processors.test_run import _assert_same_store, _damage_middle

CHUNK = 1000


def test_bulk_read_gives_the_lazy_store(nano_files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fileset = {"bkg": [str(f) for f in nano_files]}
    monkeypatch.setattr(prefetch, "_LEARNED", {})
    with monkeypatch.context() as lazy:
        lazy.setattr(base, "learn", lambda mapping, key: None)  # never learns: every branch read lazily
        run_processor("lepton", fileset, tmp_path / "lazy.zarr", n_workers=0, chunksize=CHUNK, progress=False)
    assert prefetch._LEARNED == {}

    bulk_units = []

    def spy(events, key):
        mapping = prefetch.preload_learned(events, key)
        bulk_units.append(mapping is not None and mapping.preloaded_arrays is not None)
        return mapping

    monkeypatch.setattr(base, "preload_learned", spy)
    run_processor("lepton", fileset, tmp_path / "bulk.zarr", n_workers=0, chunksize=CHUNK, progress=False)
    assert bulk_units == [False] + [True] * 5  # 6 units: the first one learns, the others read in bulk
    learned = prefetch._LEARNED[("lepton", "nanoaod")]
    assert {"Jet_pt", "Jet_btagDeepFlavB", "Muon_pfRelIso04_all", "MET_pt", "event"} <= learned
    _assert_same_store(tmp_path / "lazy.zarr", tmp_path / "bulk.zarr")


def test_a_bad_basket_in_the_bulk_read_is_a_bad_file(nano_files, make_nano, tmp_path: Path) -> None:
    run_processor("lepton", {"bkg": [str(nano_files[0])]}, tmp_path / "learn.zarr", n_workers=0,
                  chunksize=CHUNK, progress=False)  # learns the branches (also when run alone)
    assert prefetch._LEARNED.get(("lepton", "nanoaod"))
    bad = _damage_middle(make_nano(tmp_path / "basket.root", 300, seed=15, first_event=700_000))
    with pytest.raises(BadInputError, match="cannot read entries") as info:
        run_processor("lepton", {"d": [str(bad)]}, tmp_path / "s.zarr", n_workers=0, progress=False)
    assert info.value.path == str(bad) and "\n" not in str(info.value)
