"""Reading layer: fileset specs, schemas (NanoAOD, v15, PHYSLITE), the common object model."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from adsearch.errors import BadInputError, ConfigError
from adsearch.processors.objects import ObjectReader
from adsearch.processors.reading import InputFile, check_input_file, load_fileset


def test_fileset_yaml_list_mapping_glob_and_sidecar(tmp_path: Path, make_nano) -> None:
    for i in range(2):
        make_nano(tmp_path / "data" / f"f{i}.root", 10, seed=i)
        (tmp_path / "data" / f"f{i}.json").write_text(json.dumps(
            {"cross_section_pb": 1.0 + i, "sample_cross_section_pb": 2.5, "equivalent_lumi_pb": 1500.0}))
    spec = tmp_path / "fileset.yaml"
    spec.write_text(
        "bkg: [data/f*.root]\n"
        "sig:\n  files: {data/f0.root: Events}\n  metadata: {xsec_pb: 0.1}\n"
    )
    datasets = {d.name: d for d in load_fileset(spec)}
    assert [Path(f.path).name for f in datasets["bkg"].files] == ["f0.root", "f1.root"]
    assert datasets["bkg"].metadata == {"xsec_pb": 2.5, "luminosity_pb": 1500.0}  # sample-level values
    assert datasets["bkg"].files[1].sidecar["cross_section_pb"] == 2.0
    assert datasets["sig"].metadata["xsec_pb"] == 0.1  # explicit metadata wins over the sidecar
    assert datasets["bkg"].schema == "nanoaod"


def test_fileset_directory_one_dataset_per_subdirectory(tmp_path: Path, make_nano) -> None:
    make_nano(tmp_path / "a" / "x.root", 5, seed=1)
    make_nano(tmp_path / "b" / "y.root", 5, seed=2)
    assert [d.name for d in load_fileset(tmp_path)] == ["a", "b"]
    assert [d.name for d in load_fileset(tmp_path / "a")] == ["a"]


def test_fileset_directory_given_as_a_relative_path(tmp_path: Path, make_nano, monkeypatch) -> None:
    """`adsearch process --fileset samples` from the folder holding samples/ (the README's commands)."""
    make_nano(tmp_path / "samples" / "a" / "x.root", 5, seed=1)
    monkeypatch.chdir(tmp_path)
    (dataset,) = load_fileset("samples")
    assert [Path(f.path).resolve() for f in dataset.files] == [(tmp_path / "samples" / "a" / "x.root").resolve()]
    assert Path(dataset.files[0].path).is_file()


def test_fileset_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_fileset(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="matches no file"):
        load_fileset({"d": ["/nonexistent/*.root"]})
    with pytest.raises(ConfigError, match="unknown keys"):
        load_fileset({"d": {"files": ["a.root"], "xsec": 1}})
    with pytest.raises(ConfigError, match="dataset name"):
        load_fileset({"a/b": ["a.root"]})


def test_schema_detection_on_real_files(real_data: Path) -> None:
    datasets = load_fileset({"dy": [str(real_data / "nano_dy.root")], "atlas": [str(real_data / "PHYSLITE_example.root")]})
    assert [d.schema for d in datasets] == ["nanoaod", "physlite"]


def test_nanoaod_objects_match_raw_branches(real_file) -> None:
    tree, events = real_file("nano_dy")
    reader = ObjectReader(events)
    raw = tree.arrays(["Jet_pt", "MET_pt", "FatJet_tau2", "FatJet_mass", "Jet_btagDeepFlavB"])
    jets = reader.jets()
    assert ak.all(jets.pt == raw["Jet_pt"])
    assert ak.all(jets.btag == (raw["Jet_btagDeepFlavB"] > reader.btag_threshold))
    met_pt, _ = reader.met()
    np.testing.assert_array_equal(met_pt, np.asarray(raw["MET_pt"], dtype=np.float64))



def test_nanoaod_v15_met_from_pfmet(real_file) -> None:
    tree, events = real_file("nano_tt_v15")
    reader = ObjectReader(events)
    raw = tree.arrays(["PFMET_pt", "PuppiMET_pt"])
    met_pt, _ = reader.met()
    np.testing.assert_allclose(met_pt, raw["PFMET_pt"])
    puppi, _ = reader.met(("PuppiMET",))
    np.testing.assert_allclose(puppi, raw["PuppiMET_pt"])
    assert ak.all(ak.num(reader.photons().mass) == ak.num(reader.photons().pt))  # v15 photons lack mass


def test_large_r_tau2_is_the_branch_not_vector_proper_time(real_file) -> None:
    tree, events = real_file("nano_tt_v15")
    raw = tree.arrays(["FatJet_tau2", "FatJet_mass"])
    fat = ObjectReader(events).large_r_jets()
    tau2 = ak.to_numpy(ak.flatten(fat.tau2))
    assert tau2.size > 10
    np.testing.assert_array_equal(tau2, ak.to_numpy(ak.flatten(raw["FatJet_tau2"])))
    assert not np.allclose(tau2, ak.to_numpy(ak.flatten(raw["FatJet_mass"])) ** 2)


def test_physlite_objects_in_gev(real_file) -> None:
    _tree, events = real_file("PHYSLITE_example")
    reader = ObjectReader(events)
    assert reader.kind == "physlite"
    jets = reader.jets()
    assert ak.all(np.isclose(jets.pt, events.Jets.pt / 1000.0))
    electrons = reader.electrons()
    assert ak.all(np.isclose(electrons.mass, events.Electrons.m / 1000.0))
    fat = reader.large_r_jets()
    assert ak.all(np.isclose(fat.pt, events.LargeRJets.pt / 1000.0))
    assert ak.all(fat.tau2 == events.LargeRJets.Tau2_wta)
    met_pt, met_phi = reader.met()
    assert met_pt.shape == (len(events),) and 1.0 < np.median(met_pt) < 500.0  # GeV, not MeV
    ids = reader.event_ids()
    np.testing.assert_array_equal(ids["event"], np.asarray(events.EventInfo.eventNumber))


def test_check_input_file_reports_problems(tmp_path: Path, make_nano) -> None:
    good = make_nano(tmp_path / "good.root", 20, seed=3)
    info = check_input_file(InputFile(str(good)), (("Jet_pt",), ("MET_pt", "PFMET_pt")))
    assert info["n_entries"] == 20 and info["size_bytes"] > 0 and len(info["root_uuid"]) == 36
    with pytest.raises(BadInputError, match="does not exist"):
        check_input_file(InputFile(str(tmp_path / "missing.root")))
    no_muon_id = make_nano(tmp_path / "nomu.root", 5, seed=1, drop=("Muon_tightId",))
    with pytest.raises(BadInputError, match="missing branches: Muon_tightId"):
        check_input_file(InputFile(str(no_muon_id)), (("Muon_tightId",),))
    with pytest.raises(BadInputError, match="empty"):
        check_input_file(InputFile(str(make_nano(tmp_path / "empty.root", 0, seed=1))))
    corrupt = tmp_path / "corrupt.root"
    corrupt.write_bytes(b"not a root file" * 100)
    with pytest.raises(BadInputError, match="not a readable ROOT file"):
        check_input_file(InputFile(str(corrupt)))


def test_sidecar_values_the_files_disagree_on_stay_with_the_files(tmp_path: Path, make_nano) -> None:
    """Two samples in one dataset: their sample-level values differ, so none is lifted."""
    for i, xsec in enumerate((2.5, 7.0)):
        make_nano(tmp_path / f"s{i}.root", 10, seed=i)
        (tmp_path / f"s{i}.json").write_text(json.dumps({"sample_cross_section_pb": xsec, "equivalent_lumi_pb": 1500.0}))
    (dataset,) = load_fileset({"mixed": [str(tmp_path / "s0.root"), str(tmp_path / "s1.root")]})
    assert dataset.metadata == {"luminosity_pb": 1500.0}  # agreed on: lifted; the cross sections: not
    assert [f.sidecar["sample_cross_section_pb"] for f in dataset.files] == [2.5, 7.0]
