"""Lepton + X selection: object cuts, overlap removal, masses (checked with vector), cutflow."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import vector

from adsearch.processors.lepton import (
    MASS_COLUMNS,
    LeptonConfig,
    LeptonProcessor,
    _delta_r_min,
    _preselect,
    select_lepton_objects,
    selected_objects,
)
from adsearch.processors.objects import ObjectReader
from adsearch.processors.reading import open_events


@pytest.fixture(scope="module")
def gen_events(nano_files: list[Path]):
    return open_events(nano_files[0])


def _min_dr(a: ak.Array, b: ak.Array) -> float:
    values = ak.to_numpy(ak.flatten(_delta_r_min(a, b)))
    return float(values.min()) if values.size else np.inf


@pytest.mark.parametrize("source", ["generated", "PHYSLITE_example", "nano_dy"])
def test_object_cuts_and_overlap_removal(source: str, gen_events, real_file) -> None:
    events = gen_events if source == "generated" else real_file(source)[1]
    cfg = LeptonConfig()
    objs = select_lepton_objects(ObjectReader(events), cfg)
    el, mu, ph = objs["electron"], objs["muon"], objs["photon"]
    jets = ak.concatenate([objs["jet"], objs["bjet"]], axis=1)
    assert ak.all(el.pt > 20) and ak.all(abs(el.eta_cluster) < 2.47) and ak.all(el.tight)
    assert not ak.any((abs(el.eta_cluster) > 1.37) & (abs(el.eta_cluster) < 1.52))
    assert ak.all(el.reliso < 0.15) and ak.all(mu.reliso < 0.15) and ak.all(mu.tight)
    assert ak.all(mu.pt > 20) and ak.all(abs(mu.eta) < 2.5)
    assert ak.all(ph.pt > 20) and ak.all(abs(ph.eta) < 2.37) and ak.all(ph.tight)
    assert ak.all(jets.pt > 30) and ak.all(abs(jets.eta) < 2.4)
    assert ak.all(objs["bjet"].btag) and not ak.any(objs["jet"].btag)
    # invariants the ATLAS-order overlap removal guarantees at the end
    assert _min_dr(el, jets) >= 0.4 and _min_dr(mu, jets) >= 0.4
    assert _min_dr(ph, el) >= 0.4 and _min_dr(ph, mu) >= 0.4 and _min_dr(jets, ph) >= 0.4
    for kind in ("jet", "bjet", "electron", "muon", "photon"):  # pT-ordered
        pt = objs[kind].pt
        assert ak.all(pt[:, :-1] >= pt[:, 1:])
    if source == "generated":
        assert ak.sum(ak.num(el)) > 100 and ak.sum(ak.num(mu)) > 100 and ak.sum(ak.num(jets)) > 1000


def test_overlap_removal_removes_something(gen_events) -> None:
    """Loosen nothing, just check the OR is active: without it more jets survive."""
    reader = ObjectReader(gen_events)
    jets = reader.jets()
    jets = jets[(jets.pt > 30) & (abs(jets.eta) < 2.4)]
    objs = select_lepton_objects(reader, LeptonConfig())
    assert ak.sum(ak.num(objs["jet"])) + ak.sum(ak.num(objs["bjet"])) < ak.sum(ak.num(jets))


def test_masses_match_vector_and_nan_when_absent(gen_events) -> None:
    proc = LeptonProcessor("/nonexistent")
    selection = proc.select(ObjectReader(gen_events))
    cols = selection.columns
    objs = {k: v for k, v in selection.rmm_collections.items()}

    def lead(kind: str, rank: int = 0):
        padded = ak.pad_none(objs[kind], rank + 1, axis=1)[:, rank]
        return vector.array({f: ak.to_numpy(ak.fill_none(padded[f], np.nan)) for f in ("pt", "eta", "phi", "mass")})

    objs2 = {"jet2": lead("jet", 1), "bjet2": lead("bjet", 1)}
    for name, (a, b) in MASS_COLUMNS.items():
        va = objs2.get(a) if a in objs2 else lead(a)
        vb = objs2.get(b) if b in objs2 else lead(b)
        expected = (va + vb).mass
        np.testing.assert_allclose(cols[name], expected, rtol=2e-5, atol=1e-3, equal_nan=True, err_msg=name)
        absent = np.isnan(va.pt) | np.isnan(vb.pt)
        assert np.isnan(cols[name][absent]).all() and not np.isnan(cols[name][~absent]).any()
    assert np.isnan(cols["mass_je_gev"]).any() and np.isfinite(cols["mass_jmu_gev"]).any()
    assert (cols["n_jet"] + cols["n_bjet"] >= 1).all()


def test_cutflow_closes_and_matches_rows(gen_events) -> None:
    selection = LeptonProcessor("/nonexistent").select(ObjectReader(gen_events))
    cutflow = selection.cutflow
    cutflow.check()
    assert cutflow.passed[0] == len(gen_events)
    assert cutflow.passed[0] == cutflow.removed.sum() + cutflow.passed[-1]
    assert cutflow.passed[-1] == len(selection.columns["event"])
    np.testing.assert_allclose(cutflow.to_dict()["sumw"][-1], selection.columns["weight"].sum(), rtol=1e-9)
    assert "truth_process_id" in selection.columns


def test_trigger_step_uses_hlt_bits_when_present(real_file) -> None:
    _tree, events = real_file("nano_dy")
    reader = ObjectReader(events)
    *_, cutflow, _w, _met = _preselect(reader, LeptonConfig())
    decision, found = reader.trigger(tuple(LeptonConfig().triggers))
    assert found and cutflow.passed[1] == int(decision.sum()) < cutflow.passed[0]
    _, _, cutflow_none, _, _ = _preselect(reader, LeptonConfig(triggers=[]))
    assert cutflow_none.passed[1] == cutflow_none.passed[0]


def test_selected_objects_format_and_rows(gen_events) -> None:
    objects, met_pt, met_phi = selected_objects(gen_events)
    selection = LeptonProcessor("/nonexistent").select(ObjectReader(gen_events))
    assert len(objects) == len(selection.columns["event"]) == len(met_pt) == len(met_phi)
    assert set(ak.fields(objects)) == {"pt", "eta", "phi", "mass", "kind"}
    kinds = set(ak.flatten(objects.kind).to_list())
    assert kinds <= {"jet", "bjet", "muon", "electron", "photon"} and {"jet", "muon"} <= kinds
    n_jet = ak.to_numpy(ak.sum(objects.kind == "jet", axis=1))
    np.testing.assert_array_equal(n_jet, selection.columns["n_jet"])
    everything, all_met, _ = selected_objects(gen_events, preselected=False)
    assert len(everything) == len(gen_events) == len(all_met)


def _reference_overlap_removal(jet, el, mu, ph):
    """The same ATLAS-order overlap removal written with awkward (slow, obviously correct)."""
    el = el[_delta_r_min(el, mu) >= 0.01]
    jet = jet[_delta_r_min(jet, el) >= 0.2]
    el = el[_delta_r_min(el, jet) >= 0.4]
    jet = jet[_delta_r_min(jet, mu) >= 0.2]
    mu = mu[_delta_r_min(mu, jet) >= 0.4]
    ph = ph[(_delta_r_min(ph, el) >= 0.4) & (_delta_r_min(ph, mu) >= 0.4)]
    jet = jet[_delta_r_min(jet, ph) >= 0.4]
    return jet, el, mu, ph


@pytest.mark.parametrize("source", ["generated", "PHYSLITE_example"])
def test_overlap_kernel_matches_awkward_reference(source: str, gen_events, real_file) -> None:
    from adsearch.processors.overlap import overlap_masks

    events = gen_events if source == "generated" else real_file(source)[1]
    reader = ObjectReader(events)
    colls = [reader.jets(), reader.electrons(), reader.muons(), reader.photons()]
    colls = [c[c.pt > 20] for c in colls]  # loose cuts: many overlaps to resolve
    masks = overlap_masks(*colls)
    expected = _reference_overlap_removal(*colls)
    for coll, mask, ref in zip(colls, masks, expected):
        assert ak.to_list(coll[mask].pt) == ak.to_list(ref.pt)
    assert sum(int(ak.sum(~m)) for m in masks) > 10  # the test exercises real removals
