"""The Zarr feature store: one store per processing run, one group per dataset.

Layout (zarr v3; a local directory or any fsspec URL, see :mod:`adsearch.store_io`)::

    STORE/                     run attributes (provenance, processor, config + hash, codec)
    STORE/<dataset>/           dataset attributes (input files, cutflow, skipped files, units)
    STORE/<dataset>/<column>   one array per per-event column, chunked along events
    STORE/<dataset>/rmm        float32 rescaled rapidity-mass matrices, 1287 per row, in one segment
                               per work unit starting on a chunk boundary (zero-padded tail)
    STORE/<dataset>/rmm_segments  (logical start, physical start, rows) of each segment
    STORE/<dataset>/rmm_index  (k,) int64 event rows that have an RMM (all rows, or a seeded fraction)
    STORE/_parts/<dataset>/<unit>/   per-work-unit output (npz + RMM chunks), deleted after consolidation

Write design (why): Zarr silently loses data when two writers touch the same chunk, and a worker
cannot know where its events land before all earlier work units are counted. So every work unit
writes its own *part* (private files nobody else touches) and commits it with a marker file
written last (atomic rename); a rerun finds the marker and skips the unit (coffea's checkpointer
hook). A final consolidation step then builds the dataset in a fixed order (fileset order, then
entry range), so the result does not depend on how many workers ran or in which order:

* per-event columns are concatenated with writes that start on a chunk boundary and cover whole
  chunks (only the array's tail may be short; :func:`write_aligned` refuses anything else);
  consolidation tasks own disjoint chunk ranges, so they may run in parallel on Dask workers.
  The arrays' documents and chunks are written as files, byte-identical to zarr's own, without
  zarr's per-array bookkeeping (:mod:`adsearch.store_arrays`: ~0.1 s less per 80k-event unit);
* the RMM (~98% of the bytes) is never rewritten: workers encode it directly as finished Zarr
  chunks (unit rows start on a chunk boundary, the last chunk zero-padded), and consolidation
  hard-links those files into ``rmm/c/<i>/0``. ``rmm_segments`` maps the k stored RMMs back
  to logical order. The codec (default zstd level 1) was chosen by measurement: see
  ``RMM_CODECS`` and benchmarks/bench_processors.py (~70 B/event, ~330k rows/s per core).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

from adsearch.store_arrays import COLUMN_CODEC, ArraySpec, check_aligned, chunk_key, write_document, write_rows
from adsearch.store_io import Location, StoreError, open_zarr_group

__all__ = [
    "EVENT_CHUNK", "RMM_CHUNK_ROWS", "N_RMM_FEATURES", "RMM_CODECS", "DEFAULT_RMM_CODEC",
    "StoreError", "FeatureStore", "UnitRecord", "open_store", "create_store", "write_part", "encode_part",
    "write_part_files", "commit_part", "read_part_commit", "prepare_parts", "consolidate_dataset", "remove_parts",
    "write_aligned", "is_store", "store_target", "open_zarr_group",
]

#: Rows per chunk of every per-event column (64k events: ~256 KiB of float32 before compression).
EVENT_CHUNK = 65536
#: Rows per chunk of the RMM array (4096 x 1287 float32 = 21 MB before compression).
RMM_CHUNK_ROWS = 4096
N_RMM_FEATURES = 1287
_RMM = "rmm"
_RMM_INDEX = "rmm_index"
_RMM_SEGMENTS = "rmm_segments"
#: Columns per consolidation task: a block of rows is split over several tasks, so that even a
#: small dataset (one block) keeps every worker busy; each task still writes whole chunks.
_COLUMNS_PER_TASK = 4
_RMM_ARRAYS = frozenset({_RMM, _RMM_INDEX, _RMM_SEGMENTS})

#: RMM codecs: name -> (numcodecs codec that workers use to encode whole chunks, the matching
#: Zarr codec list of the dataset array). Both read the same self-describing frames, so a
#: worker's encoded chunk is linked into the Zarr array as is. bytes/event and speeds are
#: measured by benchmarks/bench_processors.py.
RMM_CODECS: dict[str, tuple[Callable[[], Any], Callable[[], list[Any]]]] = {
    "zstd1": (lambda: numcodecs.Zstd(level=1), lambda: [ZstdCodec(level=1)]),
    "zstd3": (lambda: numcodecs.Zstd(level=3), lambda: [ZstdCodec(level=3)]),
    "blosc-zstd3-shuffle": (lambda: numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE),
                            lambda: [BloscCodec(cname="zstd", clevel=3, shuffle="shuffle", typesize=4)]),
    "blosc-lz4-shuffle": (lambda: numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
                          lambda: [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=4)]),
    "blosc-lz4-bitshuffle": (lambda: numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE),
                             lambda: [BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle", typesize=4)]),
    "none": (lambda: None, lambda: []),
}
DEFAULT_RMM_CODEC = "zstd1"


def _column_codec() -> list[Any]:
    """The zarr compressors of per-event columns (:data:`adsearch.store_arrays.COLUMN_CODEC`)."""
    return COLUMN_CODEC[1]()


class UnitRecord(NamedTuple):
    """One committed work unit: which rows of which file produced how many stored rows."""

    key: str
    filename: str
    entrystart: int
    entrystop: int
    n_rows: int
    n_rmm: int


def write_aligned(array: zarr.Array, start: int, values: np.ndarray) -> None:
    """Write ``values`` at ``start`` only if the write covers whole chunks (the tail may be short).

    This is the guard against Zarr's silent data loss when two writers share a chunk.
    """
    check_aligned(ArraySpec(array.path, array.shape, array.chunks, array.dtype), start, len(values))
    array[start:start + len(values)] = values


# ----------------------------------------------------------------------------- writing side


def create_store(path: str | Path, run_attrs: dict[str, Any]) -> None:
    """Create the store root (or reopen it for a resumed run) and record the run attributes."""
    from adsearch.store_parts import prepare_parts

    root = open_zarr_group(path, "a")
    prepare_parts(path)
    previous = dict(root.attrs)
    attrs = {"adsearch_store": 1, **run_attrs}
    if previous.get("adsearch_store"):
        attrs["previous_runs"] = [*previous.get("previous_runs", []), previous.get("created_utc")]
    root.update_attributes(_json_ready(attrs))


def _block_task(store: str, specs: Sequence[ArraySpec], lo: int, hi: int,
                pieces: Sequence[tuple[str, int, int]]) -> int:
    """Copy rows [lo, hi) of the dataset arrays from the parts that hold them (one Dask task)."""
    from adsearch.store_parts import Part

    location = Location(store)
    dataset = specs[0].path.rsplit("/", 1)[0]
    parts = {key: Part(store, dataset, key) for key, _, _ in pieces}
    for spec in specs:
        buffer = np.empty((hi - lo, *spec.shape[1:]), dtype=spec.dtype)
        filled = 0
        for key, a, b in pieces:
            buffer[filled:filled + b - a] = parts[key].columns[spec.path.rsplit("/", 1)[1]][a:b]
            filled += b - a
        if filled != hi - lo:
            raise StoreError(f"{spec.path}: consolidation filled {filled} of {hi - lo} rows")
        write_rows(location, spec, lo, buffer, COLUMN_CODEC)
    return hi - lo


def _plan_blocks(counts: Sequence[int], keys: Sequence[str], block: int) -> list[tuple[int, int, list[tuple[str, int, int]]]]:
    """Split the concatenation of parts into blocks of ``block`` rows: (lo, hi, [(key, a, b)])."""
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    total = int(offsets[-1])
    plans = []
    for lo in range(0, total, block):
        hi = min(lo + block, total)
        pieces = []
        for key, start, stop in zip(keys, offsets[:-1], offsets[1:]):
            a, b = max(lo, int(start)), min(hi, int(stop))
            if a < b:
                pieces.append((key, a - int(start), b - int(start)))
        plans.append((lo, hi, pieces))
    return plans


def consolidate_dataset(
    store: str | Path,
    dataset: str,
    units: Sequence[UnitRecord],
    attrs: dict[str, Any],
    *,
    submit: Callable[..., Any] | None = None,
    rmm_codec: str = DEFAULT_RMM_CODEC,
) -> int:
    """Concatenate committed parts (in the given order) into the dataset group; return n_events.

    ``submit(func, *args)`` (e.g. a Dask ``client.submit``) runs (row block, column group) tasks
    in parallel; each owns whole chunks of its columns, so parallel writes never share a chunk.
    """
    from adsearch.store_parts import Part

    store = str(store_target(store))
    root = open_zarr_group(store, "a")
    if dataset in root:
        del root[dataset]
    group = root.create_group(dataset)
    # the first part (even an empty one) defines the columns, dtypes and inner shapes (padded jet
    # constituents: (n, N, 4)); each of its columns is read once
    template = Part(store, dataset, units[0].key) if units else None
    units = [u for u in units if u.n_rows > 0]
    n_events = int(sum(u.n_rows for u in units))
    n_rmm = int(sum(u.n_rmm for u in units))
    first = {name: template.columns[name] for name in sorted(template.names())} if template else {}
    specs = [ArraySpec(f"{dataset}/{name}", (n_events, *values.shape[1:]), (EVENT_CHUNK, *values.shape[1:]),
                       values.dtype) for name, values in first.items()]
    location = Location(store)
    for spec in specs:
        write_document(location, spec, COLUMN_CODEC)
    has_rmm = template is not None and template.has_rmm
    run = submit or (lambda func, *args: func(*args))
    blocks = _plan_blocks([u.n_rows for u in units], [u.key for u in units], 4 * EVENT_CHUNK)
    per_task = _COLUMNS_PER_TASK if submit else max(len(specs), 1)  # in this process: one pass per block
    futures = [run(_block_task, store, specs[i:i + per_task], lo, hi, pieces)
               for lo, hi, pieces in blocks for i in range(0, len(specs), per_task)]
    if has_rmm:
        _link_rmm(location, dataset, units, rmm_codec)
    for future in futures:
        if hasattr(future, "result"):
            future.result()
    # one metadata write (``attrs.update`` writes zarr.json once per key: 13 writes per dataset)
    group.update_attributes(_json_ready({**attrs, "n_events": n_events, "n_rmm": n_rmm,
                                         "units": [u._asdict() for u in units], "committed": True}))
    return n_events


def _link_rmm(location: Location, dataset: str, units: Sequence[UnitRecord], rmm_codec: str) -> None:
    """Assemble the RMM array from the parts' finished chunks by hard-linking them in place.

    Each unit's rows start on a chunk boundary (its last chunk is zero-padded), so the physical
    array is a sequence of segments; ``rmm_segments`` (logical start, physical start, rows) maps
    the k stored RMMs to logical order and ``rmm_index`` maps them to event rows.
    """
    from adsearch.store_parts import Part

    segments, index, chunk_files = [], [], []
    logical = physical = event_offset = 0
    for unit in units:
        if unit.n_rmm:
            part = Part(location.target, dataset, unit.key)
            files = part.rmm_chunks()
            segments.append((logical, physical, unit.n_rmm))
            index.append(part.columns[_RMM_INDEX] + event_offset)
            chunk_files.extend(files)
            logical += unit.n_rmm
            physical += len(files) * RMM_CHUNK_ROWS
        event_offset += unit.n_rows
    rmm = ArraySpec(f"{dataset}/{_RMM}", (physical, N_RMM_FEATURES), (RMM_CHUNK_ROWS, N_RMM_FEATURES),
                    np.dtype(np.float32))
    write_document(location, rmm, RMM_CODECS[rmm_codec])
    for i, source in enumerate(chunk_files):
        location.link(source, chunk_key(rmm, i))  # no copy, no recompression
    flat_index = np.concatenate(index) if index else np.zeros(0, dtype=np.int64)
    table = np.asarray(segments, dtype=np.int64).reshape(-1, 3)
    for name, values in ((_RMM_INDEX, flat_index), (_RMM_SEGMENTS, table)):
        spec = ArraySpec(f"{dataset}/{name}", values.shape, (EVENT_CHUNK, *values.shape[1:]), np.dtype(np.int64))
        write_document(location, spec, COLUMN_CODEC)
        write_rows(location, spec, 0, values, COLUMN_CODEC)


def _json_ready(value: Any) -> Any:
    """Round-trip through JSON so numpy scalars and tuples become plain attribute values."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def store_target(path: str | Path) -> str | Path:
    """What to hand to zarr: a local Path (also for ``file://``), or the fsspec URL unchanged."""
    return Location(path).target


def is_store(path: str | Path) -> bool:
    """True when ``path`` (a folder or an fsspec URL) holds a store root (``zarr.json``)."""
    return Location(path).exists("zarr.json")


# The parts and the reading side live in their own modules, which import this one (they read its
# constants, EVENT_CHUNK / RMM_CHUNK_ROWS, at call time, so tests may monkeypatch them here): their
# names are resolved here on first use, so that any of the modules may be imported first.
if TYPE_CHECKING:  # the names below, for type checkers and linters
    from adsearch.store_parts import (
        Part, commit_part, encode_part, prepare_parts, read_part_commit, remove_parts, write_part, write_part_files,
    )
    from adsearch.store_reader import FeatureStore, open_store

_REEXPORTED = {
    "adsearch.store_parts": ("Part", "commit_part", "encode_part", "prepare_parts", "read_part_commit",
                             "remove_parts", "write_part", "write_part_files"),
    "adsearch.store_reader": ("FeatureStore", "open_store"),
}


def __getattr__(name: str) -> Any:
    import importlib

    for module, names in _REEXPORTED.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
