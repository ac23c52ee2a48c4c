"""``adsearch generate --tune N --pythia-setting LINE``: a differently tuned sample (the weak
search's SALAD simulation) through the real CLI and Pythia, a few dozen events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import uproot
from click.testing import CliRunner

from adsearch.generator.cli import generate

SETTING = "TimeShower:alphaSvalue = 0.13"


def _run(out: Path, *extra: str) -> Path:
    result = CliRunner().invoke(generate, ["dijet", "--events", "30", "--seed", "3", "--chunk-events", "30",
                                           "--no-progress", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def _chunk(out: Path) -> tuple[dict, dict[str, np.ndarray]]:
    (sidecar,) = sorted(out.glob("qcd_dijet_s3_*.json"))
    with uproot.open(sidecar.with_suffix(".root")) as f:
        arrays = f["Events"].arrays(["nFatJet", "FatJet_mass", "FatJet_pt"], library="np")
    return json.loads(sidecar.read_text()), arrays


def test_tune_and_settings_reach_the_sidecar_and_change_the_events(tmp_path: Path) -> None:
    default = _run(tmp_path / "monash")
    tuned = _run(tmp_path / "tune5", "--tune", "5", "--pythia-setting", SETTING)
    side_d, ev_d = _chunk(default)
    side_t, ev_t = _chunk(tuned)
    # both lines are part of the chunk's Pythia settings, its identity (config hash) and the manifest
    assert side_t["settings"][-2:] == ["Tune:pp = 5", SETTING]
    assert not any(s.startswith(("Tune:pp", "TimeShower:alphaSvalue")) for s in side_d["settings"])
    assert side_t["chunk_config_hash"] != side_d["chunk_config_hash"]
    manifest = json.loads((tuned / "qcd_dijet_s3.sample.json").read_text())
    assert manifest["options"]["pythia_settings"] == ["Tune:pp = 5", SETTING]
    # same seed and chunk: only the tune and shower differ, and so do the jets
    assert side_t["pythia_seed"] == side_d["pythia_seed"] and side_t["n_events"] == side_d["n_events"] == 30
    masses_d = np.concatenate(list(ev_d["FatJet_mass"]))
    masses_t = np.concatenate(list(ev_t["FatJet_mass"]))
    assert masses_d.size != masses_t.size or not np.allclose(masses_d, masses_t)



def test_a_setting_pythia_rejects_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(generate, ["dijet", "--events", "5", "--seed", "3", "--no-progress",
                                           "--out", str(tmp_path / "bad"), "--pythia-setting", "TimeShower:noSuchKnob = 1"])
    assert result.exit_code != 0
    assert "Pythia rejected the setting 'TimeShower:noSuchKnob = 1'" in result.output
    assert "Traceback" not in result.output
