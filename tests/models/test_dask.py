"""Retrains and scoring blocks as Dask tasks on worker processes that import TensorFlow themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from adsearch.models import SCORE_COLUMN, AutoencoderConfig, median_index, score_events, score_rows, train_on_rows
from adsearch.store import open_store


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from adsearch.cluster import dask_client

    with dask_client(n_workers=2) as dask:
        yield dask


def test_retrains_run_as_tasks_on_the_workers(client, tmp_path, rmm_rows) -> None:
    config = AutoencoderConfig(max_epochs=2, n_retrains=2, jit_compile=False)
    trained = train_on_rows(rmm_rows[:150], config, tmp_path / "ae", client=client)
    record = json.loads(trained.sidecar_path.read_text())
    workers = {r["worker"] for r in record["retrains"]}
    assert workers <= set(client.scheduler_info()["workers"]) and len(workers) >= 1
    assert [r["index"] for r in record["retrains"]] == [0, 1]
    assert all(r["device"] for r in record["retrains"])
    assert all(r["tf_threads"] == 1 for r in record["retrains"])  # one TF thread per 1-thread worker
    assert trained.chosen_index == median_index(record["val_losses"])


def test_scoring_blocks_on_workers_match_local_scores(client, tmp_path, trained_model, rmm_rows, make_store) -> None:
    rmm = rmm_rows[:300]
    path = make_store(tmp_path / "s.zarr", {"data": (300, rmm, np.arange(300))})
    (summary,) = score_events(path, trained_model, client=client, block_rows=128)
    assert summary.n_scored == 300
    scores = open_store(path).read("data", [SCORE_COLUMN])[SCORE_COLUMN]
    # workers run TF with one thread, this process with two: equal up to float32 rounding
    np.testing.assert_allclose(scores, score_rows(trained_model, rmm), rtol=1e-5)
    score_events(path, trained_model, client=client, block_rows=128)
    np.testing.assert_array_equal(open_store(path).read("data", [SCORE_COLUMN])[SCORE_COLUMN], scores)
