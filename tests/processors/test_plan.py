"""A quick first pass (max_files / coffea's maxchunks) and the --dry-run plan of a whole run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from adsearch.processors.cli import process
from adsearch.processors.plan import plan_processing
from adsearch.processors.run import run_processor
from adsearch.store import open_store

CHUNK = 1000


def test_plan_counts_the_units_coffea_runs(nano_files, tmp_path: Path) -> None:
    fileset = {"bkg": [str(f) for f in nano_files]}
    full = plan_processing("lepton", fileset, chunksize=CHUNK, n_workers=1)
    assert (full.n_files, full.n_units, full.n_events) == (3, 6, 6000)
    assert full.unit_fixed_s > 0 and full.s_per_event >= 0 and full.check_s_per_file > 0
    # the input check is spread over the workers: 3 files on 1 worker, then one file each
    assert full.check_wall_s == 3 * full.check_s_per_file
    assert replace(full, n_workers=100).check_wall_s == full.check_s_per_file
    # more workers: shorter, but never below one unit's time
    walls = [replace(full, n_workers=n).estimated_wall_s for n in (1, 2, 100)]
    assert walls[0] > walls[1] > walls[2] >= 0.99 * (full.unit_fixed_s + 1000 * full.s_per_event + full.check_s_per_file)

    first = plan_processing("lepton", fileset, chunksize=CHUNK, max_files=2, max_chunks=3)
    assert (first.n_files, first.n_units, first.n_events) == (2, 3, 3000)
    summary = run_processor("lepton", fileset, tmp_path / "first.zarr", n_workers=0, chunksize=CHUNK,
                            max_files=2, max_chunks=3, progress=False)
    assert summary.n_events_in == first.n_events == 3000
    attrs = open_store(tmp_path / "first.zarr").attrs("bkg")
    assert attrs["settings"]["max_chunks"] == 3 and len(attrs["units"]) == 3


def test_cli_dry_run_prints_units_events_and_wall_time(nano_files, tmp_path: Path) -> None:
    result = CliRunner().invoke(process, ["lepton", "--fileset", str(nano_files[0].parent), "--dry-run",
                                          "--workers", "8", "--chunksize", str(CHUNK), "--max-chunks", "4"])
    assert result.exit_code == 0, result.output
    assert "4 work units, 4,000 events" in result.output
    assert "estimated wall time on 8 workers" in result.output and "events/s per core" in result.output
    assert "ms per file" in result.output
    assert not list(tmp_path.iterdir())  # nothing written
