"""The autoencoder search's inputs from the store: anomaly scores and the nine masses per event.

Luminosity, cross-sections, weights and injection are the common ones
(:mod:`adsearch.searches.common.samples`); this module only names the columns the search reads
and insists that every event was scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adsearch.errors import AdsearchError
from adsearch.searches.common.samples import (
    dataset_luminosity_ipb, dataset_n_generated, dataset_xsec_pb, injection_rows,
)
from adsearch.models.retrains import RETRAIN_SCORE_PREFIX  # the kept retrains' scores (retraining systematic)
from adsearch.store import FeatureStore

__all__ = ["SampleColumns", "dataset_luminosity_ipb", "dataset_xsec_pb", "dataset_n_generated",
           "load_columns", "inject_signal"]

SCORE_COLUMN = "ae_score"


@dataclass
class SampleColumns:
    """Scores and the nine masses of one sample (rows = preselected events)."""

    name: str
    scores: np.ndarray
    masses: dict[str, np.ndarray]
    injected: np.ndarray  # True for signal events injected into the data
    retrain_scores: np.ndarray | None = None  # (n, K) scores of the kept retrains, when stored

    @property
    def n_events(self) -> int:
        return int(self.scores.size)


def load_columns(store: FeatureStore, dataset: str, mass_columns: dict[str, str]) -> SampleColumns:
    """Scores and masses of every event of ``dataset``; a clear error when it was not scored."""
    if SCORE_COLUMN not in store.columns(dataset):
        raise AdsearchError(f"dataset {dataset!r} has no {SCORE_COLUMN!r} column: run `adsearch ae score` first")
    cols = store.read(dataset, [SCORE_COLUMN, *mass_columns.values()])
    masses = {label: cols[col].astype(np.float64) for label, col in mass_columns.items()}
    scores = cols[SCORE_COLUMN].astype(np.float64)
    n_unscored = int(np.count_nonzero(~np.isfinite(scores)))
    if n_unscored:
        raise AdsearchError(
            f"dataset {dataset!r}: {n_unscored} of {scores.size} events have no anomaly score (their RMM "
            "was not stored); the search needs every event scored: process with --rmm-fraction 1"
        )
    retrain_cols = sorted(c for c in store.columns(dataset) if c.startswith(RETRAIN_SCORE_PREFIX))
    retrain = None
    if retrain_cols:
        read = store.read(dataset, retrain_cols)
        retrain = np.stack([read[c].astype(np.float64) for c in retrain_cols], axis=1)
    return SampleColumns(dataset, scores, masses, np.zeros(scores.size, bool), retrain)


def inject_signal(data: SampleColumns, signal: SampleColumns, n_inject: int, seed: int) -> SampleColumns:
    """Data plus ``n_inject`` randomly chosen (seeded) signal events, flagged as injected."""
    pick = injection_rows(signal.n_events, n_inject, seed, signal.name)
    return SampleColumns(
        data.name,
        np.concatenate([data.scores, signal.scores[pick]]),
        {k: np.concatenate([v, signal.masses[k][pick]]) for k, v in data.masses.items()},
        np.concatenate([data.injected, np.ones(n_inject, bool)]),
        None if data.retrain_scores is None or signal.retrain_scores is None
        or signal.retrain_scores.shape[1] != data.retrain_scores.shape[1]
        else np.concatenate([data.retrain_scores, signal.retrain_scores[pick]]),
    )
