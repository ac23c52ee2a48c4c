"""``adsearch run CONFIG.yaml`` end to end on toy dijet ROOT files (real dijet processor, real
store, real CWoLa networks, the real report): every stage runs once, a rerun is all cached, a
changed search setting reruns only search and report, ``--from``/``--only`` rerun what they say."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from adsearch.cli import cli

_spec = importlib.util.spec_from_file_location(
    "cwola_toys", Path(__file__).parent / "searches" / "cwola" / "conftest.py")
toys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toys)  # type: ignore[union-attr]

SEARCH = {"signal_datasets": ["wprime_3000_400_80"], "searched_regions": [3], "efficiencies": [0.1],
          "classifier": {"k": 3, "n_members": 1, "max_epochs": 5, "patience": 2}}


def _invoke(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["run", *args, "--workers", "0", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _states(summary: dict) -> dict[str, str]:
    return {s["stage"]: s["state"] for s in summary["stages"]}


@pytest.fixture(scope="module")
def run_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runner")
    bkg = [toys.write_dijet_file(root / f"qcd_{i}.root", 6000, seed=i, first_event=100000 * i) for i in range(2)]
    sig = toys.write_dijet_file(root / "signal.root", 1000, seed=99, signal=True, first_event=10_000_000)
    (root / "fileset.yaml").write_text(yaml.safe_dump({
        "background": {"files": {p.name: "Events" for p in bkg}, "metadata": {"luminosity_pb": 100.0}},
        "wprime_3000_400_80": {"files": {sig.name: "Events"}, "metadata": {"xsec_pb": 1.0}}}))
    config = root / "cwola.yaml"
    config.write_text(yaml.safe_dump({"search": "cwola", "seed": 3, "fileset": "fileset.yaml",
                                      "process": {"options": {"progress": False}}, "search_config": SEARCH}))
    return config


def test_run_caches_each_stage_and_reruns_what_changed(run_config: Path) -> None:
    out = run_config.parent / "run"
    first = _invoke(str(run_config), "--out", str(out))
    assert _states(first) == {"generate": "ran", "process": "ran", "train": "not used", "score": "not used",
                              "search": "ran", "report": "ran"}
    assert (out / "report" / "search" / "index.html").is_file()
    report = json.loads((out / "report" / "search" / "report.json").read_text())
    assert {c for c in report["cutflows"]} == {"background", "wprime_3000_400_80"}
    # the run folder keeps the resolved config, versions, seeds and input checksums
    record = json.loads((out / "run.json").read_text())
    assert record["seed"] == 3 and record["versions"]["pyhf"] != "absent"
    assert any(k.endswith("qcd_0.root") and len(v) == 64 for k, v in record["inputs"].items())
    resolved = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert resolved["passes"] == {"search": {}} and resolved["fileset"].endswith("fileset.yaml")
    assert _states(_invoke(str(run_config), "--out", str(out)))["search"] == "cached"
    assert set(_states(_invoke(str(run_config), "--out", str(out), "--from", "report")).values()) >= {"cached", "ran"}
    assert _states(_invoke(str(run_config), "--out", str(out), "--only", "report"))["search"] == "cached"
    # a search setting changed: process stays cached, search and report rerun
    changed = yaml.safe_load(run_config.read_text())
    changed["search_config"]["efficiencies"] = [0.2]
    other = run_config.with_name("changed.yaml")
    other.write_text(yaml.safe_dump(changed))
    states = _states(_invoke(str(other), "--out", str(out)))
    assert (states["process"], states["search"], states["report"]) == ("cached", "ran", "ran")
    results = json.loads((out / "search" / "search" / "results.json").read_text())
    assert results["regions"][0]["efficiencies"] == [0.2]


def test_bad_run_config_is_one_line_naming_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from adsearch.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"search": "cwola", "store": "x.zarr", "search_config": {"efficiences": [0.1]}}))
    for args, expected in ((["run", str(bad)], 1), (["run", str(bad), "--only", "nothing"], 2)):
        monkeypatch.setattr(sys, "argv", ["adsearch", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code == expected
    err = capsys.readouterr().err
    first = err.split("Usage:")[0]
    assert "Traceback" not in err and first.strip().count("\n") == 0
    assert "efficiences: unknown key (did you mean 'efficiencies'?)" in first and str(bad) in first


@pytest.mark.parametrize("example", sorted(str(p.relative_to(Path(__file__).parents[1])) for p in
                                           [*Path(__file__).parents[1].glob("examples/*.yaml"),
                                            *Path(__file__).parents[1].glob("examples/*/run.yaml")]))
def test_every_example_run_config_validates(example: str) -> None:
    from adsearch.runner_config import load_run_config

    config, base = load_run_config(Path(__file__).parents[1] / example)
    assert config.passes and base.is_dir()
    if config.fileset:
        assert Path(config.fileset).is_file()  # resolved relative to the example


def test_examples_cover_every_search() -> None:
    import yaml as _yaml

    root = Path(__file__).parents[1] / "examples"
    searches = {_yaml.safe_load(p.read_text())["search"] for p in root.glob("*.yaml")}
    assert {"autoencoder", "cwola", "weak", "hx"} <= searches


@pytest.mark.parametrize(("code", "stale"), [("REPORT_CODE", {"report"}),
                                             ("SEARCH_CODE", {"search", "report"}),
                                             ("TRAIN_CODE", {"train", "score", "search", "report"})])
def test_code_change_makes_the_cached_stages_that_run_it_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                code: str, stale: set[str]) -> None:
    """A stage's key holds a hash of the code it runs: editing that code (same adsearch version)
    changes the key of that stage and of the stages after it, and nothing upstream."""
    import sys

    from adsearch import runner
    from adsearch.runner_config import RunConfig

    package = tmp_path / f"fake_{code.lower()}"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "figures.py").write_text("DPI = 150\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(runner, code, (*getattr(runner, code), package.name))
    (tmp_path / "in.zarr").mkdir()
    (tmp_path / "in.zarr" / "zarr.json").write_text("{}")
    config = RunConfig(search="autoencoder", store=str(tmp_path / "in.zarr"))

    def keys() -> dict[str, str]:
        run = runner._Run(config, tmp_path / "out", None, False, print)
        run.compute_keys()
        return run.keys

    before = keys()
    assert keys() == before  # deterministic
    (package / "figures.py").write_text("DPI = 300\n")
    after = keys()
    assert {k for k in after if after[k] != before[k]} == stale
    # the real code is in the keys too
    assert "adsearch.report" in runner.REPORT_CODE and runner.code_sha256(("adsearch.report",)) != \
        runner.code_sha256(("adsearch.stats.plots",))
    sys.modules.pop(package.name, None)
