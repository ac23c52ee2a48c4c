"""One consistent CLI: every command's Python twin is importable from its package and shows its
use in a docstring example; the modules of the run/report layer run their examples as doctests;
adsearch errors exit 1 with one line, usage errors 2."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adsearch.cli import cli

#: command -> (package a user looks in, the twin's name)
TWINS = {
    "generate": ("adsearch.generator", "generate_sample"),
    "process": ("adsearch.processors", "run_processor"),
    "ae train": ("adsearch.models", "train_autoencoder"),
    "ae score": ("adsearch.models", "score_events"),
    "ae search": ("adsearch.searches.autoencoder", "run_ae_search"),
    "cwola run": ("adsearch.searches.cwola", "cwola_hunt"),
    "weak run": ("adsearch.searches.weak", "weak_search"),
    "hx run": ("adsearch.searches.hx", "hx_search"),
    "run": ("adsearch.runner", "run_search"),
    "report": ("adsearch.report", "make_report"),
    "demo": ("adsearch.demo", "run_demo"),
}


@pytest.mark.parametrize("command", sorted(TWINS))
def test_every_command_has_an_exported_twin_with_an_example(command: str) -> None:
    package, name = TWINS[command]
    module = importlib.import_module(package)
    twin = getattr(module, name)
    assert name in module.__all__, f"{package}.__all__ lacks {name}"
    assert callable(twin) and twin.__doc__ and ">>>" in twin.__doc__, name
    result = CliRunner().invoke(cli, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("module", ["adsearch.config", "adsearch.runner", "adsearch.runner_config", "adsearch.report.records",
                                    "adsearch.report.histograms", "adsearch.stats.plots", "adsearch.demo",
                                    "adsearch.cluster_options"])
def test_docstring_examples_run(module: str) -> None:
    failures, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the ``adsearch`` entry point in this process: (exit code, stderr)."""
    from adsearch.cli import main

    monkeypatch.setattr(sys, "argv", ["adsearch", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0), capsys.readouterr().err


def test_exit_codes_and_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _main(monkeypatch, capsys, "report", "--search", "cwola", "--results", str(tmp_path), "--out",
                      str(tmp_path / "r"))
    assert code == 1 and err.strip().count("\n") == 0 and "results.json" in err and "Traceback" not in err
    code, _ = _main(monkeypatch, capsys, "report", "--search", "nope")
    assert code == 2
    # and the installed script is that entry point
    script = subprocess.run([str(Path(sys.executable).with_name("adsearch")), "run", "--only", "nothing", "x.yaml"],
                            capture_output=True, text=True, timeout=120)
    assert script.returncode == 2
