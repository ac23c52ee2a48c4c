"""``adsearch ae search``, attached to the model workers' ``ae`` group (train, score).

It shares the group's cluster options (:mod:`adsearch.cluster_options`): ``--cluster
local|tcp://..|tls://..|gateway[:URL]|htcondor|slurm``, ``--workers N``, ``--workers 0`` (in this process).
"""

from __future__ import annotations

from pathlib import Path

import click

from adsearch.cluster_spec import ClusterSpec

from adsearch.models.cli import _client, _with_cluster_options, ae, resolve_model_path

__all__ = ["ae", "search", "anomalies"]


@click.command("search")
@click.option("--store", "store_path", required=True, type=click.Path(exists=True, file_okay=False),
              help="Scored feature store (after `adsearch ae score`).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Search config YAML (AESearchConfig); defaults reproduce the ATLAS settings.")
@_with_cluster_options
def search(store_path: str, out_dir: str, config_path: str | None, cluster: ClusterSpec) -> None:
    """Anomaly regions, nine mass spectra, fits, BumpHunter, limits, Delta-Z and plots."""
    from adsearch.searches.autoencoder.config import AESearchConfig
    from adsearch.searches.autoencoder.pipeline import run_ae_search
    from adsearch.config import load_config

    config = load_config(AESearchConfig, config_path)
    with _client(cluster) as client:
        summary = run_ae_search(store_path, out_dir, config, client=client)
    click.echo((Path(out_dir) / "summary.md").read_text())
    click.echo(f"largest global significance: {summary.max_global_z:.2f} sigma; outputs in {out_dir}")


@click.command("anomalies")
@click.option("--model", "model", required=True, type=click.Path(exists=True),
              help="Training output folder or its autoencoder.keras file.")
@click.option("--input", "inputs", required=True, multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="ROOT file(s) of ordinary events (repeatable).")
@click.option("--all-events", is_flag=True, help="Use every event, not only those passing the lepton preselection.")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False), help="Also write the report here.")
def anomalies(model: str, inputs: tuple[str, ...], all_events: bool, json_path: str | None) -> None:
    """Score artificial anomalies (jets -> photons / b-jets, 2 jets + 1 lepton) against the originals."""
    from adsearch.searches.autoencoder.probes import anomaly_score_report, format_anomaly_report, objects_from_files
    from adsearch.provenance import write_json

    objects = objects_from_files(list(inputs), preselected=not all_events)
    report = anomaly_score_report(resolve_model_path(model), *objects)
    click.echo(format_anomaly_report(report))
    if json_path:
        write_json(json_path, {"model": str(resolve_model_path(model)), "inputs": list(inputs),
                               "anomalies": [r._asdict() for r in report]})


ae.add_command(search)
ae.add_command(anomalies)
