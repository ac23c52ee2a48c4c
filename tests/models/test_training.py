"""Training: convergence, early stopping with restored best weights, median selection, sidecar."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adsearch.models import AutoencoderConfig, median_index, train_on_rows
from adsearch.models.training import rows_sha256, split_rows, train_once


def _noisy_rows(n: int, seed: int) -> np.ndarray:
    """A fixed sparse pattern plus noise: val loss drops, then plateaus at the noise level."""
    rng = np.random.default_rng(seed)
    template = (rng.random(1287) < 0.1) * rng.random(1287)
    return (template + 0.1 * rng.standard_normal((n, 1287))).astype(np.float32)


def _val_mse(model_path_or_model, rows: np.ndarray, seed: int, fraction: float = 0.3) -> float:
    import keras

    model = keras.models.load_model(model_path_or_model) if not hasattr(model_path_or_model, "predict") else model_path_or_model
    _, val = split_rows(len(rows), fraction, seed)
    recon = model.predict(rows[val], verbose=0)
    return float(np.mean((recon - rows[val]) ** 2))


def test_training_converges_early_stops_and_restores_best_weights() -> None:
    from adsearch.models.autoencoder import build_autoencoder

    rows = _noisy_rows(200, seed=3)
    config = AutoencoderConfig(max_epochs=60, patience=3, jit_compile=False)
    result = train_once(config, index=0, seed=5, rows=rows)
    assert result.stopped_early and result.epochs_run < config.max_epochs
    assert result.best_epoch == result.epochs_run - 1 - config.patience
    assert result.best_val_loss == min(result.val_loss)
    assert result.best_val_loss < 0.6 * result.val_loss[0]  # it learned the pattern
    model = build_autoencoder()
    model.set_weights(result.weights)
    assert _val_mse(model, rows, seed=5) == pytest.approx(result.best_val_loss, rel=1e-4)
    assert result.val_loss[-1] != pytest.approx(result.best_val_loss, rel=1e-6)  # not the last epoch's weights


@pytest.mark.parametrize("jit", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_same_seed_same_training(jit: bool) -> None:
    rows = _noisy_rows(120, seed=4)
    config = AutoencoderConfig(max_epochs=3, patience=3, jit_compile=jit)
    first, second = (train_once(config, index=0, seed=9, rows=rows) for _ in range(2))
    assert first.val_loss == second.val_loss
    assert all(np.array_equal(a, b) for a, b in zip(first.weights, second.weights))


def test_median_retrain_is_saved_with_its_record(tmp_path) -> None:
    rows = _noisy_rows(150, seed=6)
    config = AutoencoderConfig(max_epochs=3, patience=2, n_retrains=3, seed=1, jit_compile=False)
    trained = train_on_rows(rows, config, tmp_path / "ae")
    assert trained.model_path.is_file() and trained.model_path.suffix == ".keras"
    record = json.loads(trained.sidecar_path.read_text())
    losses = record["val_losses"]
    assert len(losses) == 3 and len(set(losses)) == 3
    assert record["chosen_index"] == trained.chosen_index == median_index(losses)
    assert sorted(losses)[1] == losses[trained.chosen_index]
    assert record["data_sha256"] == rows_sha256(rows) == trained.data_sha256
    assert record["config"]["n_retrains"] == 3 and record["seed"] == 1
    seeds = [r["seed"] for r in record["retrains"]]
    # the saved weights are the median retrain's: they reproduce its validation loss on its own split
    chosen_seed = seeds[trained.chosen_index]
    assert _val_mse(trained.model_path, rows, chosen_seed) == pytest.approx(losses[trained.chosen_index], rel=1e-4)


def test_too_few_rows_and_bad_rows_are_refused(tmp_path) -> None:
    from adsearch.errors import BadInputError

    with pytest.raises(ValueError, match="at least 10"):
        train_on_rows(np.zeros((5, 1287), np.float32), AutoencoderConfig(), tmp_path)
    rows = _noisy_rows(20, seed=1)
    rows[7, 3] = np.nan
    with pytest.raises(BadInputError, match="my.rows: 1 RMM rows contain NaN"):
        train_on_rows(rows, AutoencoderConfig(), tmp_path, source="my.rows")
