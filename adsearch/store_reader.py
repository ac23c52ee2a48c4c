"""Reading side of the feature store (layout and write design: :mod:`adsearch.store`).

:func:`open_store` opens a committed store, local or at an fsspec URL; :class:`FeatureStore` reads
columns and RMMs and adds derived columns (e.g. anomaly scores) in whole chunks.

>>> store = open_store("run1.zarr")                        # doctest: +SKIP
>>> store.read("ttbar", ["mass_jj_gev"])["mass_jj_gev"]    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from adsearch import store as _store
from adsearch.store_io import Location, open_zarr_group

__all__ = ["FeatureStore", "open_store"]

_RMM, _RMM_INDEX, _RMM_SEGMENTS = "rmm", "rmm_index", "rmm_segments"
_RMM_ARRAYS = frozenset({_RMM, _RMM_INDEX, _RMM_SEGMENTS})
_PROTECTED = _RMM_ARRAYS | {"run", "luminosityBlock", "event"}


class FeatureStore:
    """Read (and extend with derived columns) a committed feature store. Use :func:`open_store`."""

    def __init__(self, path: Path | str, root: zarr.Group, mode: str) -> None:
        self.path = path
        self._root = root
        self._mode = mode
        self._groups: dict[str, zarr.Group] = {}  # committed datasets, looked up once
        for name, group in root.groups():
            if not name.startswith("_") and group.attrs.get("committed"):
                self._groups[name] = group

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r}, datasets={self.datasets})"

    @property
    def datasets(self) -> list[str]:
        """Committed datasets (consolidated groups), sorted."""
        return sorted(self._groups)

    @property
    def run_attrs(self) -> dict[str, Any]:
        return dict(self._root.attrs)

    def _group(self, dataset: str) -> zarr.Group:
        if dataset not in self._groups:
            raise _store.StoreError(f"{self.path}: unknown dataset {dataset!r}; the store has {self.datasets}")
        return self._groups[dataset]

    def attrs(self, dataset: str) -> dict[str, Any]:
        return dict(self._group(dataset).attrs)

    def n_events(self, dataset: str) -> int:
        return int(self._group(dataset).attrs["n_events"])

    def columns(self, dataset: str) -> list[str]:
        """Per-event columns (everything but the RMM and its index)."""
        return sorted(n for n in self._group(dataset).array_keys() if n not in _RMM_ARRAYS)

    def _array(self, dataset: str, column: str) -> zarr.Array:
        group = self._group(dataset)
        if column not in group.array_keys() or column in _RMM_ARRAYS:
            raise _store.StoreError(f"{self.path}: dataset {dataset!r} has no column {column!r}; "
                             f"columns are {self.columns(dataset)}")
        return group[column]

    def read(self, dataset: str, columns: Sequence[str], start: int | None = None,
             stop: int | None = None) -> dict[str, np.ndarray]:
        """Columns as numpy arrays for event rows [start, stop)."""
        arrays = {name: self._array(dataset, name) for name in columns}
        return {name: array[start:stop] for name, array in arrays.items()}

    def iter_chunks(self, dataset: str, columns: Sequence[str],
                    chunk_events: int) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
        """Stream (start, stop, columns) blocks of ``chunk_events`` rows, for out-of-core loops."""
        if chunk_events < 1:
            raise _store.StoreError(f"chunk_events must be >= 1, got {chunk_events}")
        total = self.n_events(dataset)
        for start in range(0, total, chunk_events):
            stop = min(start + chunk_events, total)
            yield start, stop, self.read(dataset, columns, start, stop)

    def _rmm_group(self, dataset: str) -> zarr.Group:
        group = self._group(dataset)
        if _RMM not in group.array_keys():
            raise _store.StoreError(f"{self.path}: dataset {dataset!r} was stored without RMM "
                             "(processed by the dijet processor?)")
        return group

    def rmm_index(self, dataset: str) -> np.ndarray:
        """Event rows that have an RMM, ascending (all rows unless stored with rmm_fraction < 1)."""
        return self._rmm_group(dataset)[_RMM_INDEX][:]

    def read_rmm(self, dataset: str, start: int | None = None, stop: int | None = None) -> np.ndarray:
        """RMM rows [start, stop) in rmm_index order, shape (k, 1287) float32."""
        group = self._rmm_group(dataset)
        lo, hi, _ = slice(start, stop).indices(int(group.attrs["n_rmm"]))
        out = np.empty((max(hi - lo, 0), _store.N_RMM_FEATURES), dtype=np.float32)
        array = group[_RMM]
        for logical, physical, count in group[_RMM_SEGMENTS][:].tolist():
            a, b = max(lo, logical), min(hi, logical + count)
            if a < b:
                out[a - lo:b - lo] = array[physical + a - logical:physical + b - logical]
        return out

    def write_column(self, dataset: str, name: str, values: np.ndarray, *, overwrite: bool = False,
                     attrs: dict[str, Any] | None = None) -> None:
        """Add a derived per-event column (e.g. anomaly scores), written in whole chunks."""
        if self._mode == "r":
            raise _store.StoreError(f"{self.path}: opened read-only; use open_store(path, mode='a')")
        group = self._group(dataset)
        values = np.asarray(values)
        if values.ndim < 1 or len(values) != self.n_events(dataset):
            raise _store.StoreError(f"{dataset}/{name}: {len(values) if values.ndim else 0} values, "
                             f"the dataset has {self.n_events(dataset)} events")
        if name in _PROTECTED or name.startswith("_"):
            raise _store.StoreError(f"{dataset}/{name}: reserved column name")
        if name in group.array_keys():
            if not overwrite:
                raise _store.StoreError(f"{dataset}/{name} exists; pass overwrite=True to replace it")
            del group[name]
        array = group.create_array(name, shape=values.shape, dtype=values.dtype,
                                   chunks=(_store.EVENT_CHUNK, *values.shape[1:]), compressors=_store._column_codec())
        for lo in range(0, len(values), _store.EVENT_CHUNK):
            _store.write_aligned(array, lo, values[lo:lo + _store.EVENT_CHUNK])
        if attrs:
            array.attrs.update(_store._json_ready(attrs))


def open_store(path: str | Path, mode: str = "r") -> FeatureStore:
    """Open a feature store written by ``adsearch process`` ("r" read-only, "a" to add columns)."""
    if mode not in ("r", "a"):
        raise _store.StoreError(f"mode must be 'r' or 'a', got {mode!r}")
    location = Location(path)
    path = location.target
    if not location.exists("zarr.json"):
        raise _store.StoreError(f"{path}: no feature store here (missing zarr.json); run `adsearch process` first")
    root = open_zarr_group(path, "r" if mode == "r" else "r+")
    if not root.attrs.get("adsearch_store"):
        raise _store.StoreError(f"{path}: a Zarr group but not an adsearch feature store")
    return FeatureStore(path, root, mode)
