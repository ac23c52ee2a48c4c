"""README's first command, shrunk: `adsearch demo` end to end on the embedded cluster, run from a
relative output folder (a relative --out once made the generated fileset resolve twice)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from adsearch.cli import cli


def test_demo_runs_end_to_end_from_a_relative_out_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("demo.yaml").write_text(yaml.safe_dump({
        "background_events": 1500,
        "signals": {"lq_1500": {"events": 300, "inject_xsec_pb": 5.0}},
        "inject": "lq_1500",
        "autoencoder": {"train_fraction": 1.0, "n_retrains": 2, "max_epochs": 3, "patience": 2},
        "search": {"n_pseudo": 200, "region_xsec_pb": [100.0, 20.0], "min_events_for_fit": 20,
                   "limit_spectra": ["je"], "limit_widths": [0.15], "limit_mass_spacing": 0.3},
    }))
    result = CliRunner().invoke(cli, ["demo", "--out", "out", "--config", "demo.yaml"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(Path("out/demo_summary.json").read_text())
    assert summary["injected"]["lq_1500"] > 0
    assert summary["n_background_preselected"] > 100
    for search in ("search_background_only", "search_injected"):
        results = json.loads(Path(f"out/{search}/results.json").read_text())
        assert len(results["spectra"]) == 2 * 9
        assert (Path("out") / search / "plots" / "anomaly_scores.png").is_file()
    fileset = yaml.safe_load(Path("out/fileset.yaml").read_text())
    assert all(Path(f).is_absolute() for d in fileset.values() for f in d["files"])
    # a rerun resumes: nothing is regenerated and the trained model is reused
    rerun = CliRunner().invoke(cli, ["demo", "--out", "out", "--config", "demo.yaml"], catch_exceptions=False)
    assert rerun.exit_code == 0, rerun.output
    assert "reusing the trained model" in rerun.output
