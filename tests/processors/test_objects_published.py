"""Objects as published: every cut a named, counted step of the object cutflow; NanoAOD
equivalents of the paper's working points; steps a file cannot make are reported as not applied."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from adsearch.generator import generate_sample
from adsearch.processors.lepton import LeptonConfig, object_cutflow
from adsearch.processors.object_selection import OBJECT_STEPS
from adsearch.processors.objects import ObjectReader
from adsearch.processors.reading import open_events


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    summary = generate_sample("lepton", 1500, seed=21, out_dir=tmp_path_factory.mktemp("gen") / "sm", pilot_events=1000)
    return Path(summary.files[0])


def _counts(steps: list[dict]) -> dict[str, int]:
    return {s["step"]: s["objects"] for s in steps}


def test_every_published_cut_is_a_step_that_removes_objects(generated: Path) -> None:
    flow = object_cutflow(ObjectReader(open_events(generated)))
    for kind, steps in OBJECT_STEPS.items():
        names = [s["step"] for s in flow[kind]]
        assert names == ["input"] + [name for name, _ in steps]
        assert all(s["applied"] for s in flow[kind])
        n = [s["objects"] for s in flow[kind]]
        removed = {names[i]: n[i - 1] - n[i] for i in range(1, len(n))}
        # the identification, isolation, impact-parameter and pile-up cuts all act on generated
        # samples (the kinematic ones may not: the generator's own acceptance equals some of them)
        exercised = [k for k in removed if k.endswith(("_id", "_isolation", "_d0sig", "_z0", "_jvt"))
                     and not (k == "photon_isolation" and n[-2] < 30)]  # too few tight photons in 1500 events
        assert exercised and all(removed[k] > 0 for k in exercised), (kind, removed)


def test_muon_and_electron_steps_match_the_raw_nanoaod_branches(generated: Path) -> None:
    """Cumulative counts recomputed from the raw branches with the NanoAOD equivalents of the
    paper's cuts (mediumId, pfRelIso04_all < 0.15, |dxy/dxyErr| < 3, |dz| x 10 / cosh(eta) < 0.5)."""
    raw = uproot.open(generated)["Events"].arrays()
    flow = object_cutflow(ObjectReader(open_events(generated)))
    mu = {f: ak.to_numpy(ak.flatten(raw[f"Muon_{f}"])) for f in ("pt", "eta", "mediumId", "pfRelIso04_all", "dxy", "dxyErr", "dz")}
    steps = [mu["pt"] > 20, np.abs(mu["eta"]) < 2.5, mu["mediumId"], mu["pfRelIso04_all"] < 0.15,
             np.abs(mu["dxy"] / mu["dxyErr"]) < 3, np.abs(mu["dz"]) * 10 / np.cosh(mu["eta"]) < 0.5]
    expected = [int(np.logical_and.reduce(steps[: i + 1]).sum()) for i in range(len(steps))]
    assert [s["objects"] for s in flow["muon"][1:]] == expected
    el = {f: ak.to_numpy(ak.flatten(raw[f"Electron_{f}"])) for f in ("pt", "eta", "cutBased", "pfRelIso03_all", "dxy", "dxyErr", "dz")}
    passed = (el["pt"] > 20) & (np.abs(el["eta"]) < 2.47) & ((np.abs(el["eta"]) < 1.37) | (np.abs(el["eta"]) > 1.52))
    passed &= (el["cutBased"] == 4) & (el["pfRelIso03_all"] < 0.06)
    passed &= (np.abs(el["dxy"] / el["dxyErr"]) < 5) & (np.abs(el["dz"]) * 10 / np.cosh(el["eta"]) < 0.5)
    assert flow["electron"][-1]["objects"] == int(passed.sum())
    jets = raw["Jet_pt"]
    jvt_ok = (jets >= 60) | ((raw["Jet_puId"] & 2) != 0) | (jets >= 50)
    assert flow["jet"][-1]["objects"] == int(ak.sum((jets > 30) & (abs(raw["Jet_eta"]) < 2.4) & jvt_ok))


@pytest.mark.parametrize("name, not_applied", [
    ("nano_dy", set()),
    ("nano_tt_v15", {"jet_jvt"}),  # PUPPI jets: no pile-up ID in Run-3 NanoAOD
    ("PHYSLITE_example", {"electron_d0sig", "electron_z0", "muon_d0sig", "muon_z0"}),
])
def test_real_files_report_what_they_cannot_cut(name: str, not_applied: set[str], real_file) -> None:
    flow = object_cutflow(ObjectReader(real_file(name)[1]), LeptonConfig())
    skipped = {s["step"] for steps in flow.values() for s in steps if not s["applied"]}
    assert skipped == not_applied
    for steps in flow.values():
        n = [s["objects"] for s in steps]
        assert all(a >= b for a, b in zip(n, n[1:]))  # cumulative


def test_physlite_met_is_rebuilt_from_the_selected_objects(real_file) -> None:
    from adsearch.processors.lepton import _preselect, select_lepton_objects

    reader = ObjectReader(real_file("PHYSLITE_example")[1])
    config = LeptonConfig()
    *_, (met_pt, met_phi) = _preselect(reader, config)
    objects = select_lepton_objects(reader, config)
    px, py = reader.physlite_soft_term()
    for kind in ("jet", "bjet", "electron", "muon", "photon"):
        px = px - ak.to_numpy(ak.sum(objects[kind].pt * np.cos(objects[kind].phi), axis=1))
        py = py - ak.to_numpy(ak.sum(objects[kind].pt * np.sin(objects[kind].phi), axis=1))
    assert np.allclose(met_pt, np.hypot(px, py), rtol=1e-6, atol=1e-6)
    all_objects, _ = reader.met()  # every jet, electron, muon and photon of the file
    assert not np.allclose(met_pt, all_objects)


def test_btag_cut_comes_from_the_configuration(real_file) -> None:
    events = real_file("nano_tt_v15")[1]
    raw = ak.to_numpy(ak.flatten(events.Jet["btagDeepFlavB"]))
    for cut in (0.2770, 0.6):
        reader = ObjectReader(events, **{"btag_working_points": {"nanoaod": cut}})
        assert int(ak.sum(reader.jets().btag)) == int(np.sum(raw > cut))


def test_a_skim_without_photons_runs_when_the_collection_is_declared_absent(real_file) -> None:
    from adsearch.errors import BadInputError
    from adsearch.processors.lepton import _preselect

    events = real_file("nano_tt_v12")[1]
    with pytest.raises(BadInputError, match="missing collection"):
        _preselect(ObjectReader(events), LeptonConfig())
    config = LeptonConfig(absent_collections=["Photon"], trigger="none")  # the skim has no HLT bits either
    objects, mask, cutflow, *_ = _preselect(ObjectReader(events, absent_collections=config.absent_collections), config)
    assert int(ak.sum(ak.num(objects["photon"]))) == 0 and len(mask) == len(events)
    assert cutflow.passed[0] == len(events)


def test_physlite_single_lepton_triggers_from_the_trigmatch_containers(real_file) -> None:
    from adsearch.processors.lepton import _preselect

    tree, events = real_file("PHYSLITE_example")
    config = LeptonConfig()
    expected = np.zeros(tree.num_entries, dtype=bool)
    present = 0
    for chain in config.physlite_triggers:
        branch = f"AnalysisTrigMatch_HLT_{chain}AuxDyn.TrigMatchedObjects"
        if branch in tree.keys():
            present += 1
            expected |= ak.to_numpy(ak.num(tree[branch].array(), axis=1) > 0)
    assert present > 0 and 0 < expected.sum() < expected.size
    *_, mask, cutflow, _w, _met = _preselect(ObjectReader(events), config)
    assert int(cutflow.passed[1]) == int(expected.sum())
    assert not mask[~expected].any()


def test_processing_the_real_skim_without_photons(tmp_path: Path) -> None:
    from adsearch.errors import AdsearchError
    from adsearch.processors.run import run_processor
    from adsearch.store import open_store

    skim = str(Path(__file__).resolve().parents[1] / "data" / "real" / "nano_tt_v12.root")
    with pytest.raises(AdsearchError, match="Photon"):
        run_processor("lepton", {"tt": [skim]}, tmp_path / "a.zarr", n_workers=0, progress=False,
                      config={"trigger": "none"})
    summary = run_processor("lepton", {"tt": [skim]}, tmp_path / "b.zarr", n_workers=0, progress=False,
                            config={"absent_collections": ["Photon"], "trigger": "none"})
    assert summary.datasets["tt"].cutflow.passed[0] == 200
    store = open_store(tmp_path / "b.zarr")
    assert store.run_attrs["config"]["config"]["absent_collections"] == ["Photon"]  # recorded in the store
    assert store.n_events("tt") == 0 or int(store.read("tt", ["n_photon"])["n_photon"].sum()) == 0


def test_a_file_without_trigger_information_fails_unless_the_config_says_none(tmp_path: Path, make_nano) -> None:
    """Never passed silently: one line naming the file and the way out; with ``trigger: none`` the
    run goes through, and the store and summary say which trigger step ran."""
    from adsearch.errors import BadInputError
    from adsearch.processors.run import run_processor
    from adsearch.store import open_store

    bare = make_nano(tmp_path / "bare.root", 300, seed=4, trigger="none")
    fired = make_nano(tmp_path / "fired.root", 300, seed=4, first_event=5000)
    with pytest.raises(BadInputError, match=r"bare\.root: no trigger information.*set `trigger: none`") as error:
        run_processor("lepton", {"d": [str(fired), str(bare)]}, tmp_path / "a.zarr", n_workers=0, progress=False)
    assert "\n" not in str(error.value)
    none = run_processor("lepton", {"d": [str(bare)]}, tmp_path / "b.zarr", n_workers=0, progress=False,
                         config={"trigger": "none"})
    hlt = run_processor("lepton", {"d": [str(fired)]}, tmp_path / "c.zarr", n_workers=0, progress=False)
    assert none.datasets["d"].trigger.startswith("none") and hlt.datasets["d"].trigger.startswith("hlt")
    assert open_store(tmp_path / "b.zarr").attrs("d")["trigger"] == none.datasets["d"].trigger
    assert open_store(tmp_path / "c.zarr").attrs("d")["trigger"] == hlt.datasets["d"].trigger
    assert "trigger none" in none.table()
    # the same events: identical selections (the fixture's bits fire in every event)
    assert none.datasets["d"].cutflow.passed[-1] == hlt.datasets["d"].cutflow.passed[-1] > 0


def _physlite_links(tree, config) -> dict[str, list]:
    """chain -> per event, the raw TrigMatchedObjects element links (chains the file has)."""
    out = {}
    for chain in config.physlite_triggers:
        branch = f"AnalysisTrigMatch_HLT_{chain}AuxDyn.TrigMatchedObjects"
        if branch in tree.keys():
            out[chain] = ak.to_list(tree[branch].array())
    return out


def _physlite_reference_match(links: dict[str, list], objects, config) -> np.ndarray:
    """Event loop over the raw PHYSLITE links: a selected lepton above the lead-lepton pT whose
    index in its container is among the objects a same-flavour single-lepton chain matched."""
    matched = np.zeros(len(objects["electron"]), dtype=bool)
    for kind in ("electron", "muon"):
        leptons = ak.to_list(objects[kind][["pt", "index"]])
        for chain, per_chain in links.items():
            if chain.startswith("mu") != (kind == "muon"):
                continue
            for i, per_event in enumerate(per_chain):
                indices = {link["m_persIndex"] for composite in per_event for link in composite}
                if any(lep["pt"] > config.lead_lepton_pt_min_gev and lep["index"] in indices for lep in leptons[i]):
                    matched[i] = True
    return matched


def test_physlite_trigger_matching_to_the_selected_lepton(real_file) -> None:
    from adsearch.processors.lepton import LeptonObjects, _preselect, _trigger_matched, select_lepton_objects

    tree, events = real_file("PHYSLITE_example")
    reader = ObjectReader(events)
    config = LeptonConfig()
    objects = select_lepton_objects(reader, config)
    links = _physlite_links(tree, config)
    expected = _physlite_reference_match(links, objects, config)
    np.testing.assert_array_equal(_trigger_matched(reader, objects, config), expected)
    # the match follows the element links: the same leptons pointing at their container neighbours
    shifted = LeptonObjects(objects, electron=ak.with_field(objects["electron"], objects["electron"]["index"] + 1, "index"))
    moved = _physlite_reference_match(links, shifted, config)
    assert moved.sum() < expected.sum()
    np.testing.assert_array_equal(_trigger_matched(reader, shifted, config), moved)
    # in the preselection the step keeps exactly the fired, lead-lepton events with a matched lepton
    *_, mask, cutflow, _w, _met = _preselect(reader, config)
    lead = np.asarray(ak.any(objects["electron"].pt > 60, axis=1) | ak.any(objects["muon"].pt > 60, axis=1))
    fired, _ = reader.trigger(tuple(config.physlite_triggers))
    assert cutflow.passed[2] == int((fired & lead).sum()) and cutflow.passed[3] == int((fired & lead & expected).sum()) > 0
    assert not mask[~expected].any()
