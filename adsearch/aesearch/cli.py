"""``adsearch ae search``, attached to the model workers' ``ae`` group (train, score)."""

from __future__ import annotations

from pathlib import Path

import click

from adsearch.models.cli import ae

__all__ = ["ae", "search"]


@click.command("search")
@click.option("--store", "store_path", required=True, type=click.Path(exists=True, file_okay=False),
              help="Scored feature store (after `adsearch ae score`).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Search config YAML (AESearchConfig); defaults reproduce the ATLAS settings.")
@click.option("--scheduler", default=None, help="tcp://host:port of a running Dask scheduler.")
@click.option("--workers", default=2, show_default=True, help="Workers of the embedded LocalCluster.")
@click.option("--local", is_flag=True, help="Run the statistics in this process, without Dask.")
def search(store_path: str, out_dir: str, config_path: str | None, scheduler: str | None, workers: int,
           local: bool) -> None:
    """Anomaly regions, nine mass spectra, fits, BumpHunter, Delta-Z and plots."""
    from adsearch.aesearch.config import AESearchConfig
    from adsearch.aesearch.pipeline import run_ae_search
    from adsearch.cluster import dask_client
    from adsearch.config import load_config

    config = load_config(AESearchConfig, config_path)
    if local:
        summary = run_ae_search(store_path, out_dir, config)
    else:
        with dask_client(scheduler, n_workers=workers) as client:
            summary = run_ae_search(store_path, out_dir, config, client=client)
    click.echo((Path(out_dir) / "summary.md").read_text())
    click.echo(f"largest global significance: {summary.max_global_z:.2f} sigma; outputs in {out_dir}")


ae.add_command(search)
