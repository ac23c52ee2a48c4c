"""The RMM autoencoder of the ATLAS unsupervised search (Phys. Rev. Lett. 132 (2024) 081801).

A dense 1287 -> 800 -> 400 -> 200 -> 400 -> 800 -> 1287 network with LeakyReLU after every
layer (the output too, so reconstructed RMM cells can be slightly negative like the inputs'
zeros are not), trained as published: Adam minimising ln(MSE) of the training batches, early
stopping on the validation reconstruction loss (the MSE of the validation rows), on a small random
fraction of the data itself, 50 retrains of which the median-validation-loss one is kept.
This module holds only the configuration, the architecture and the input checks; training
lives in :mod:`adsearch.models.training`, scoring in :mod:`adsearch.models.scoring`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from adsearch.config import StrictModel
from adsearch.errors import BadInputError

__all__ = [
    "RMM_WIDTH",
    "LAYER_WIDTHS",
    "AutoencoderConfig",
    "build_autoencoder",
    "n_parameters",
    "flops_per_event",
    "check_rmm_rows",
]

#: Cells kept when a 36x36 rapidity-mass matrix is flattened (:func:`adsearch.processors.rmm.flatten_rmm`).
RMM_WIDTH: int = 1287

#: Widths of the input, the five hidden layers and the output.
LAYER_WIDTHS: tuple[int, ...] = (RMM_WIDTH, 800, 400, 200, 400, 800, RMM_WIDTH)


class AutoencoderConfig(StrictModel):
    """Training settings; the defaults reproduce the paper's.

    ``loss``: the objective Adam minimises, ``"log_mse"`` (the paper's ln of the batch's mean
    squared reconstruction error) or ``"mse"`` (for comparison only). Early stopping always
    watches the validation *reconstruction* loss, the MSE over all validation rows, whatever the
    objective. ``n_retrains``: 50 in the paper; the kept model is the retrain with the median
    validation loss (the lower median for an even count). Demonstrations on 2 cores set fewer
    in their own config (``adsearch demo``: 3).
    """

    max_epochs: int = Field(500, ge=1, description="upper bound; early stopping normally ends sooner")
    patience: int = Field(30, ge=1, description="epochs without val_loss improvement before stopping")
    batch_size: int = Field(100, ge=1)
    learning_rate: float = Field(1e-3, gt=0.0)
    negative_slope: float = Field(0.3, ge=0.0, lt=1.0, description="LeakyReLU slope (Keras default)")
    train_fraction: float = Field(0.01, gt=0.0, le=1.0, description="random fraction of preselected events")
    max_train_rows: int | None = Field(None, ge=10, description="cap on the sampled training rows")
    validation_fraction: float = Field(0.3, gt=0.0, lt=1.0, description="7:3 train/validation split")
    n_retrains: int = Field(50, ge=1, description="independent initialisations and splits (paper: 50)")
    loss: Literal["log_mse", "mse"] = Field("log_mse", description="objective: ln(MSE) as published, or MSE")
    keep_retrains: int = Field(10, ge=0, description="retrains saved for the retraining systematic (spread over the val-loss ranks)")
    seed: int = Field(20240213, ge=0)
    jit_compile: bool = Field(True, description="XLA: ~2x faster training on CPU, reproducible per seed")
    tf_threads: int | None = Field(None, ge=1, description="intra-op threads per task; None = worker's share")


def build_autoencoder(negative_slope: float = 0.3, seed: int | None = None) -> Any:
    """The uncompiled Keras model with the exact layer widths of :data:`LAYER_WIDTHS`.

    ``seed`` fixes every layer's initial weights (Glorot-uniform kernels, as Keras' default,
    each with its own seed derived from ``seed``; zero biases). Without it Keras draws the
    initializer seeds from Python's global ``random`` module, which other threads of the process
    share: in a Dask worker the event loop thread draws from it too, so the same retrain seed gave
    one of two different initialisations depending on timing (measured: 2 of 8 identical tasks).
    """
    import keras

    kernel_seeds = (
        [None] * (len(LAYER_WIDTHS) - 1)
        if seed is None
        else [int(s) for s in np.random.SeedSequence(seed).generate_state(len(LAYER_WIDTHS) - 1)]
    )
    layers: list[Any] = [keras.Input(shape=(RMM_WIDTH,), name="rmm")]
    for i, (width, kernel_seed) in enumerate(zip(LAYER_WIDTHS[1:], kernel_seeds), start=1):
        name = "output" if i == len(LAYER_WIDTHS) - 1 else f"dense_{i}"
        initializer = keras.initializers.GlorotUniform(seed=kernel_seed)
        layers.append(keras.layers.Dense(width, kernel_initializer=initializer, name=name))
        layers.append(keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"{name}_leaky"))
    return keras.Sequential(layers, name="rmm_autoencoder")


def n_parameters(widths: tuple[int, ...] = LAYER_WIDTHS) -> int:
    """Weights plus biases of the dense chain."""
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def flops_per_event(widths: tuple[int, ...] = LAYER_WIDTHS) -> int:
    """Multiply-add FLOPs of one forward pass (2 per weight): 5.72 MFLOP for the default widths."""
    return sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))


def check_rmm_rows(rows: np.ndarray, source: str, row_offset: int = 0) -> np.ndarray:
    """Return ``rows`` as C-contiguous float32 (n, 1287), or raise naming ``source`` and the problem.

    Catches the mistakes that would otherwise train or score silently wrong: a matrix of the
    wrong width (e.g. an unflattened 36x36 RMM) and NaN/inf cells from a broken kernel.
    ``row_offset`` is added to reported row numbers when ``rows`` is a block of a larger array.
    """
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != RMM_WIDTH:
        raise BadInputError(source, f"RMM rows must have shape (n, {RMM_WIDTH}), got {rows.shape}")
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise BadInputError(
            source, f"{bad.size} RMM rows contain NaN or inf (first at row {row_offset + int(bad[0])})"
        )
    return rows
