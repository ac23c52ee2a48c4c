"""``adsearch ae search``, attached to the model workers' ``ae`` group (train, score).

It shares the group's cluster options: ``--scheduler tcp://...``, ``--workers N`` (embedded
LocalCluster), ``--workers 0`` (in this process).
"""

from __future__ import annotations

from pathlib import Path

import click

from adsearch.models.cli import _client, _with_cluster_options, ae

__all__ = ["ae", "search"]


@click.command("search")
@click.option("--store", "store_path", required=True, type=click.Path(exists=True, file_okay=False),
              help="Scored feature store (after `adsearch ae score`).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Search config YAML (AESearchConfig); defaults reproduce the ATLAS settings.")
@_with_cluster_options
def search(store_path: str, out_dir: str, config_path: str | None, scheduler: str | None, workers: int) -> None:
    """Anomaly regions, nine mass spectra, fits, BumpHunter, limits, Delta-Z and plots."""
    from adsearch.aesearch.config import AESearchConfig
    from adsearch.aesearch.pipeline import run_ae_search
    from adsearch.config import load_config

    config = load_config(AESearchConfig, config_path)
    with _client(scheduler, workers) as client:
        summary = run_ae_search(store_path, out_dir, config, client=client)
    click.echo((Path(out_dir) / "summary.md").read_text())
    click.echo(f"largest global significance: {summary.max_global_z:.2f} sigma; outputs in {out_dir}")


ae.add_command(search)
