"""README's two fresh-machine commands are the contract with users and CI: keep them honest."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
readme_commands = runpy.run_path(str(ROOT / "scripts" / "readme_command.py"))["readme_commands"]


def test_readme_starts_with_two_commands_main_job_then_tests() -> None:
    commands = readme_commands()
    assert len(commands) >= 2
    assert "adsearch demo" in commands[0]
    assert "pytest" in commands[1]
    for command in commands[:2]:
        assert "\n" not in command, "each of the two commands must be a single line"
        assert "pip install" in command, "a fresh machine needs the install step"


def test_ci_runs_readme_test_command() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert "scripts/readme_command.py 2" in ci_script
    assert 'eval "$cmd"' in ci_script


def test_cli_lists_every_stage() -> None:
    from click.testing import CliRunner

    from adsearch.cli import cli

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for stage in ("generate", "process", "ae", "demo"):
        assert stage in result.output
