"""Input errors as users meet them: one line each, and a run that processed nothing fails."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from adsearch.processors.cli import process

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def test_a_run_whose_files_were_all_skipped_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.root"
    bad.write_bytes(b"not a root file")
    fileset = tmp_path / "fs.json"
    fileset.write_text(json.dumps({"d": {"files": {str(bad): "Events"}}}))
    result = CliRunner().invoke(process, ["lepton", "--fileset", str(fileset), "--out", str(tmp_path / "s.zarr"),
                                          "--workers", "0", "--skip-bad-files"])
    assert result.exit_code != 0
    assert "every input file (1) was skipped" in result.output and "Traceback" not in result.output


def test_a_root_file_given_as_fileset_is_one_line(tmp_path: Path) -> None:
    """Through the installed entry point, as a user runs it (errors become one line there)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from adsearch.cli import main; main()", "process", "lepton", "--fileset",
         str(REAL / "nano_dy.root"), "--out", str(tmp_path / "s.zarr"), "--workers", "0"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    assert len(lines) == 1 and "is a ROOT file, not a fileset" in lines[0]
