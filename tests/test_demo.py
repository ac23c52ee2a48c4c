"""README's first command: `adsearch demo` runs every available search (built-in run configs)
and ends with a short summary, not a results file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from adsearch.cli import cli
from adsearch.demo import DEMO_RUNS, DemoConfig, demo_run_configs
from adsearch.errors import ConfigError
from adsearch.runner import sample_folder
from adsearch.runner_config import SEARCHES, search_entry


def test_demo_covers_every_available_search_with_a_valid_config() -> None:
    runs = demo_run_configs()
    available = []
    for name in SEARCHES:
        try:
            search_entry(name)
            available.append(name)
        except ConfigError:
            pass
    assert set(runs) == set(available) & set(DEMO_RUNS) and {"autoencoder", "cwola", "weak", "hx"} <= set(runs)
    for name, run in runs.items():
        assert run.generate is not None, f"{name}: the demo generates its samples"
        injected = [p for p in run.passes.values() if p.get("inject_xsec_pb")]
        assert injected and len(run.passes) == 2, f"{name}: a background-only and an injected pass"
    # the dijet searches ask for the same QCD sample (settings and seed), so the sample cache holds it once
    qcd = {sample_folder("dijet", runs[n].generate.samples["background"], runs[n].seed
                         + list(runs[n].generate.samples).index("background"), Path("cache"))
           for n in ("cwola", "weak", "hx")}
    signal = {sample_folder("dijet", runs[n].generate.samples["wprime_3000_400_80"], runs[n].seed
                            + list(runs[n].generate.samples).index("wprime_3000_400_80"), Path("cache"))
              for n in ("cwola", "weak")}
    assert len(qcd) == 1 and len(signal) == 1
    with pytest.raises(ConfigError, match="did you mean 'events'"):
        demo_run_configs(DemoConfig(overrides={"cwola": {"generate": {"samples": {"background": {"evnts": 5}}}}}))


@pytest.mark.slow
def test_demo_runs_every_search_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tiny = {"pilot_events": 200}
    Path("demo.yaml").write_text(yaml.safe_dump({"overrides": {
        "autoencoder": {"generate": {"samples": {"background": {"events": 1500, "options": tiny},
                                                 "lq_1500": {"events": 300, "options": tiny},
                                                 "ssm_wprime_2000": {"events": 200, "options": tiny}}},
                        "train": {"train_fraction": 1.0, "n_retrains": 2, "max_epochs": 3, "patience": 2},
                        "search_config": {"n_pseudo": 200, "region_xsec_pb": [100.0, 20.0], "min_events_for_fit": 20,
                                          "limit_mass_spacing": 0.3}},
        "cwola": {"generate": {"samples": {"background": {"events": 3000, "options": tiny},
                                           "wprime_3000_400_80": {"events": 300, "options": tiny}}},
                  "search_config": {"classifier": {"k": 3, "max_epochs": 5}, "searched_regions": [2]}},
        "weak": {"generate": {"samples": {"background": {"events": 3000, "options": tiny},
                                          "simulation": {"events": 3000, "options": tiny},
                                          "wprime_3000_400_80": {"events": 300, "options": tiny}}},
                 "search_config": {"classifier": {"k": 3, "n_members": 1}}},
        "hx": {"generate": {"samples": {"background": {"events": 3000, "options": tiny},
                                        "yxh_3500_100": {"events": 300, "options": tiny}}},
               "search_config": {"n_pseudo": 200, "vrnn": {"epochs": 2, "hidden": 8, "feature": 8}}},
    }}))
    result = CliRunner().invoke(cli, ["demo", "--out", "out", "--config", "demo.yaml"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    tail = result.output[result.output.index("demo finished"):]
    assert len(tail.splitlines()) < 25 and "{" not in tail
    # CWoLa and weak share the QCD and signal samples (weak: only its simulation is new); hx its QCD
    assert len(list(Path("out/samples").iterdir())) == 3 + 2 + 1 + 1
    for name in demo_run_configs():
        assert (Path("out") / name / "report" / "index.html").is_file()
        record = json.loads((Path("out") / name / "run.json").read_text())
        assert {s["state"] for s in record["stages"]} <= {"ran", "not used"}
    rerun = CliRunner().invoke(cli, ["demo", "--out", "out", "--config", "demo.yaml", "--json"], catch_exceptions=False)
    runs = json.loads(rerun.stdout)["runs"]
    assert all(s["state"] in ("cached", "not used") for r in runs.values() for s in r["stages"])
