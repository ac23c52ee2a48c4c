"""Zarr feature store: chunk-aligned consolidation, the read/write API and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from adsearch import store as zstore
from adsearch.store import StoreError, UnitRecord, open_store


def _fake_store(path: Path, sizes: list[int], *, rmm_every: int = 1, submit=None) -> dict[str, np.ndarray]:
    """Write parts of the given sizes, consolidate them, return the expected concatenation."""
    rng = np.random.default_rng(0)
    zstore.create_store(path, {"created_utc": "now"})
    units, expect_x, expect_rmm, expect_index, offset = [], [], [], [], 0
    for i, n in enumerate(sizes):
        x = rng.normal(size=n)
        ids = np.arange(offset, offset + n, dtype=np.uint64)
        rows = np.arange(0, n, rmm_every, dtype=np.int64)
        rmm = rng.random((len(rows), zstore.N_RMM_FEATURES)).astype(np.float32)
        key = f"unit{i:03d}"
        frames = (rmm[lo:lo + zstore.RMM_CHUNK_ROWS] for lo in range(0, len(rmm), zstore.RMM_CHUNK_ROWS))
        zstore.write_part(path, "ds", key, {"x": x, "event": ids}, frames, rows)
        zstore.commit_part(path, "ds", key, b"ok")
        units.append(UnitRecord(key, "f.root", offset, offset + n, n, len(rows)))
        expect_x.append(x)
        expect_rmm.append(rmm)
        expect_index.append(rows + offset)
        offset += n
    zstore.consolidate_dataset(path, "ds", units, {"files": []}, submit=submit)
    return {"x": np.concatenate(expect_x), "rmm": np.concatenate(expect_rmm), "index": np.concatenate(expect_index)}


def test_consolidation_is_exact_concatenation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # small chunks so that parts straddle chunk boundaries; one part is empty
    monkeypatch.setattr(zstore, "EVENT_CHUNK", 1000)
    monkeypatch.setattr(zstore, "RMM_CHUNK_ROWS", 64)
    sizes = [1500, 0, 3, 2100, 50]
    expect = _fake_store(tmp_path / "s.zarr", sizes, rmm_every=7)
    store = open_store(tmp_path / "s.zarr")
    assert store.datasets == ["ds"] and store.n_events("ds") == sum(sizes)
    np.testing.assert_array_equal(store.read("ds", ["x"])["x"], expect["x"])
    np.testing.assert_array_equal(store.rmm_index("ds"), expect["index"])
    np.testing.assert_array_equal(store.read_rmm("ds", 100, 500), expect["rmm"][100:500])
    np.testing.assert_array_equal(store.read_rmm("ds"), expect["rmm"])
    chunks = list(store.iter_chunks("ds", ["x"], 1600))
    assert chunks[0][:2] == (0, 1600) and chunks[-1][1] == sum(sizes)
    np.testing.assert_array_equal(np.concatenate([c[2]["x"] for c in chunks]), expect["x"])


def test_misaligned_write_is_refused(tmp_path: Path) -> None:
    array = zarr.create_array(str(tmp_path / "a.zarr"), shape=(100,), chunks=(10,), dtype="f8")
    zstore.write_aligned(array, 10, np.ones(20))
    zstore.write_aligned(array, 90, np.ones(10))  # the tail
    with pytest.raises(StoreError, match="misaligned"):
        zstore.write_aligned(array, 5, np.ones(10))
    with pytest.raises(StoreError, match="misaligned"):
        zstore.write_aligned(array, 20, np.ones(15))


def test_write_column_and_errors(tmp_path: Path) -> None:
    _fake_store(tmp_path / "s.zarr", [100, 50])
    with pytest.raises(StoreError, match="no feature store"):
        open_store(tmp_path / "missing.zarr")
    ro = open_store(tmp_path / "s.zarr")
    with pytest.raises(StoreError, match="read-only"):
        ro.write_column("ds", "score", np.zeros(150))
    store = open_store(tmp_path / "s.zarr", mode="a")
    with pytest.raises(StoreError, match="unknown dataset 'nope'"):
        store.n_events("nope")
    with pytest.raises(StoreError, match="no column 'y'"):
        store.read("ds", ["y"])
    with pytest.raises(StoreError, match="150 events"):
        store.write_column("ds", "score", np.zeros(10))
    with pytest.raises(StoreError, match="reserved"):
        store.write_column("ds", "event", np.zeros(150))
    store.write_column("ds", "score", np.arange(150.0), attrs={"model": "ae"})
    with pytest.raises(StoreError, match="exists"):
        store.write_column("ds", "score", np.zeros(150))
    store.write_column("ds", "score", np.ones(150), overwrite=True)
    assert open_store(tmp_path / "s.zarr").read("ds", ["score"], 140, 150)["score"].tolist() == [1.0] * 10
    assert "score" in store.columns("ds")


def test_store_without_rmm_says_so(tmp_path: Path) -> None:
    path = tmp_path / "d.zarr"
    zstore.create_store(path, {})
    zstore.write_part(path, "ds", "u", {"mjj_gev": np.ones(5)})
    zstore.consolidate_dataset(path, "ds", [UnitRecord("u", "f", 0, 5, 5, 0)], {})
    with pytest.raises(StoreError, match="without RMM"):
        open_store(path).read_rmm("ds")
