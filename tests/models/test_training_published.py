"""Training as published: Adam on ln(MSE), early stopping on the validation MSE, 50 retrains by default."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.models import AutoencoderConfig
from adsearch.models.autoencoder import build_autoencoder
from adsearch.models.training import split_rows, train_once


def _rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    template = (rng.random(1287) < 0.1) * rng.random(1287)
    return (template + 0.05 * rng.standard_normal((n, 1287))).astype(np.float32)


def _mse(model, rows: np.ndarray) -> float:
    return float(np.mean((model(rows, training=False).numpy() - rows) ** 2))


def test_defaults_are_the_papers() -> None:
    config = AutoencoderConfig()
    assert config.n_retrains == 50
    assert config.loss == "log_mse"


def test_adam_minimises_log_of_the_training_mse() -> None:
    """One batch per epoch: the first epoch's objective is ln(MSE) of the initial network on the
    training rows (Keras reports the loss of the forward pass before the update)."""
    rows = _rows(60, seed=1)
    config = AutoencoderConfig(max_epochs=2, patience=5, batch_size=1000, jit_compile=False)
    result = train_once(config, index=0, seed=11, rows=rows)
    train_idx, _ = split_rows(len(rows), config.validation_fraction, 11)
    initial = build_autoencoder(config.negative_slope, seed=11)
    assert result.train_loss[0] == pytest.approx(np.log(_mse(initial, rows[train_idx])), abs=2e-4)
    # the MSE objective would report the MSE itself (positive, ~0.03); ln of it is negative
    mse_run = train_once(config.model_copy(update={"loss": "mse"}), index=0, seed=11, rows=rows)
    assert mse_run.train_loss[0] == pytest.approx(_mse(initial, rows[train_idx]), rel=2e-4)
    assert result.train_loss[0] < 0 < mse_run.train_loss[0]


def test_early_stopping_watches_the_validation_reconstruction_loss() -> None:
    rows = _rows(200, seed=3)
    config = AutoencoderConfig(max_epochs=60, patience=3, jit_compile=False)
    result = train_once(config, index=0, seed=5, rows=rows)
    assert result.stopped_early
    # the recorded validation loss is the reconstruction MSE (not ln), and the restored weights
    # are those of its minimum
    assert all(v > 0 for v in result.val_loss)
    assert result.best_epoch == int(np.argmin(result.val_loss))
    assert result.best_epoch == result.epochs_run - 1 - config.patience
    model = build_autoencoder()
    model.set_weights(result.weights)
    _, val_idx = split_rows(len(rows), config.validation_fraction, 5)
    assert _mse(model, rows[val_idx]) == pytest.approx(result.best_val_loss, rel=1e-4)
