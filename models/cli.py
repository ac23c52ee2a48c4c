"""``adsearch ae``: train and score the RMM autoencoder (thin shell over the library).

``train`` calls :func:`adsearch.models.train_autoencoder`, ``score`` calls
:func:`adsearch.models.score_events`. The search stage lives above the models: the search
layer imports this group and attaches ``search`` with ``ae.add_command`` (data flows one way,
so this module never imports the search layer).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

__all__ = ["ae", "resolve_model_path"]


@click.group("ae")
def ae() -> None:
    """Autoencoder search: train the RMM autoencoder, score events, probe it, search."""


# _client, _with_cluster_options and resolve_model_path are shared with adsearch.searches.autoencoder.cli (search, anomalies): keep their names.
@contextlib.contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any | None]:
    """A Dask client (``--scheduler`` or an embedded cluster), or None for ``--workers 0``."""
    if scheduler is None and workers == 0:
        yield None
        return
    from adsearch.cluster import dask_client

    with dask_client(scheduler_address=scheduler, n_workers=max(workers, 1)) as client:
        yield client


def resolve_model_path(model: str | Path) -> Path:
    """``--model`` may name the training output folder or the ``.keras`` file itself."""
    from adsearch.models.training import MODEL_FILENAME

    path = Path(model)
    return path / MODEL_FILENAME if path.is_dir() else path


_cluster_options = [
    click.option("--scheduler", default=None, help="Dask scheduler address (tcp://host:port); default: embedded cluster."),
    click.option("--workers", default=2, show_default=True, type=click.IntRange(min=0),
                 help="Worker processes of the embedded cluster; 0 runs in this process without Dask."),
]


def _with_cluster_options(func: Any) -> Any:
    for option in reversed(_cluster_options):
        func = option(func)
    return func


@ae.command("train")
@click.option("--store", "store_path", required=True, type=click.Path(exists=True, file_okay=False), help="Feature store.")
@click.option("--dataset", default=None, help="Dataset to train on (default: the store's only dataset).")
@click.option("--config", "config_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="AutoencoderConfig YAML (defaults reproduce the paper except n_retrains).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder for the model.")
@_with_cluster_options
def train(store_path: str, dataset: str | None, config_path: str | None, out_dir: str,
          scheduler: str | None, workers: int) -> None:
    """Train N retrains as Dask tasks and keep the median-validation-loss model."""
    from adsearch.config import load_config
    from adsearch.models.autoencoder import AutoencoderConfig
    from adsearch.models.training import train_autoencoder

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = load_config(AutoencoderConfig, config_path)
    with _client(scheduler, workers) as client:
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
@_with_cluster_options
def score(store_path: str, model: str, datasets: tuple[str, ...], scheduler: str | None, workers: int) -> None:
    """Write ae_score = ln(mean squared reconstruction error) for every event with an RMM."""
    from adsearch.models.scoring import score_events

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with _client(scheduler, workers) as client:
        summaries = score_events(store_path, resolve_model_path(model), list(datasets) or None, client=client)
    for s in summaries:
        click.echo(f"{s.dataset}: {s.n_scored}/{s.n_events} events scored in {s.seconds:.1f} s "
                   f"({s.events_per_s:.0f} events/s); RMM on disk {s.rmm_bytes_per_event:.0f} B/event "
                   f"(dense {s.dense_bytes_per_event} B)")
