"""``adsearch process {lepton,dijet}``: a thin shell over :func:`run_processor`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from adsearch.cli import progress_default
from adsearch.cluster import cluster_client
from adsearch.cluster_options import cluster_options
from adsearch.cluster_spec import ClusterSpec
from adsearch.processors.plan import plan_processing
from adsearch.processors.run import DEFAULT_CHUNKSIZE, PROCESSOR_KINDS, run_processor
from adsearch.processors.transfer import WRITE_MODES
from adsearch.store import DEFAULT_RMM_CODEC, RMM_CODECS

__all__ = ["process"]

_OPTIONS = (
    click.option("--fileset", required=True, type=click.Path(exists=True),
                 help="YAML/JSON fileset (dataset -> files or root://, https://, file:// URLs), or a directory."),
    click.option("--out", "out_store", default=None,
                 help="Zarr feature store to write: a folder or an fsspec URL (required unless --dry-run)."),
    click.option("--chunksize", default=DEFAULT_CHUNKSIZE, show_default=True, type=click.IntRange(1),
                 help="Events per work unit."),
    click.option("--skip-bad-files", is_flag=True, help="Skip unreadable/invalid files and record why in the store."),
    click.option("--config", "config_path", default=None, type=click.Path(exists=True),
                 help="YAML with selection cuts (keys of LeptonConfig / DijetConfig)."),
    click.option("--write-mode", default="auto", show_default=True, type=click.Choice(WRITE_MODES),
                 help="Who writes the store parts: the workers (shared disk or store URL), the client "
                      "(workers without a shared disk), or auto (probe)."),
    click.option("--max-files", default=None, type=click.IntRange(1), help="Only the first N files of each dataset."),
    click.option("--max-chunks", default=None, type=click.IntRange(1),
                 help="Only the first N work units of each dataset (coffea maxchunks): a quick first pass."),
    click.option("--dry-run", is_flag=True,
                 help="Print units, events and the estimated wall time on --workers workers; process nothing."),
)


#: the RMM exists only for the lepton processor: these options are shown (and accepted) there only
_RMM_OPTIONS = (
    click.option("--rmm-fraction", default=1.0, show_default=True, type=click.FloatRange(0, 1, min_open=True),
                 help="Store the RMM for this seeded random fraction of events only."),
    click.option("--seed", default=0, show_default=True, type=int, help="Seed of the RMM fraction sampling."),
    click.option("--rmm-codec", default=DEFAULT_RMM_CODEC, show_default=True, type=click.Choice(sorted(RMM_CODECS))),
)


def _with_options(func: Callable[..., Any], kind: str) -> Callable[..., Any]:
    func = cluster_options(func)
    for option in reversed((*_OPTIONS, *(_RMM_OPTIONS if kind == "lepton" else ()))):
        func = option(func)
    return func


@click.group("process")
def process() -> None:
    """Run a coffea processor over a fileset into a Zarr feature store."""


def _make_command(kind: str) -> None:
    def command(fileset: str, out_store: str | None, cluster: ClusterSpec, chunksize: int,
                skip_bad_files: bool, config_path: str | None, write_mode: str, max_files: int | None,
                max_chunks: int | None, dry_run: bool, rmm_fraction: float = 1.0, seed: int = 0,
                rmm_codec: str = DEFAULT_RMM_CODEC) -> None:
        limits = {"max_files": max_files, "max_chunks": max_chunks}
        if dry_run:
            plan = plan_processing(kind, fileset, config=config_path, n_workers=max(cluster.n_workers, 1), chunksize=chunksize,
                                   skip_bad_files=skip_bad_files, **limits)
            click.echo(plan.table())
            return
        if out_store is None:
            raise click.UsageError("--out is required (unless --dry-run)")
        with cluster_client(cluster) as client:
            summary = run_processor(kind, fileset, out_store, config=config_path, client=client,
                                    n_workers=cluster.n_workers, chunksize=chunksize, skip_bad_files=skip_bad_files,
                                    rmm_fraction=rmm_fraction, seed=seed, rmm_codec=rmm_codec,
                                    write_mode=write_mode, progress=progress_default(), **limits)
        click.echo(summary.table())
        for path, reason in summary.skipped_files.items():
            click.secho(f"skipped {path}: {reason}", fg="yellow", err=True)
        rate = summary.n_events_in / summary.wall_s if summary.wall_s > 0 else float("nan")
        click.echo(f"\n{summary.n_events_in} events in, {summary.n_events_out} stored in {summary.store} "
                   f"({summary.wall_s:.1f} s, {rate:,.0f} events/s; parts written by the {summary.write_mode})")
        if summary.skipped_files and sum(d.n_files for d in summary.datasets.values()) == 0:  # n_files: files kept
            raise click.ClickException(f"every input file ({len(summary.skipped_files)}) was skipped: nothing was processed")

    process.command(kind, help=f"Run the {kind} processor; print the cutflow of every dataset.")(_with_options(command, kind))


for _kind in PROCESSOR_KINDS:
    _make_command(_kind)
