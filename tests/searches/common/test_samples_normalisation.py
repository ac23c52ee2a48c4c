"""Signal weights from the whole sample's sum of generator weights, never from the events read."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import uproot
import yaml

from adsearch.errors import AdsearchError
from adsearch.searches.common.samples import dataset_normalisation, signal_weight

REAL = Path(__file__).resolve().parents[2] / "data" / "real"


def _make_nano_file():  # the hand-made NanoAOD files of tests/processors (a conftest, not a package)
    path = Path(__file__).resolve().parents[2] / "processors" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_processors_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_nano_file


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory):
    """The CMS Drell-Yan skim (40 events of a sample whose Runs tree counts millions) as a signal,
    and a hand-made file without a Runs tree, once without and once with a declared sum_of_weights."""
    from adsearch.processors.run import run_processor
    from adsearch.store import open_store

    base = tmp_path_factory.mktemp("norm")
    toy = str(_make_nano_file()(base / "toy.root", 200, seed=3))
    fileset = {
        "dy": {"files": {str(REAL / "nano_dy.root"): "Events"}, "metadata": {"xsec_pb": 2.0}},
        "toy": {"files": {toy: "Events"}, "metadata": {"xsec_pb": 1.0}},
        "toy_declared": {"files": {toy: "Events"}, "metadata": {"xsec_pb": 1.0, "sum_of_weights": 1.5e6}},
    }
    (base / "fileset.yaml").write_text(yaml.safe_dump(fileset))
    run_processor("lepton", base / "fileset.yaml", base / "s.zarr", n_workers=0, progress=False,
                  config={"lead_lepton_pt_min_gev": 20.0})
    return open_store(base / "s.zarr")


def test_signal_weight_uses_the_whole_samples_sum_of_generator_weights(real_store) -> None:
    handle = uproot.open(REAL / "nano_dy.root")
    sumw = float(np.sum(handle["Runs"]["genEventSumw_"].array(library="np")))
    rows = real_store.read("dy", ["weight"])["weight"]
    assert 0 < rows.size < handle["Events"].num_entries  # some events selected, fewer than read
    lumi = 1000.0
    norm = dataset_normalisation(real_store, "dy")
    assert norm.sumw_total == pytest.approx(sumw) and norm.source == "Runs.genEventSumw_"
    assert norm.sumw_selected == pytest.approx(float(rows.sum()))
    # each selected event: sigma L w_i / sum_w; the selected yield is their sum
    assert norm.expected(2.0, lumi) == pytest.approx(2.0 * lumi * float(rows.sum()) / sumw)
    assert signal_weight(real_store, "dy", lumi) * rows.size == pytest.approx(2.0 * lumi * float(rows.sum()) / sumw)
    read = real_store.attrs("dy")["cutflow"]["events"][0]
    assert signal_weight(real_store, "dy", lumi) < 1e-3 * 2.0 * lumi / read  # events read would be > 1000x off


def test_a_sample_without_bookkeeping_needs_a_declared_sum_of_weights(real_store) -> None:
    with pytest.raises(AdsearchError, match="'toy': no sum of generator weights.*declare sum_of_weights"):
        signal_weight(real_store, "toy", 1000.0)
    norm = dataset_normalisation(real_store, "toy_declared")
    assert norm.sumw_total == 1.5e6 and norm.source == "fileset metadata sum_of_weights"
