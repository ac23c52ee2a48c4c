"""Dijet selection: cuts, m1 >= m2 ordering with tau ratios following their jet, both mJJ."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

from adsearch.errors import ConfigError
from adsearch.config import load_config
from adsearch.processors.dijet import DijetConfig, DijetProcessor, dijet_columns, safe_ratio
from adsearch.processors.objects import ObjectReader
from adsearch.processors.reading import open_events
from adsearch.processors.run import run_processor
from adsearch.store import StoreError, open_store


def _select(path: Path, config: DijetConfig | None = None):
    events = open_events(path)
    return events, DijetProcessor("/nonexistent", config).select(ObjectReader(events))


@pytest.fixture(scope="module")
def wide_mass_file(make_nano, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Large-R jet masses 0-800 GeV: jets below and above the default 30-500 GeV window."""
    return make_nano(tmp_path_factory.mktemp("dijet") / "wide_mass.root", 3000, seed=21, fatjet_mass=(0.0, 800.0))


def _raw_leading(path: Path, pt_min: float = 200.0, eta_max: float = 2.0, lead_pt_min: float = 500.0):
    """From the raw branches: the two leading good large-R jets of events passing the pT cuts."""
    raw = uproot.open(path)["Events"].arrays(
        ["FatJet_pt", "FatJet_eta", "FatJet_phi", "FatJet_mass", "FatJet_tau1", "FatJet_tau2", "FatJet_tau3", "event"])
    good = (raw.FatJet_pt > pt_min) & (abs(raw.FatJet_eta) < eta_max)
    jets = ak.zip({k: raw[f"FatJet_{k}"][good] for k in ("pt", "eta", "phi", "mass", "tau1", "tau2", "tau3")})
    jets = jets[ak.argsort(jets.pt, ascending=False)]
    two = ak.num(jets) >= 2
    lead = jets[two][:, :2]
    lead_pt = ak.to_numpy(lead.pt[:, 0] > lead_pt_min)
    return lead[lead_pt], ak.to_numpy(raw.event[two][lead_pt])


def test_dijet_columns_against_vector_and_raw_branches(wide_mass_file: Path) -> None:
    events, sel = _select(wide_mass_file)
    cols = sel.columns
    n = len(cols["mjj_gev"])
    assert n > 50 and sel.cutflow.passed[-1] == n
    sel.cutflow.check()
    # rebuild the selection independently from the raw branches, mass window 30-500 GeV included
    lead, event = _raw_leading(wide_mass_file)
    mass_ok = ak.to_numpy(ak.all((lead.mass > 30) & (lead.mass < 500), axis=1))
    assert 0 < (~mass_ok).sum() and sel.cutflow.removed[-1] == (~mass_ok).sum()  # the window removes events
    lead = lead[mass_ok]
    np.testing.assert_array_equal(cols["event"], event[mass_ok])
    v1 = vector.array({k: ak.to_numpy(lead[k][:, 0]).astype(np.float64) for k in ("pt", "eta", "phi", "mass")})
    v2 = vector.array({k: ak.to_numpy(lead[k][:, 1]).astype(np.float64) for k in ("pt", "eta", "phi", "mass")})
    np.testing.assert_allclose(cols["mjj_gev"], (v1 + v2).mass, rtol=1e-5)
    np.testing.assert_allclose(cols["delta_y"], np.abs(v1.rapidity - v2.rapidity), rtol=1e-4, atol=1e-5)
    # massless definition: the invariant mass of the same momenta with zero masses
    m1 = vector.array({"pt": v1.pt, "eta": v1.eta, "phi": v1.phi, "mass": np.zeros(n)})
    m2 = vector.array({"pt": v2.pt, "eta": v2.eta, "phi": v2.phi, "mass": np.zeros(n)})
    np.testing.assert_allclose(cols["mjj_massless_gev"], (m1 + m2).mass, rtol=1e-4)
    # heavier jet first; its tau ratios travel with it (compare with the raw tau branches)
    assert (cols["mj1_gev"] >= cols["mj2_gev"]).all()
    heavier_first = ak.to_numpy(lead.mass[:, 0] >= lead.mass[:, 1])
    t1 = np.where(heavier_first, ak.to_numpy(lead.tau2[:, 0] / lead.tau1[:, 0]), ak.to_numpy(lead.tau2[:, 1] / lead.tau1[:, 1]))
    np.testing.assert_allclose(cols["tau21_j1"], t1, rtol=1e-5)
    t32 = np.where(heavier_first, ak.to_numpy(lead.tau3[:, 1] / lead.tau2[:, 1]), ak.to_numpy(lead.tau3[:, 0] / lead.tau2[:, 0]))
    np.testing.assert_allclose(cols["tau32_j2"], t32, rtol=1e-5)
    np.testing.assert_array_equal(cols["is_validation"], cols["delta_y"] > 1.2)
    assert cols["is_validation"].any() and (~cols["is_validation"]).any()


@pytest.mark.parametrize("low, high", [(30.0, 500.0), (80.0, 350.0), (10.0, 700.0)])
def test_mass_window_is_configurable(wide_mass_file: Path, low: float, high: float) -> None:
    """Exact numbers of events removed by each edge of the window, counted from the raw branches."""
    lead, _ = _raw_leading(wide_mass_file)
    lightest, heaviest = ak.to_numpy(ak.min(lead.mass, axis=1)), ak.to_numpy(ak.max(lead.mass, axis=1))
    below, above = lightest <= low, heaviest >= high
    assert (below & ~above).sum() > 0 and (above & ~below).sum() > 0  # both edges cut something
    _, sel = _select(wide_mass_file, DijetConfig(jet_mass_min_gev=low, jet_mass_max_gev=high))
    assert sel.cutflow.passed[-2] == len(lead)
    assert sel.cutflow.removed[-1] == (below | above).sum()
    m1, m2 = sel.columns["mj1_gev"], sel.columns["mj2_gev"]
    assert len(m1) == (~below & ~above).sum() and m2.min() > low and m1.max() < high


@pytest.mark.parametrize("key, value", [
    ("large_r_pt_min_gev", 300.0), ("large_r_eta_max", 1.0), ("lead_pt_min_gev", 700.0), ("delta_y_max", 0.5),
])
def test_each_cut_follows_its_config_key(wide_mass_file: Path, key: str, value: float) -> None:
    """Selected events and the region flag against the raw branches, one key changed at a time."""
    config = DijetConfig(**{key: value})
    lead, event = _raw_leading(wide_mass_file, config.large_r_pt_min_gev, config.large_r_eta_max, config.lead_pt_min_gev)
    _, default_event = _raw_leading(wide_mass_file)
    mass_ok = ak.to_numpy(ak.all((lead.mass > 30) & (lead.mass < 500), axis=1))
    _, sel = _select(wide_mass_file, config)
    np.testing.assert_array_equal(sel.columns["event"], event[mass_ok])
    np.testing.assert_array_equal(sel.columns["is_validation"], sel.columns["delta_y"] > value if key == "delta_y_max"
                                  else sel.columns["delta_y"] > 1.2)
    if key == "delta_y_max":
        assert (sel.columns["is_validation"] & (sel.columns["delta_y"] < 1.2)).any()
    else:
        assert len(event) < len(default_event)  # the changed cut removes events


def test_empty_mass_window_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        load_config(DijetConfig, {"jet_mass_min_gev": 600.0})


def test_safe_ratio_guards_zero() -> None:
    np.testing.assert_array_equal(safe_ratio(np.array([1.0, 0.0, 2.0]), np.array([2.0, 0.0, 0.0])), [0.5, 0.0, 0.0])


def test_swap_keeps_each_jets_own_taus() -> None:
    j1 = {"pt": np.array([900.0]), "eta": np.array([0.1]), "phi": np.array([0.0]), "mass": np.array([50.0]),
          "tau1": np.array([0.4]), "tau2": np.array([0.2]), "tau3": np.array([0.1])}
    j2 = {"pt": np.array([600.0]), "eta": np.array([-0.3]), "phi": np.array([3.0]), "mass": np.array([150.0]),
          "tau1": np.array([0.5]), "tau2": np.array([0.1]), "tau3": np.array([0.09])}
    cols = dijet_columns(j1, j2)
    assert cols["mj1_gev"][0] == 150.0 and cols["pt_j1_gev"][0] == 600.0
    assert cols["tau21_j1"][0] == pytest.approx(0.2) and cols["tau21_j2"][0] == pytest.approx(0.5)
    assert cols["tau32_j1"][0] == pytest.approx(0.9)


def test_dijet_store_from_real_v15_and_generated(nano_files: list[Path], real_data: Path, tmp_path: Path) -> None:
    summary = run_processor("dijet", {"gen": [str(nano_files[1])], "tt_v15": [str(real_data / "nano_tt_v15.root")]},
                            tmp_path / "d.zarr", n_workers=0, progress=False)
    store = open_store(tmp_path / "d.zarr")
    assert store.n_events("gen") == summary.datasets["gen"].n_events_out > 100
    assert {"mjj_gev", "mjj_massless_gev", "is_validation", "tau21_j1", "weight"} <= set(store.columns("gen"))
    assert store.attrs("tt_v15")["cutflow"]["events"][0] == 200
    with pytest.raises(StoreError, match="without RMM"):
        store.rmm_index("gen")


def test_physlite_large_r_jets_through_the_dijet_store(real_data: Path, tmp_path: Path) -> None:
    """PHYSLITE (MeV, LargeRJets with Tau*_wta) with cuts loosened for this small ttbar file."""
    config = {"lead_pt_min_gev": 200.0, "jet_mass_max_gev": 3500.0}
    run_processor("dijet", {"atlas": [str(real_data / "PHYSLITE_example.root")]}, tmp_path / "p.zarr",
                  config=config, n_workers=0, progress=False)
    store = open_store(tmp_path / "p.zarr")
    cols = store.read("atlas", ["mj1_gev", "mj2_gev", "mjj_gev", "tau21_j1", "pt_j1_gev"])
    assert store.n_events("atlas") > 0
    assert (cols["mj1_gev"] >= cols["mj2_gev"]).all() and (cols["mj2_gev"] > 30).all()
    assert (cols["pt_j1_gev"] > 200).all() and (cols["pt_j1_gev"] < 5000).all()  # GeV, not MeV
    assert np.isfinite(cols["tau21_j1"]).all() and (cols["tau21_j1"] >= 0).all()
    cut = store.attrs("atlas")["cutflow"]
    assert cut["events"][0] == 100 == sum(cut["removed"]) + cut["events"][-1]
