"""Store parts: one work unit's private output, written before consolidation (see adsearch.store).

A part is plain files below ``STORE/_parts/<dataset>/<unit>/``: ``columns.npz`` (the per-event
columns; ``columns.npz.zst`` when it travelled compressed from a worker to the client) and the
RMM as finished Zarr chunks ``rmm_<i>`` of ``RMM_CHUNK_ROWS`` rows each (the last one
zero-padded), encoded with the dataset array's codec. A part is complete once its commit marker
``<unit>.commit`` exists, written last (the unit's records and cutflow as JSON).

:func:`encode_part` builds those files as bytes, so the same part is either written by the worker
(shared disk, :func:`write_part`) or sent to the client, which writes it (no shared disk,
:func:`write_part_files`): one format, one consolidation.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numcodecs
import numpy as np

from adsearch import store as _store
from adsearch.store_io import Location, open_zarr_group

__all__ = ["prepare_parts", "encode_part", "write_part_files", "write_part", "commit_part",
           "read_part_commit", "remove_parts", "Part"]

PARTS = "_parts"
_COMMIT = ".commit"
_COLUMNS, _COLUMNS_ZST = "columns.npz", "columns.npz.zst"


def _part_key(dataset: str, key: str) -> str:
    return f"{PARTS}/{dataset}/{key}"


def prepare_parts(store: str | Path) -> None:
    """Make ``_parts`` an (empty) Zarr group, so listing the store never meets a foreign folder."""
    location = Location(store)
    if not location.exists(f"{PARTS}/zarr.json"):
        open_zarr_group(store, "a", PARTS)


def encode_part(columns: dict[str, np.ndarray], rmm_frames: Iterable[np.ndarray] | None = None,
                rmm_rows: np.ndarray | None = None, rmm_codec: str = "zstd1", *,
                compress_columns: bool = False) -> dict[str, bytes]:
    """One unit's part as ``{file name: bytes}``.

    ``rmm_frames`` yields blocks of at most RMM_CHUNK_ROWS rows (a worker never holds a fresh
    (n, 1287) array); each is zero-padded to a whole chunk and encoded once, as the Zarr chunk
    it becomes. ``compress_columns`` zstd-compresses ``columns.npz`` (for the trip to the client:
    ~100 B/event uncompressed, a few ms of zstd per 100k events).
    """
    arrays = {name: np.ascontiguousarray(values) for name, values in columns.items()}
    files: dict[str, bytes] = {}
    if rmm_frames is not None and rmm_rows is not None:
        rows_per_chunk = _store.RMM_CHUNK_ROWS
        codec = _store.RMM_CODECS[rmm_codec][0]()
        padded = np.zeros((rows_per_chunk, _store.N_RMM_FEATURES), dtype=np.float32)
        n_frames = n_rows = 0
        for frame in rmm_frames:
            rows_in_frame = len(frame)
            if rows_in_frame > rows_per_chunk:
                raise _store.StoreError(f"RMM frame of {rows_in_frame} rows exceeds the chunk of {rows_per_chunk}")
            if rows_in_frame < rows_per_chunk or not frame.flags.c_contiguous or frame.dtype != np.float32:
                padded[:rows_in_frame] = frame
                padded[rows_in_frame:] = 0.0
                frame = padded
            files[f"rmm_{n_frames}"] = frame.tobytes() if codec is None else bytes(codec.encode(frame))
            n_rows += rows_in_frame
            n_frames += 1
        if n_rows != len(rmm_rows):
            raise _store.StoreError(f"{n_rows} RMM rows for {len(rmm_rows)} indices")
        arrays["rmm_index"] = rmm_rows.astype(np.int64)
        arrays["_rmm_frames"] = np.asarray([n_frames, rows_per_chunk], dtype=np.int64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    if compress_columns:
        files[_COLUMNS_ZST] = bytes(numcodecs.Zstd(level=1).encode(buffer.getbuffer()))
    else:
        files[_COLUMNS] = buffer.getvalue()
    return files


def write_part_files(store: str | Path, dataset: str, key: str, files: dict[str, bytes]) -> None:
    """Write a part's files (a leftover of an interrupted run is replaced); not yet committed."""
    location = Location(store)
    location.remove(_part_key(dataset, key) + _COMMIT)
    location.remove(_part_key(dataset, key))
    for name, data in files.items():
        location.write(f"{_part_key(dataset, key)}/{name}", data)


def write_part(store: str | Path, dataset: str, key: str, columns: dict[str, np.ndarray],
               rmm_frames: Iterable[np.ndarray] | None = None, rmm_rows: np.ndarray | None = None,
               rmm_codec: str = "zstd1") -> None:
    """Encode and write one work unit's rows into its private part (one writer, no alignment
    issue). (24 small Zarr arrays per part would cost ~0.5 s of metadata I/O, more than
    processing a small chunk: hence plain files.)"""
    write_part_files(store, dataset, key, encode_part(columns, rmm_frames, rmm_rows, rmm_codec))


def commit_part(store: str | Path, dataset: str, key: str, payload: bytes) -> None:
    """Mark a part as complete by writing its summary last (atomically on a local disk)."""
    Location(store).write(_part_key(dataset, key) + _COMMIT, payload, atomic=True)


def read_part_commit(store: str | Path, dataset: str, key: str) -> bytes | None:
    """The committed summary of a part, or None when the unit still has to be processed."""
    location = Location(store)
    marker = _part_key(dataset, key) + _COMMIT
    try:
        return location.read(marker)
    except (FileNotFoundError, IsADirectoryError):
        return None


def remove_parts(store: str | Path, dataset: str) -> None:
    """Delete a dataset's parts once it is consolidated (they are the resume record until then)."""
    location = Location(store)
    location.remove(f"{PARTS}/{dataset}")
    if not [name for name in location.listdir(PARTS) if name != "zarr.json"]:
        location.remove(PARTS)


class Part:
    """Read access to one part's columns and RMM chunk files."""

    def __init__(self, store: str | Path, dataset: str, key: str) -> None:
        self.location = Location(store)
        self.key = _part_key(dataset, key)
        names = set(self.location.listdir(self.key))
        if _COLUMNS_ZST in names:
            raw = numcodecs.Zstd().decode(self.location.read(f"{self.key}/{_COLUMNS_ZST}"))
        else:
            raw = self.location.read(f"{self.key}/{_COLUMNS}")
        self.columns = np.load(io.BytesIO(raw))

    def names(self) -> list[str]:
        return [n for n in self.columns.files if not n.startswith("_") and n != "rmm_index"]

    @property
    def has_rmm(self) -> bool:
        return "rmm_index" in self.columns.files

    def rmm_chunks(self) -> list[str]:
        """Store keys of the part's encoded RMM chunks, in row order."""
        n_frames, frame_rows = (int(x) for x in self.columns["_rmm_frames"])
        if frame_rows != _store.RMM_CHUNK_ROWS:
            raise _store.StoreError(f"{self.location.path(self.key)}: RMM chunks of {frame_rows} rows, "
                                    f"the store uses {_store.RMM_CHUNK_ROWS}")
        return [f"{self.key}/rmm_{i}" for i in range(n_frames)]
