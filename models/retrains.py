"""Scores of the kept retrains: the input of the autoencoder-retraining systematic.

The paper's retraining uncertainty is the spread of the result over the retrains; training
keeps up to ``AutoencoderConfig.keep_retrains`` of them (spread over the validation-loss ranks,
in ``<model dir>/retrains/``) and this module scores every event with each, writing the columns
``ae_score_retrain_<index>`` beside ``ae_score``. The search selects each region with each
retrain's own scores and takes the spread of the resulting spectra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adsearch.models.scoring import ScoreSummary, score_events
from adsearch.models.training import RETRAINS_DIR
from adsearch.store import FeatureStore

__all__ = ["RETRAIN_SCORE_PREFIX", "retrain_model_paths", "score_retrains"]

#: Column prefix of the retrains' scores (the search reads every column with it).
RETRAIN_SCORE_PREFIX = "ae_score_retrain_"


def retrain_model_paths(model_dir: str | Path) -> dict[int, Path]:
    """retrain index -> saved model, for the retrains kept in ``model_dir``."""
    folder = Path(model_dir) / RETRAINS_DIR
    return {int(p.stem.rsplit("_", 1)[1]): p for p in sorted(folder.glob("retrain_*.keras"))}


def score_retrains(
    store: FeatureStore | str | Path, model_dir: str | Path, *, client: Any | None = None, **kwargs: Any
) -> list[ScoreSummary]:
    """Score every event with each kept retrain (columns ``ae_score_retrain_<index>``).

    >>> score_retrains("out/store.zarr", "out/autoencoder", client=client)  # doctest: +SKIP
    """
    out: list[ScoreSummary] = []
    for index, path in retrain_model_paths(model_dir).items():
        out += score_events(store, path, client=client, column=f"{RETRAIN_SCORE_PREFIX}{index:03d}", **kwargs)
    return out
