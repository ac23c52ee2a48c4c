"""``adsearch ae``: train and score the RMM autoencoder (thin shell over the library).

``train`` calls :func:`adsearch.models.train_autoencoder`, ``score`` calls
:func:`adsearch.models.score_events`. The search stage lives above the models: the search
layer imports this group and attaches ``search`` with ``ae.add_command`` (data flows one way,
so this module never imports the search layer).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from adsearch.cluster_options import cluster_options

__all__ = ["ae", "resolve_model_path"]


@click.group("ae")
def ae() -> None:
    """Autoencoder search: train the RMM autoencoder, score events, probe it, search."""


# _client, _with_cluster_options and resolve_model_path are shared with adsearch.searches.autoencoder.cli (search, anomalies): keep their names.
def _client(cluster: Any) -> Any:
    """A Dask client for ``--cluster`` (context manager), or None for ``--workers 0``."""
    from adsearch.cluster import cluster_client

    return cluster_client(cluster)


def resolve_model_path(model: str | Path) -> Path:
    """``--model`` may name the training output folder or the ``.keras`` file itself."""
    from adsearch.models.training import MODEL_FILENAME

    path = Path(model)
    return path / MODEL_FILENAME if path.is_dir() else path


_with_cluster_options = cluster_options


@ae.command("train")
@click.option("--store", "store_path", required=True, type=click.Path(exists=True, file_okay=False), help="Feature store.")
@click.option("--dataset", default=None, help="Dataset to train on (default: the store's only dataset).")
@click.option("--config", "config_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="AutoencoderConfig YAML (defaults reproduce the paper except n_retrains).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder for the model.")
@_with_cluster_options
def train(store_path: str, dataset: str | None, config_path: str | None, out_dir: str,
          cluster: Any) -> None:
    """Train N retrains as Dask tasks and keep the median-validation-loss model."""
    from adsearch.config import load_config
    from adsearch.models.autoencoder import AutoencoderConfig
    from adsearch.models.training import train_autoencoder

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = load_config(AutoencoderConfig, config_path)
    with _client(cluster) as client:
        trained = train_autoencoder(store_path, config, out_dir, dataset=dataset, client=client)
    losses = ", ".join(f"{v:.4g}" for v in trained.val_losses)
    click.echo(f"trained {len(trained.val_losses)} retrains on {trained.n_rows} rows in {trained.seconds:.0f} s; "
               f"val losses [{losses}]; kept #{trained.chosen_index} (median)")
    click.echo(f"model: {trained.model_path}\nrecord: {trained.sidecar_path}")


@ae.command("score")
@click.option("--store", "store_path", required=True, type=click.Path(exists=True, file_okay=False), help="Feature store.")
@click.option("--model", "model", required=True, type=click.Path(exists=True),
              help="Training output folder or its autoencoder.keras file.")
@click.option("--dataset", "datasets", multiple=True, help="Dataset(s) to score (repeatable; default: all).")
@click.option("--in-place", is_flag=True, help="Add the score columns to the input store itself.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Copy the store to OUT/<store name> and score the copy (the input stays untouched).")
@_with_cluster_options
def score(store_path: str, model: str, datasets: tuple[str, ...], in_place: bool, out_dir: str | None,
          cluster: Any) -> None:
    """Write ae_score = ln(mean squared reconstruction error) for every event with an RMM.

    The scores are new columns of a store: of the input store with --in-place, or of a copy in --out.
    """
    import shutil

    from adsearch.models.scoring import score_events

    if in_place == (out_dir is not None):
        raise click.UsageError("ae score writes score columns into a store: pass --in-place (the input store) "
                               "or --out DIR (a copy), one of the two")
    if out_dir is not None:
        target = Path(out_dir) / Path(store_path).name
        if target.exists():
            raise click.UsageError(f"{target} exists: choose another --out or use --in-place on it")
        shutil.copytree(store_path, target)
        store_path = str(target)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with _client(cluster) as client:
        summaries = score_events(store_path, resolve_model_path(model), list(datasets) or None, client=client)
    for s in summaries:
        click.echo(f"{s.dataset}: {s.n_scored}/{s.n_events} events scored in {s.seconds:.1f} s "
                   f"({s.events_per_s:.0f} events/s); RMM on disk {s.rmm_bytes_per_event:.0f} B/event "
                   f"(dense {s.dense_bytes_per_event} B)")
