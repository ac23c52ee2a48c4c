"""Architecture, config and input checks of the RMM autoencoder (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.config import load_config
from adsearch.errors import BadInputError, ConfigError
from adsearch.models.autoencoder import (
    AutoencoderConfig,
    build_autoencoder,
    check_rmm_rows,
    flops_per_event,
    n_parameters,
)
from adsearch.models.training import median_index, retrain_seeds, split_rows

WIDTHS = [1287, 800, 400, 200, 400, 800, 1287]


def test_layer_shapes_activations_and_parameter_count() -> None:
    import keras

    model = build_autoencoder()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [tuple(layer.kernel.shape) for layer in dense] == list(zip(WIDTHS[:-1], WIDTHS[1:]))
    assert [tuple(layer.bias.shape) for layer in dense] == [(w,) for w in WIDTHS[1:]]
    # LeakyReLU right after every dense layer, the output layer included
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "LeakyReLU"] * 6
    assert model.input_shape == (None, 1287) and model.output_shape == (None, 1287)
    expected = sum(a * b + b for a, b in zip(WIDTHS[:-1], WIDTHS[1:]))
    assert expected == 2_863_087
    assert model.count_params() == expected == n_parameters()


def test_flops_per_event_is_5_72_mflop() -> None:
    expected = 2 * (1287 * 800 + 800 * 400 + 400 * 200 + 200 * 400 + 400 * 800 + 800 * 1287)
    assert flops_per_event() == expected
    assert round(expected / 1e6, 2) == 5.72


def test_leaky_output_passes_negative_values() -> None:
    import keras

    model = build_autoencoder(negative_slope=0.3)
    out_layer = model.layers[-1]
    assert out_layer.negative_slope == pytest.approx(0.3)
    assert float(keras.ops.convert_to_numpy(out_layer(np.array([[-2.0]], np.float32)))[0, 0]) == pytest.approx(-0.6)


def test_initial_weights_depend_on_the_seed_only() -> None:
    """Another thread drawing from Python's global ``random`` (a Dask worker's event loop does)
    between seeding and building must not change the initialisation."""
    import random

    import keras

    keras.utils.set_random_seed(7)
    first = build_autoencoder(seed=11).get_weights()
    keras.utils.set_random_seed(7)
    random.random()  # what a concurrent thread might do
    second = build_autoencoder(seed=11).get_weights()
    other = build_autoencoder(seed=12).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], other[0])
    limit = np.sqrt(6.0 / (1287 + 800))  # Glorot-uniform, Keras' default kernel initializer
    assert 0.9 * limit < np.abs(first[0]).max() <= limit * (1 + 1e-6) and not first[1].any()


def test_config_defaults_follow_the_paper_and_reject_unknown_keys() -> None:
    cfg = AutoencoderConfig()
    assert (cfg.patience, cfg.batch_size, cfg.learning_rate) == (30, 100, 1e-3)
    assert (cfg.train_fraction, cfg.validation_fraction) == (0.01, 0.3)
    with pytest.raises(ConfigError, match="n_retrain"):
        load_config(AutoencoderConfig, {"n_retrain": 3})
    with pytest.raises(ConfigError, match="train_fraction"):
        load_config(AutoencoderConfig, {"train_fraction": 0.0})


def test_median_index_picks_the_median_retrain() -> None:
    assert median_index([0.3, 0.1, 0.2]) == 2
    assert median_index([5.0, 1.0, 4.0, 2.0, 3.0]) == 4
    assert median_index([0.4, 0.1, 0.3, 0.2]) == 3  # lower median of an even count
    assert median_index([0.2, 0.2, 0.2]) == 1  # ties: stable order
    assert median_index([7.0]) == 0
    with pytest.raises(ValueError):
        median_index([])
    with pytest.raises(ValueError, match="finite"):
        median_index([0.1, float("nan"), 0.2])


def test_seeds_and_splits_are_reproducible_and_fresh_per_retrain() -> None:
    seeds = retrain_seeds(7, 4)
    assert seeds == retrain_seeds(7, 4) and len(set(seeds)) == 4
    train_a, val_a = split_rows(100, 0.3, seeds[0])
    train_b, val_b = split_rows(100, 0.3, seeds[1])
    assert len(val_a) == 30 and len(train_a) == 70
    assert np.array_equal(np.sort(np.concatenate([train_a, val_a])), np.arange(100))
    assert not np.array_equal(val_a, val_b)


def test_rmm_row_checks_name_the_source_and_problem() -> None:
    good = np.zeros((4, 1287), np.float64)
    assert check_rmm_rows(good, "x").dtype == np.float32
    with pytest.raises(BadInputError, match=r"store\.zarr.*\(n, 1287\).*\(4, 1296\)"):
        check_rmm_rows(np.zeros((4, 1296)), "store.zarr")
    with pytest.raises(BadInputError, match="1287"):
        check_rmm_rows(np.zeros((4, 36, 36)), "store.zarr")
    bad = good.copy()
    bad[2, 5] = np.nan
    bad[3, 0] = np.inf
    with pytest.raises(BadInputError, match="2 RMM rows contain NaN or inf \\(first at row 2\\)"):
        check_rmm_rows(bad, "store.zarr")
