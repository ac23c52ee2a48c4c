"""Keras training workers: the RMM autoencoder (train, score, artificial anomalies).

Importing this package does not import TensorFlow; each worker process imports it on its
first task (:mod:`adsearch.models.runtime`).
"""

from __future__ import annotations

from adsearch.models.autoencoder import (
    LAYER_WIDTHS,
    RMM_WIDTH,
    AutoencoderConfig,
    build_autoencoder,
    check_rmm_rows,
    flops_per_event,
    n_parameters,
)
from adsearch.models.scoring import SCORE_COLUMN, ScoreSummary, Scorer, load_scorer, score_events, score_rows
from adsearch.models.training import (
    RetrainResult,
    TrainedAutoencoder,
    median_index,
    train_autoencoder,
    train_on_rows,
)

__all__ = [
    "LAYER_WIDTHS",
    "RMM_WIDTH",
    "SCORE_COLUMN",
    "AutoencoderConfig",
    "RetrainResult",
    "ScoreSummary",
    "Scorer",
    "TrainedAutoencoder",
    "build_autoencoder",
    "check_rmm_rows",
    "flops_per_event",
    "load_scorer",
    "median_index",
    "n_parameters",
    "score_events",
    "score_rows",
    "train_autoencoder",
    "train_on_rows",
]
