"""Normalisation from the sum of generator weights of the whole sample (NanoAOD Runs.genEventSumw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from adsearch.errors import BadInputError
from adsearch.processors.normalisation import dataset_sum_of_weights, file_sum_of_weights

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def test_nanoaod_runs_tree_gives_the_whole_samples_sum_of_weights() -> None:
    got = file_sum_of_weights(REAL / "nano_dy.root")
    runs = uproot.open(REAL / "nano_dy.root")["Runs"]
    assert got.sumw == pytest.approx(float(np.sum(runs["genEventSumw_"].array(library="np"))))
    assert got.n_events == int(np.sum(runs["genEventCount_"].array(library="np")))
    events = uproot.open(REAL / "nano_dy.root")["Events"]
    assert got.n_events > events.num_entries  # a skim: the bookkeeping counts what was generated
    twice = dataset_sum_of_weights([REAL / "nano_dy.root"] * 2)
    assert twice.sumw == pytest.approx(2 * got.sumw) and twice.n_events == 2 * got.n_events


def test_a_file_without_bookkeeping_is_a_one_line_error() -> None:
    with pytest.raises(BadInputError, match="nano_tt_v15.root.*no generator-weight bookkeeping"):
        file_sum_of_weights(REAL / "nano_tt_v15.root")


def test_the_store_records_the_sum_of_generator_weights(tmp_path: Path) -> None:
    from adsearch.processors.run import run_processor
    from adsearch.store import open_store

    run_processor("lepton", {"dy": [str(REAL / "nano_dy.root")], "tt": [str(REAL / "nano_tt_v15.root")]},
                  tmp_path / "s.zarr", n_workers=0, progress=False)
    store = open_store(tmp_path / "s.zarr")
    expected = file_sum_of_weights(REAL / "nano_dy.root")
    assert store.attrs("dy")["sum_of_weights"] == {"sumw": expected.sumw, "n_events": expected.n_events,
                                                    "source": "Runs.genEventSumw_"}
    assert "no generator-weight bookkeeping" in store.attrs("tt")["sum_of_weights"]["error"]
