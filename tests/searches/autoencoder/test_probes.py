"""Artificial anomalies: the object changes themselves, and that (a), (b) score higher."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
from click.testing import CliRunner

from adsearch.searches.autoencoder.probes import ANOMALY_NAMES, alter_objects, anomaly_score_report, artificial_anomalies
from adsearch.processors.rmm import compute_rmm, flatten_rmm


def _obj(pt: float, kind: str, mass: float = 5.0) -> dict:
    return {"pt": pt, "eta": 0.1 * pt / 100, "phi": 0.3, "mass": mass, "kind": kind}


# event 0: jets out of pT order, a b-jet ranked 3rd, two leptons and a photon; event 1: two jets only
EVENTS = ak.Array([
    [_obj(40, "jet"), _obj(200, "jet"), _obj(90, "bjet"), _obj(150, "bjet"), _obj(60, "muon", 0.1),
     _obj(80, "electron", 0.0), _obj(35, "photon", 0.0)],
    [_obj(120, "jet"), _obj(70, "jet"), _obj(50, "muon", 0.1)],
])


def _kinds_by_pt(objects: ak.Array) -> list[list[tuple[float, str]]]:
    return [sorted(((o["pt"], o["kind"]) for o in ev), reverse=True) for ev in objects.to_list()]


def test_jets_beyond_the_second_become_photons_or_bjets() -> None:
    photons = alter_objects(EVENTS, "jets_to_photons")
    assert _kinds_by_pt(photons)[0] == [(200, "jet"), (150, "bjet"), (90, "photon"), (80, "electron"),
                                        (60, "muon"), (40, "photon"), (35, "photon")]
    assert sorted(o["mass"] for o in photons[0].to_list() if o["pt"] in (90, 40)) == [0.0, 0.0]
    bjets = alter_objects(EVENTS, "jets_to_bjets")
    assert _kinds_by_pt(bjets)[0] == [(200, "jet"), (150, "bjet"), (90, "bjet"), (80, "electron"),
                                      (60, "muon"), (40, "bjet"), (35, "photon")]
    for altered in (photons, bjets):  # kinematics kept; a two-jet event is untouched
        assert ak.all(altered.pt == EVENTS.pt) and ak.all(altered.eta == EVENTS.eta)
        assert altered[1].to_list() == EVENTS[1].to_list()


def test_two_jets_and_one_lepton_kept() -> None:
    kept = alter_objects(EVENTS, "two_jets_one_lepton")
    assert _kinds_by_pt(kept) == [[(200, "jet"), (150, "bjet"), (80, "electron")],
                                  [(120, "jet"), (70, "jet"), (50, "muon")]]


def test_artificial_anomaly_rmms_differ_only_where_changed(events) -> None:
    objects, met_pt, met_phi = events
    objects, met_pt, met_phi = objects[:200], met_pt[:200], met_phi[:200]
    original = flatten_rmm(compute_rmm(objects, met_pt, met_phi))
    anomalies = artificial_anomalies(objects, met_pt, met_phi)
    assert list(anomalies) == list(ANOMALY_NAMES)
    n_jets = np.asarray(ak.sum((objects.kind == "jet") | (objects.kind == "bjet"), axis=1))
    for name in ANOMALY_NAMES:
        assert anomalies[name].shape == (200, 1287) and anomalies[name].dtype == np.float32
    changed = {name: (rows != original).any(axis=1) for name, rows in anomalies.items()}
    np.testing.assert_array_equal(changed["jets_to_photons"], n_jets > 2)
    assert not (changed["jets_to_bjets"] & (n_jets <= 2)).any() and changed["jets_to_bjets"].sum() > 0.8 * (n_jets > 2).sum()


def test_anomalies_of_real_nanoaod_objects() -> None:
    """Objects from the lepton processor on a CMS NanoAOD ttbar file (all events, not preselected)."""
    from adsearch.processors.lepton import selected_objects
    from adsearch.processors.reading import open_events

    shared = Path(__file__).resolve().parents[2] / "data" / "real"
    objects, met_pt, met_phi = selected_objects(open_events(shared / "nano_tt_v15.root"), preselected=False)
    is_jet = (objects.kind == "jet") | (objects.kind == "bjet")
    extra_jets = np.maximum(np.asarray(ak.sum(is_jet, axis=1)) - 2, 0)
    assert extra_jets.sum() > 50  # ttbar: plenty of third and fourth jets
    photons = alter_objects(objects, "jets_to_photons")
    n_photons = lambda o: np.asarray(ak.sum(o.kind == "photon", axis=1))  # noqa: E731
    np.testing.assert_array_equal(n_photons(photons), n_photons(objects) + extra_jets)
    original = flatten_rmm(compute_rmm(objects, met_pt, met_phi))
    rows = artificial_anomalies(objects, met_pt, met_phi)["jets_to_photons"]
    np.testing.assert_array_equal((rows != original).any(axis=1), extra_jets > 0)


def test_photon_and_bjet_anomalies_score_higher(trained_model, heldout_events) -> None:
    report = {r.name: r for r in anomaly_score_report(trained_model, *heldout_events)}
    assert list(report) == list(ANOMALY_NAMES)
    for name in ("jets_to_photons", "jets_to_bjets"):
        r = report[name]
        assert r.n_changed > 0.3 * r.n_events
        assert r.median_altered > r.median_original and r.mean_shift > 0
        assert r.fraction_higher > 0.75, r


def test_report_table_lists_every_anomaly(trained_model, heldout_events) -> None:
    from adsearch.searches.autoencoder.probes import format_anomaly_report

    objects, met_pt, met_phi = (x[:100] for x in heldout_events)
    table = format_anomaly_report(anomaly_score_report(trained_model, objects, met_pt, met_phi))
    assert table.count("\n") == 1 + len(ANOMALY_NAMES)
    for description in ANOMALY_NAMES.values():
        assert description in table


def test_anomalies_report_on_a_root_file(tmp_path, trained_model) -> None:
    real = Path(__file__).resolve().parents[2] / "data" / "real" / "nano_tt_v15.root"
    out = tmp_path / "anomalies.json"
    from adsearch.searches.autoencoder.cli import ae

    result = CliRunner().invoke(ae, ["anomalies", "--model", str(trained_model), "--input", str(real),
                                     "--all-events", "--json", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "(a) jets beyond the second -> photons" in result.output
    rows = {r["name"]: r for r in json.loads(out.read_text())["anomalies"]}
    assert rows["jets_to_photons"]["n_events"] == 200 and rows["jets_to_photons"]["n_changed"] > 50
