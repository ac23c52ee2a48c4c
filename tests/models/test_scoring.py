"""Scoring: ln(MSE) definition, determinism, store round trip and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.errors import BadInputError
from adsearch.models import SCORE_COLUMN, load_scorer, score_events, score_rows, train_autoencoder
from adsearch.models.autoencoder import AutoencoderConfig
from adsearch.store import StoreError, open_store


def test_score_is_log_mean_squared_error(trained_model, rmm_rows) -> None:
    import keras

    rows = rmm_rows[:300]
    model = keras.models.load_model(trained_model)
    expected = np.log(np.mean((model.predict(rows, verbose=0) - rows) ** 2, axis=1))
    np.testing.assert_allclose(score_rows(trained_model, rows), expected, rtol=1e-5)


def test_scoring_is_deterministic_and_independent_of_batching(trained_model, rmm_rows) -> None:
    rows = rmm_rows[:700]
    first = score_rows(trained_model, rows)
    assert first.dtype == np.float32 and np.isfinite(first).all()
    np.testing.assert_array_equal(score_rows(trained_model, rows), first)
    assert load_scorer(trained_model) is load_scorer(trained_model)  # loaded once per process
    small = load_scorer(trained_model, batch_size=64)
    np.testing.assert_allclose(small(rows[5:200]), first[5:200], rtol=1e-5)


def test_scoring_rejects_bad_rows(trained_model) -> None:
    with pytest.raises(BadInputError, match="shape \\(n, 1287\\)"):
        score_rows(trained_model, np.zeros((3, 1296), np.float32))
    bad = np.zeros((3, 1287), np.float32)
    bad[1, 0] = np.nan
    with pytest.raises(BadInputError, match="first at row 1"):
        score_rows(trained_model, bad)


def test_score_events_writes_the_column_for_rmm_rows(tmp_path, trained_model, rmm_rows, make_store) -> None:
    has_rmm = np.arange(0, 500, 2)
    rmm = rmm_rows[1000:1000 + has_rmm.size]
    path = make_store(tmp_path / "s.zarr", {"data": (500, rmm, has_rmm)})
    summaries = score_events(path, trained_model, block_rows=96)
    (summary,) = summaries
    assert (summary.dataset, summary.n_events, summary.n_scored) == ("data", 500, has_rmm.size)
    assert summary.events_per_s > 0 and 0 < summary.rmm_bytes_per_event < summary.dense_bytes_per_event == 5148
    scores = open_store(path).read("data", [SCORE_COLUMN])[SCORE_COLUMN]
    assert np.isnan(scores[1::2]).all()
    np.testing.assert_array_equal(scores[has_rmm], score_rows(trained_model, rmm))
    score_events(path, trained_model)  # re-scoring replaces the column, same values
    np.testing.assert_array_equal(open_store(path).read("data", [SCORE_COLUMN])[SCORE_COLUMN][has_rmm], scores[has_rmm])


def test_store_errors_name_the_problem(tmp_path, trained_model, rmm_rows, make_store) -> None:
    path = make_store(tmp_path / "s.zarr", {"no_rmm": (40, None, None)})
    with pytest.raises(StoreError, match="without RMM"):
        score_events(path, trained_model)
    with pytest.raises(StoreError, match="without RMM"):
        train_autoencoder(path, AutoencoderConfig(), tmp_path / "ae")
    rmm = rmm_rows[:40].copy()
    rmm[17, 100] = np.nan
    nan_path = make_store(tmp_path / "nan.zarr", {"data": (40, rmm, np.arange(40))})
    with pytest.raises(BadInputError, match=r"nan\.zarr/data/rmm.*first at row 17"):
        score_events(nan_path, trained_model)
    with pytest.raises(FileNotFoundError, match="no saved autoencoder"):
        score_events(nan_path, tmp_path / "missing.keras")


def test_train_autoencoder_samples_the_store(tmp_path, rmm_rows, make_store) -> None:
    import json

    n_events = 400
    path = make_store(tmp_path / "s.zarr", {"bkg": (n_events, rmm_rows[:n_events], np.arange(n_events)),
                                            "sig": (50, rmm_rows[:50], np.arange(50))})
    config = AutoencoderConfig(train_fraction=0.25, max_epochs=2, n_retrains=1, jit_compile=False)
    with pytest.raises(StoreError, match="choose a dataset"):
        train_autoencoder(path, config, tmp_path / "ae")
    trained = train_autoencoder(path, config, tmp_path / "ae", dataset="bkg")
    assert trained.n_rows == 100
    record = json.loads(trained.sidecar_path.read_text())
    assert record["dataset"] == "bkg" and record["n_events"] == n_events
    picks = np.sort(np.random.default_rng(config.seed).choice(n_events, 100, replace=False))
    from adsearch.models.training import rows_sha256

    assert record["data_sha256"] == rows_sha256(rmm_rows[picks])
