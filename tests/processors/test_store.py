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


@pytest.mark.parametrize("dtype, shape", [("float32", (100,)), ("uint64", (70,)), ("bool", (130,)),
                                          ("float32", (100, 5, 4)), ("int64", (3, 3))])
def test_array_files_are_the_ones_zarr_writes(tmp_path: Path, dtype: str, shape: tuple[int, ...]) -> None:
    """Consolidation writes array documents and chunks itself (adsearch.store_arrays): byte for
    byte what zarr writes for the same array, tail chunk zero-padded, so any zarr reader opens it."""
    from adsearch.store_arrays import COLUMN_CODEC, ArraySpec, write_document, write_rows
    from adsearch.store_io import Location

    values = (np.random.default_rng(1).random(shape) * 7).astype(dtype)
    chunks = (64, *shape[1:])
    reference = zarr.create_array(str(tmp_path / "zarr" / "a"), shape=shape, dtype=dtype, chunks=chunks,
                                  compressors=COLUMN_CODEC[1]())
    reference[:] = values
    spec = ArraySpec("a", shape, chunks, np.dtype(dtype))
    ours = Location(tmp_path / "ours")
    write_document(ours, spec, COLUMN_CODEC)
    write_rows(ours, spec, 0, values, COLUMN_CODEC)
    written = sorted(p.relative_to(tmp_path / "ours") for p in (tmp_path / "ours").rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(tmp_path / "zarr") for p in (tmp_path / "zarr").rglob("*") if p.is_file())
    for name in written:
        assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "zarr" / name).read_bytes(), name
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "ours" / "a"), mode="r")[:], values)
    with pytest.raises(StoreError, match="misaligned"):
        write_rows(ours, spec, 10, values[:20], COLUMN_CODEC)


def test_every_store_module_imports_first() -> None:
    """store, store_parts and store_reader import each other: any of them may be the first import."""
    import subprocess
    import sys

    script = ("import importlib, sys\n"
              "for first in ('store_reader', 'store_parts', 'store_arrays', 'store_zarr', 'store_io', 'store'):\n"
              "    for name in [n for n in sys.modules if n.startswith('adsearch.store')]:\n"
              "        del sys.modules[name]\n"
              "    importlib.import_module('adsearch.' + first)\n"
              "from adsearch.store import open_store, FeatureStore, write_part\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
