"""Lepton + X selection: object cuts, overlap removal, masses (checked with vector), cutflow."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

from adsearch.processors.lepton import (
    MASS_COLUMNS,
    LeptonConfig,
    LeptonProcessor,
    _delta_r_min,
    _preselect,
    _trigger_matched,
    select_lepton_objects,
    selected_objects,
)
from adsearch.errors import BadInputError
from adsearch.processors.objects import ObjectReader
from adsearch.processors.reading import open_events


@pytest.fixture(scope="module")
def gen_events(nano_files: list[Path]):
    return open_events(nano_files[0])


def _min_dr(a: ak.Array, b: ak.Array) -> float:
    values = ak.to_numpy(ak.flatten(_delta_r_min(a, b)))
    return float(values.min()) if values.size else np.inf


#: Selected objects each source has at least (ak.all holds on empty collections, so the cut checks
#: below need objects). PHYSLITE_example: its 5 muons all have pT < 6 GeV and 1 of its jets in
#: acceptance is b-tagged; nano_dy (Drell-Yan) has no b-tagged jet in acceptance.
MIN_SELECTED = {
    "generated": {"jet": 1000, "bjet": 100, "electron": 100, "muon": 100, "photon": 100},
    "PHYSLITE_example": {"jet": 100, "electron": 50, "photon": 3},
    "nano_dy": {"jet": 10, "electron": 5, "muon": 5, "photon": 3},
}


@pytest.mark.parametrize("source", ["generated", "PHYSLITE_example", "nano_dy"])
def test_object_cuts_and_overlap_removal(source: str, gen_events, real_file) -> None:
    events = gen_events if source == "generated" else real_file(source)[1]
    cfg = LeptonConfig()
    objs = select_lepton_objects(ObjectReader(events), cfg)
    el, mu, ph = objs["electron"], objs["muon"], objs["photon"]
    jets = ak.concatenate([objs["jet"], objs["bjet"]], axis=1)
    assert ak.all(el.pt > 20) and ak.all(abs(el.eta_cluster) < 2.47) and ak.all(el.tight)
    assert not ak.any((abs(el.eta_cluster) > 1.37) & (abs(el.eta_cluster) < 1.52))
    assert ak.all(el.reliso < 0.15) and ak.all(mu.reliso < 0.15) and ak.all(mu.medium)
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
    selected = {kind: int(ak.sum(ak.num(objs[kind]))) for kind in objs}
    assert all(selected[kind] >= n for kind, n in MIN_SELECTED[source].items()), selected


@pytest.mark.parametrize("key, value, kind, field", [
    ("electron_pt_min_gev", 45.0, "electron", "pt"), ("electron_eta_max", 1.2, "electron", "eta_cluster"),
    ("electron_reliso_max", 0.04, "electron", "reliso"), ("muon_pt_min_gev", 45.0, "muon", "pt"),
    ("muon_eta_max", 1.2, "muon", "eta"), ("muon_reliso_max", 0.04, "muon", "reliso"),
    ("photon_pt_min_gev", 45.0, "photon", "pt"), ("photon_eta_max", 1.2, "photon", "eta_cluster"),
    ("jet_pt_min_gev", 60.0, "jet", "pt"), ("jet_eta_max", 1.2, "jet", "eta"),
])
def test_each_object_cut_follows_its_config_key(key: str, value: float, kind: str, field: str, gen_events) -> None:
    """Tightening one key moves exactly that cut: the objects left respect the new value and
    some that passed the default are gone."""
    reader = ObjectReader(gen_events)
    default = select_lepton_objects(reader, LeptonConfig())
    tight = select_lepton_objects(reader, LeptonConfig(**{key: value}))
    values = abs(tight[kind][field]) if field.startswith("eta") else tight[kind][field]
    below = field != "pt"  # pT cuts keep values above, the others values below
    assert ak.all(values < value) if below else ak.all(values > value)
    assert 0 < ak.sum(ak.num(tight[kind])) < ak.sum(ak.num(default[kind]))


def test_min_jets_follows_its_config_key(gen_events) -> None:
    reader = ObjectReader(gen_events)
    counts = {}
    for min_jets in (1, 3):
        objects, mask, *_ = _preselect(reader, LeptonConfig(min_jets=min_jets))
        n_jets = np.asarray(ak.num(objects["jet"]) + ak.num(objects["bjet"]))
        assert (n_jets[mask] >= min_jets).all()
        counts[min_jets] = int(mask.sum())
    assert 0 < counts[3] < counts[1]


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


@pytest.fixture(scope="module")
def trigger_file(make_nano, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated events with HLT bits and trigger objects of every flavour near the leptons."""
    return make_nano(tmp_path_factory.mktemp("trig") / "trigger.root", 3000, seed=31, trigger="random")


def _raw_hlt(tree, names: list[str]) -> np.ndarray:
    """OR of the HLT_<name> branches the (uproot) tree has."""
    present = [f"HLT_{n}" for n in names if f"HLT_{n}" in tree.keys()]
    assert present
    return np.logical_or.reduce([tree[b].array(library="np").astype(bool) for b in present])


@pytest.mark.parametrize("source", ["nano_dy", "generated"])
def test_trigger_step_uses_hlt_bits_when_present(source: str, trigger_file: Path, real_file) -> None:
    if source == "generated":
        tree, events = uproot.open(trigger_file)["Events"], open_events(trigger_file)
    else:
        tree, events = real_file(source)
    reader = ObjectReader(events)
    single = ["IsoMu24"]
    for triggers in (LeptonConfig().triggers, single):
        expected = _raw_hlt(tree, triggers)
        *_, mask, cutflow, _w, _met = _preselect(reader, LeptonConfig(triggers=triggers))
        assert 0 < cutflow.passed[1] == int(expected.sum()) < cutflow.passed[0]
        assert not mask[~expected].any()
    assert _raw_hlt(tree, single).sum() < _raw_hlt(tree, LeptonConfig().triggers).sum()  # the OR counts
    for absent in ([], ["NoSuchTrigger"]):  # no configured bit in the file: an error, never passed silently
        with pytest.raises(BadInputError, match="no trigger information.*set `trigger: none`"):
            _preselect(reader, LeptonConfig(triggers=absent))
        _, _, cutflow_none, _, _ = _preselect(reader, LeptonConfig(triggers=absent, trigger="none"))
        assert cutflow_none.passed[1] == cutflow_none.passed[0] and cutflow_none.passed[3] == cutflow_none.passed[2]


def _reference_match(path: Path, objects, pt_min: float, max_dr: float, same_flavour: bool = True) -> np.ndarray:
    """Event loop over the raw TrigObj branches: a lepton above pt_min within max_dr of a trigger
    object of its own flavour."""
    trig = uproot.open(path)["Events"].arrays(["TrigObj_eta", "TrigObj_phi", "TrigObj_id"])
    t_eta, t_phi, t_id = (ak.to_list(trig[f"TrigObj_{f}"]) for f in ("eta", "phi", "id"))
    leptons = {pdg: ak.to_list(objects[kind][["pt", "eta", "phi"]]) for kind, pdg in (("electron", 11), ("muon", 13))}
    matched = np.zeros(len(t_eta), dtype=bool)
    for i in range(len(t_eta)):
        for pdg, per_event in leptons.items():
            for lep in per_event[i]:
                if lep["pt"] <= pt_min:
                    continue
                for eta, phi, pid in zip(t_eta[i], t_phi[i], t_id[i]):
                    dphi = (lep["phi"] - phi + np.pi) % (2 * np.pi) - np.pi
                    if (abs(pid) == pdg or not same_flavour) and np.hypot(lep["eta"] - eta, dphi) < max_dr:
                        matched[i] = True
    return matched


@pytest.mark.parametrize("pt_min, max_dr", [(60.0, 0.1), (25.0, 0.1), (60.0, 0.2)])
def test_trigger_matching_against_raw_trigger_objects(trigger_file: Path, pt_min: float, max_dr: float) -> None:
    reader = ObjectReader(open_events(trigger_file))
    config = LeptonConfig(lead_lepton_pt_min_gev=pt_min, trigger_match_dr=max_dr)
    objects = select_lepton_objects(reader, config)
    expected = _reference_match(trigger_file, objects, pt_min, max_dr)
    # the sample tells flavours, distances and pT thresholds apart
    assert 0 < expected.sum() < _reference_match(trigger_file, objects, pt_min, max_dr, same_flavour=False).sum()
    assert expected.sum() < _reference_match(trigger_file, objects, pt_min, 2 * max_dr).sum()
    assert expected.sum() != _reference_match(trigger_file, objects, pt_min / 2, max_dr).sum()
    np.testing.assert_array_equal(_trigger_matched(reader, objects, config), expected)
    # in the preselection the step removes exactly the triggered lepton events without a match
    _, mask, cutflow, _, _ = _preselect(reader, config)
    lepton = np.asarray(ak.any(objects["electron"].pt > pt_min, axis=1) | ak.any(objects["muon"].pt > pt_min, axis=1))
    before = _raw_hlt(uproot.open(trigger_file)["Events"], config.triggers) & lepton
    assert cutflow.passed[2] == before.sum() and cutflow.passed[3] == (before & expected).sum()
    assert not mask[~expected].any()


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


def test_overlap_removal_steps_on_hand_made_events() -> None:
    """One event per step of the ATLAS order, each just inside or outside its Delta R
    (random samples almost never put an electron within 0.01 of a muon)."""
    from adsearch.processors.overlap import overlap_masks

    def coll(*events: list[tuple[float, float]]) -> ak.Array:
        return ak.Array([[{"eta": e, "phi": p} for e, p in ev] for ev in events])

    #                 e-mu 0.005, e-mu 0.02,  j-e 0.1,      j-e 0.3,      j-mu 0.15,     j-mu 0.3,      ph-e 0.3,    ph-j 0.3,    e-mu across phi=pi
    jets = coll([],         [],         [(1.0, 0.0)], [(1.0, 0.0)], [(-1.0, 0.0)], [(-1.0, 0.0)], [],          [(2.0, 0.3)], [])
    els = coll([(0.0, 0.0)], [(0.0, 0.0)], [(1.0, 0.1)], [(1.0, 0.3)], [],             [],             [(2.0, 0.3)], [],          [(0.0, 3.14)])
    mus = coll([(0.0, 0.005)], [(0.0, 0.02)], [],         [],           [(-1.0, 0.15)], [(-1.0, 0.3)], [],          [],          [(0.0, -3.14)])
    phs = coll([],          [],         [],           [],           [],             [],             [(2.0, 0.0)], [(2.0, 0.0)], [])
    keep_jet, keep_el, keep_mu, keep_ph = (ak.to_list(m) for m in overlap_masks(jets, els, mus, phs))
    assert keep_el == [[False], [True], [True], [False], [], [], [True], [], [False]]
    assert keep_jet == [[], [], [False], [True], [False], [True], [], [False], []]
    assert keep_mu == [[True], [True], [], [], [True], [False], [], [], [True]]
    assert keep_ph == [[], [], [], [], [], [], [False], [True], []]
    expected = _reference_overlap_removal(jets, els, mus, phs)
    for c, mask, ref in zip((jets, els, mus, phs), (keep_jet, keep_el, keep_mu, keep_ph), expected):
        assert ak.to_list(c[ak.Array(mask)]) == ak.to_list(ref)


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


def test_pt_ordering_kernel_is_lexsort_with_ties_kept_in_order() -> None:
    from adsearch.processors.overlap import order_by_pt

    rng = np.random.default_rng(5)
    counts = rng.integers(0, 9, 2000)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    event = np.repeat(np.arange(counts.size), counts)
    for pt in (rng.exponential(50.0, offsets[-1]).astype(np.float32),
               rng.choice([0.0, -0.0, 20.0, 35.5, 35.5, 90.0], offsets[-1])):  # many ties
        np.testing.assert_array_equal(order_by_pt(offsets, pt), np.lexsort((-pt, event)))
