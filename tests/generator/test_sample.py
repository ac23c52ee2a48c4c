"""Files, sidecars, the SM mix, resume, reproducibility and argument errors of generate_sample."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from click.testing import CliRunner

from adsearch.errors import ConfigError
from adsearch.generator import GenerationSummary, generate_sample
from adsearch.generator.cli import generate

NANOAOD_BRANCHES = {
    "run": "uint32_t", "luminosityBlock": "uint32_t", "event": "uint64_t",
    "Jet_pt": "float[]", "Jet_eta": "float[]", "Jet_phi": "float[]", "Jet_mass": "float[]",
    "Jet_btagDeepFlavB": "float[]", "Jet_hadronFlavour": "int32_t[]",
    "FatJet_pt": "float[]", "FatJet_msoftdrop": "float[]", "FatJet_tau1": "float[]", "FatJet_tau4": "float[]",
    "Electron_charge": "int32_t[]", "Electron_cutBased": "int32_t[]", "Electron_pfRelIso03_all": "float[]",
    "Muon_tightId": "bool[]", "Muon_pfRelIso04_all": "float[]", "Photon_cutBased": "int32_t[]",
    "MET_pt": "float", "MET_phi": "float", "MET_sumEt": "float", "genWeight": "float",
    "truth_process_id": "int32_t", "truth_is_signal": "bool",
}


def test_files_have_nanoaod_branches_and_open_with_coffea(qcd_sample: GenerationSummary, qcd_events: ak.Array) -> None:
    assert len(qcd_sample.files) == 2
    with uproot.open(qcd_sample.files[0]) as handle:
        tree = handle["Events"]
        types = {name: tree[name].typename for name in NANOAOD_BRANCHES}
        assert tree["nJet"].typename in ("int32_t", "uint32_t")
    assert types == NANOAOD_BRANCHES
    assert len(qcd_events) == 300
    for collection in ("Jet", "FatJet", "Electron", "Muon", "Photon", "MET"):
        assert collection in qcd_events.fields
    assert ak.all(qcd_events.Jet.pt >= 20.0)
    assert ak.all(qcd_events.Jet.pt[:, :-1] >= qcd_events.Jet.pt[:, 1:]), "jets sorted by pT"
    assert np.unique(ak.to_numpy(qcd_events.event)).size == 300, "event numbers unique across chunks"
    leading = qcd_events.FatJet.pt[ak.num(qcd_events.FatJet) > 0][:, 0]
    assert np.mean(ak.to_numpy(leading) > 500.0) > 0.3, "pTHat > 400 GeV makes hard large-R jets"


def test_sidecars_record_cross_section_luminosity_and_provenance(qcd_sample: GenerationSummary) -> None:
    for path in qcd_sample.files:
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["cross_section_pb"] == pytest.approx(qcd_sample.cross_section_pb)
        assert sidecar["equivalent_lumi_pb"] == pytest.approx(300 / qcd_sample.cross_section_pb)
        assert sidecar["seed"] == 11 and sidecar["process"] == "qcd_dijet" and sidecar["n_events"] == 150
        assert sidecar["versions"]["pythia8mc"] != "absent"
        assert any(line.startswith("PhaseSpace:pTHatMin") for line in sidecar["settings"])
    assert 500.0 < qcd_sample.cross_section_pb < 10000.0, "QCD pTHat > 400 GeV is ~2 nb at LO"
    assert qcd_sample.manifest is not None and qcd_sample.manifest.is_file()


def test_signal_sidecar_has_its_cross_section(signal_sample: GenerationSummary, signal_events: ak.Array) -> None:
    sidecar = json.loads(signal_sample.files[0].with_suffix(".json").read_text())
    assert sidecar["is_signal"] and sidecar["params"] == {"m_a_gev": 3000.0, "m_b_gev": 400.0, "m_c_gev": 80.0}
    assert 1e-4 < sidecar["cross_section_pb"] < 1.0
    assert ak.all(signal_events.truth.is_signal) and ak.all(signal_events.truth.process_id == 101)


def test_lepton_mix_is_unweighted_and_proportional_to_cross_sections(lepton_sample: GenerationSummary,
                                                                   lepton_events: ak.Array) -> None:
    total_sigma = sum(p.cross_section_pb for p in lepton_sample.processes)
    assert sum(p.n_events for p in lepton_sample.processes) == 700 == len(lepton_events)
    for process in lepton_sample.processes:
        assert abs(process.n_events - 700 * process.cross_section_pb / total_sigma) <= 1.0
    assert lepton_sample.luminosity_pb == pytest.approx(700 / total_sigma)
    ids = ak.to_numpy(lepton_events.truth.process_id)
    assert set(np.unique(ids)) <= {11, 12, 13, 14} and np.count_nonzero(ids == 11) > np.count_nonzero(ids == 14)
    wjets = next(p for p in lepton_sample.processes if p.name == "wjets")
    assert np.count_nonzero(ids == 11) == wjets.n_events


def test_rerun_resumes_without_regenerating(qcd_sample: GenerationSummary) -> None:
    mtimes = [p.stat().st_mtime_ns for p in qcd_sample.files]
    again = generate_sample("dijet", 300, seed=11, out_dir=qcd_sample.out_dir, chunk_events=150, pilot_events=2000)
    assert (again.chunks_written, again.chunks_skipped) == (0, 2)
    assert [p.stat().st_mtime_ns for p in again.files] == mtimes
    with pytest.raises(ConfigError, match="different generator settings"):
        generate_sample("dijet", 300, seed=11, out_dir=qcd_sample.out_dir, chunk_events=150, pilot_events=2000,
                        pthat_min_gev=300.0)


def test_interrupted_chunk_is_regenerated_identically(tmp_path: Path) -> None:
    options = {"chunk_events": 20, "pilot_events": 500}
    first = generate_sample("dijet", 40, seed=8, out_dir=tmp_path, **options)
    before = _arrays(first.files)
    first.files[1].with_suffix(".json").unlink()  # as if killed between the rename and the sidecar
    (tmp_path / "qcd_dijet_s8_0001.root.tmp").write_bytes(b"partial")  # and a stale partial file
    again = generate_sample("dijet", 40, seed=8, out_dir=tmp_path, **options)
    assert (again.chunks_written, again.chunks_skipped) == (1, 1)
    after = _arrays(again.files)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert not list(tmp_path.glob("*.tmp"))


def _arrays(paths: list[Path]) -> dict[str, np.ndarray]:
    arrays = uproot.concatenate([f"{p}:Events" for p in paths], library="ak")
    return {name: ak.to_numpy(ak.flatten(arrays[name], axis=None)) for name in arrays.fields}


def test_same_seed_same_events_regardless_of_workers(tmp_path: Path) -> None:
    options = {"chunk_events": 40, "pilot_events": 500}
    serial = generate_sample("dijet", 80, seed=5, out_dir=tmp_path / "serial", **options)
    parallel = generate_sample("dijet", 80, seed=5, out_dir=tmp_path / "parallel", workers=2, **options)
    other = generate_sample("dijet", 40, seed=6, out_dir=tmp_path / "other", **options)
    first, second = _arrays(serial.files), _arrays(parallel.files)
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert not np.array_equal(_arrays(other.files)["Jet_pt"][:50], first["Jet_pt"][:50])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_events": -5}, "positive integer"),
        ({"n_events": 0}, "positive integer"),
        ({"signal": "zprime_42"}, "unknown signal"),
        ({"signal": "lq_1500"}, "belongs to the lepton sample"),
        ({"signal": "wprime_1000_600_600"}, "mB \\+ mC"),
        ({"seed": -1}, "seed"),
        ({"workers": 0}, "workers"),
        ({"pthat_min_gev": -10.0}, "pthat_min_gev"),
        ({"no_such_option": 1}, "no_such_option"),
        ({"lumi_pb": 1.0}, "not both"),
        ({"kind": "photon"}, "unknown sample kind"),
    ],
)
def test_bad_arguments_raise_config_error(tmp_path: Path, kwargs: dict, message: str) -> None:
    arguments = {"kind": "dijet", "n_events": 10, "seed": 1, "out_dir": tmp_path, **kwargs}
    with pytest.raises(ConfigError, match=message):
        generate_sample(**arguments)


def test_unwritable_output_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot be created or written"):
        generate_sample("dijet", 10, seed=1, out_dir=blocker / "out")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["dijet", "--events", "-3", "--seed", "1"], "--events"),
        (["dijet", "--events", "10", "--seed", "1", "--signal", "nonsense"], "unknown signal"),
        (["muon", "--events", "10", "--seed", "1"], "dijet"),
        (["dijet", "--seed", "1"], "--events"),
    ],
)
def test_cli_bad_arguments_exit_nonzero(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(generate, [*arguments, "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert message in result.output


def test_cli_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = CliRunner().invoke(generate, ["dijet", "--events", "5", "--seed", "1", "--out", str(blocker / "x")])
    assert result.exit_code != 0 and "cannot be created or written" in result.output


def test_fastjet_banner_is_off_once_the_generator_is_imported() -> None:
    """Every clustering process printed FastJet's 17-line banner (one per worker and sample);
    importing the generator's event module turns it off (the CLI prints the citation once)."""
    import subprocess
    import sys

    cluster = ("import fastjet, awkward as ak; a = ak.Array([[{'px': 1.0, 'py': 0.2, 'pz': 0.3, 'E': 2.0}]]); "
               "fastjet.ClusterSequence(a, fastjet.JetDefinition(fastjet.antikt_algorithm, 1.0)).inclusive_jets()")

    def output(code: str) -> str:
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
        return run.stdout + run.stderr

    assert "FastJet release" in output(cluster)  # the library's default
    assert "FastJet release" not in output("import adsearch.generator.events; " + cluster)
