"""``adsearch hx run`` end to end: Pythia samples -> hx processor -> store -> VRNN -> grid hunt (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from adsearch.cli import cli
from adsearch.generator import generate_sample
from adsearch.processors.run import run_processor


@pytest.mark.slow
def test_hx_run_on_generated_samples(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    generate_sample("dijet", 3000, seed=31, out_dir=samples / "background", chunk_events=1500, pilot_events=500)
    generate_sample("dijet", 400, seed=32, out_dir=samples / "yxh_2000_100", signal="yxh_2000_100", pilot_events=500)
    store = tmp_path / "hx.zarr"
    run_processor("hx", samples, store, config={"hbb_score_min": 0.0}, n_workers=0, progress=False)
    config = tmp_path / "search.yaml"
    config.write_text(yaml.safe_dump({
        "signal_datasets": ["yxh_2000_100"], "inject_xsec_pb": {"yxh_2000_100": 20.0}, "n_pseudo": 200,
        "ensemble_folds": 3, "vrnn": {"epochs": 2, "hidden": 12, "feature": 12},
        "limits": {"signal": "yxh_2000_100", "xsec_pb": [5.0, 40.0], "regions": ["anomaly", "inclusive"]},
        "my_edges_gev": [float(x) for x in range(1300, 3301, 100)]}))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["hx", "run", str(store), "--out", str(out), "--config", str(config),
                                      "--workers", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["regions"]) == {"anomaly", "tau21", "inclusive"}
    assert saved["n_injected"]["yxh_2000_100"] > 0
    # the VRNN trained on both leading jets of every preselected data event (injected ones included)
    assert saved["n_injected_preselected"]["yxh_2000_100"] >= saved["n_injected"]["yxh_2000_100"]
    assert saved["vrnn"]["n_training_jets"] > 2 * saved["n_data"]
    assert all(n > saved["n_data"] for n in saved["vrnn"]["n_train"])
    inclusive = saved["regions"]["inclusive"]
    assert inclusive["n_events"] == saved["n_data"]
    assert saved["regions"]["anomaly"]["n_events"] <= inclusive["n_events"]
    for name in ("scores", "significance_anomaly", "significance_tau21"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 10_000
    assert "anomaly" in (out / "summary.md").read_text()
    assert 0.0 <= saved["qcd_efficiency_at_cut"] <= 1.0
    # the injection scan reran the chain per point and region; sigma_excluded >= what was injected
    points = saved["limit_points"]
    assert {(p["region"], p["xsec_injected_pb"]) for p in points} == {(r, x) for r in ("anomaly", "inclusive")
                                                                      for x in (5.0, 40.0)}
    assert points[0]["n_injected"] < points[-1]["n_injected"]
    for p in points:
        if p["excluded_pb"] == p["excluded_pb"]:
            assert p["excluded_pb"] >= p["xsec_injected_pb"] and p["band_pb"][0] <= p["expected_pb"] <= p["band_pb"][3]
    assert set(saved["limits"]) == {"anomaly", "inclusive"}
    assert "Limits by injection" in (out / "summary.md").read_text()
