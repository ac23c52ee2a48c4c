"""CWoLa hunting end to end through its CLI: toy dijet ROOT files -> dijet processor -> store ->
60 real TensorFlow networks -> selections -> 2020 fits -> significances, limits, plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from adsearch.cli import cli
from adsearch.store import open_store

SIGNAL = "wprime_3000_400_80"
CLASSIFIER = {"n_members": 1, "max_epochs": 40, "patience": 10}


def _run(store: Path, out: Path, config: dict, *extra: str) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(cli, ["cwola", "run", str(store), "--out", str(out), "--config",
                                      str(out / "config.yaml"), "--workers", "0", *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "largest fit-SR significance" in result.output
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def runs(dijet_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("cwola_runs")
    base = {"signal_datasets": [SIGNAL], "searched_regions": [2], "classifier": CLASSIFIER, "seed": 1}
    return {
        "null": _run(dijet_store, root / "null", base),
        "injected": _run(dijet_store, root / "inj", {**base, "inject_xsec_pb": {SIGNAL: 1.5},
                                                       "limits": {"signal": SIGNAL, "xsec_pb": [1.5], "n_samplings": 1}}),
        "validation": _run(dijet_store, root / "val", {**base, "efficiencies": [0.1]}, "--region", "validation"),
        "dirs": {"null": root / "null"},
    }


def _spectrum(result: dict, label: str) -> dict:
    return next(s for s in result["regions"][0]["spectra"] if s["label"] == label)


def test_selection_keeps_its_fraction_and_no_excess_without_signal(runs: dict) -> None:
    null = runs["null"]
    region = null["regions"][0]
    assert region["n_networks"] == 5 * 4 * 1 and region["n_injected_signal_region"] == 0
    n_all = sum(_spectrum(null, "no selection")["counts"])
    for cut in (0.1, 0.01):
        spectrum = _spectrum(null, f"efficiency {cut:g}")
        assert abs(sum(spectrum["counts"]) / n_all - cut) < 0.35 * cut  # ~cut of every fold, whole spectrum
        assert not spectrum["z"] >= 3.0  # below 3 sigma (or no acceptable fit: NaN)
    plots = sorted(p.name for p in (runs["dirs"]["null"] / "plots").iterdir())
    assert "efficiency_map_region2.png" in plots and "mjj_region2_efficiency_0.01.png" in plots


def test_injected_signal_is_selected_where_it_sits(runs: dict) -> None:
    inj = runs["injected"]
    region = inj["regions"][0]
    assert inj["n_injected"][SIGNAL] > 100 and region["n_injected_signal_region"] > 100
    eff = region["signal_efficiency"][SIGNAL]
    assert eff["0.01"] > 10 * 0.01 and eff["0.1"] > 3 * 0.1  # the networks learnt the signal
    edges = np.array(region["efficiency_map"]["m_edges_gev"])
    emap = np.array(region["efficiency_map"]["mean_efficiency"], dtype=float)
    emap[emap < 0] = np.nan
    i, j = np.unravel_index(np.nanargmin(emap), emap.shape)
    assert abs(edges[i] - 400) <= 100 and abs(edges[j] - 80) <= 60, (edges[i], edges[j])
    # the 10% selection raises the window's significance over the unselected spectrum and over the null
    # run (with 60k toy events the 1% spectra are too sparse for a fit to pass its sideband test reliably)
    z = {label: _spectrum(inj, label)["z"] for label in ("no selection", "efficiency 0.1")}
    assert z["efficiency 0.1"] > z["no selection"] and z["efficiency 0.1"] > _spectrum(runs["null"], "efficiency 0.1")["z"]
    limit = next(lim for lim in inj["limits"] if lim["efficiency"] == 0.1)
    point = limit["points"][0]
    assert point["excluded_pb"] == max(point["observed_pb"], 1.5) and limit["limit_pb"] == point["excluded_pb"]


def test_validation_region_uses_only_large_rapidity_gaps(runs: dict, dijet_store: Path) -> None:
    fs = open_store(dijet_store)
    flags = fs.read("background", ["is_validation"])["is_validation"]
    val = runs["validation"]
    assert val["region"] == "validation" and val["n_data"] == int(flags.sum())
    assert 0 < val["n_data"] < runs["null"]["n_data"]
