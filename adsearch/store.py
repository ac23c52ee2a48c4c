"""The Zarr feature store: one store per processing run, one group per dataset.

Layout (zarr v3, local directory)::

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
  consolidation tasks own disjoint chunk ranges, so they may run in parallel on Dask workers;
* the RMM (~98% of the bytes) is never rewritten: workers encode it directly as finished Zarr
  chunks (unit rows start on a chunk boundary, the last chunk zero-padded), and consolidation
  hard-links those files into ``rmm/c/<i>/0``. ``rmm_segments`` maps the k stored RMMs back
  to logical order. The codec (default zstd level 1) was chosen by measurement: see
  ``RMM_CODECS`` and benchmarks/bench_processors.py (~70 B/event, ~330k rows/s per core).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

from adsearch.errors import AdsearchError

__all__ = [
    "EVENT_CHUNK", "RMM_CHUNK_ROWS", "N_RMM_FEATURES", "RMM_CODECS", "DEFAULT_RMM_CODEC",
    "StoreError", "FeatureStore", "UnitRecord", "open_store", "create_store", "write_part",
    "commit_part", "read_part_commit", "prepare_parts", "consolidate_dataset", "remove_parts", "write_aligned",
]

#: Rows per chunk of every per-event column (64k events: ~256 KiB of float32 before compression).
EVENT_CHUNK = 65536
#: Rows per chunk of the RMM array (4096 x 1287 float32 = 21 MB before compression).
RMM_CHUNK_ROWS = 4096
N_RMM_FEATURES = 1287
_RMM = "rmm"
_RMM_INDEX = "rmm_index"
_RMM_SEGMENTS = "rmm_segments"
_PARTS = "_parts"
_COMMIT = ".commit"
#: Columns per consolidation task: a block of rows is split over several tasks, so that even a
#: small dataset (one block) keeps every worker busy; each task still writes whole chunks.
_COLUMNS_PER_TASK = 4
_RMM_ARRAYS = frozenset({_RMM, _RMM_INDEX, _RMM_SEGMENTS})
_PROTECTED = _RMM_ARRAYS | {"run", "luminosityBlock", "event"}

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
    return [BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")]


class StoreError(AdsearchError):
    """A store, dataset or column is missing, or a write would corrupt the store."""


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
    chunk = array.chunks[0]
    stop = start + len(values)
    if start % chunk != 0 or (stop % chunk != 0 and stop != array.shape[0]):
        raise StoreError(
            f"misaligned write to {array.path}: rows [{start}, {stop}) with chunk {chunk} "
            f"and length {array.shape[0]}"
        )
    array[start:stop] = values


# ----------------------------------------------------------------------------- writing side


def create_store(path: str | Path, run_attrs: dict[str, Any]) -> None:
    """Create the store root (or reopen it for a resumed run) and record the run attributes."""
    path = Path(path)
    root = zarr.open_group(str(path), mode="a")
    prepare_parts(path)
    previous = dict(root.attrs)
    attrs = {"adsearch_store": 1, **run_attrs}
    if previous.get("adsearch_store"):
        attrs["previous_runs"] = [*previous.get("previous_runs", []), previous.get("created_utc")]
    root.attrs.update(_json_ready(attrs))


def _part_path(store: str | Path, dataset: str, key: str) -> Path:
    return Path(store) / _PARTS / dataset / key


def prepare_parts(store: str | Path) -> None:
    """Make ``_parts`` an (empty) Zarr group, so listing the store never meets a foreign folder."""
    if not (Path(store) / _PARTS / "zarr.json").is_file():
        zarr.open_group(str(Path(store) / _PARTS), mode="a")


def _commit_path(store: str | Path, dataset: str, key: str) -> Path:
    return Path(store) / _PARTS / dataset / (key + _COMMIT)


def write_part(
    store: str | Path,
    dataset: str,
    key: str,
    columns: dict[str, np.ndarray],
    rmm_frames: Iterable[np.ndarray] | None = None,
    rmm_rows: np.ndarray | None = None,
    rmm_codec: str = DEFAULT_RMM_CODEC,
) -> None:
    """Write one work unit's rows into its private part (one writer, so no alignment issue).

    A part is plain files: ``columns.npz`` (uncompressed, ~100 B/event) and the RMM as finished
    Zarr chunks ``rmm_<i>`` of RMM_CHUNK_ROWS rows each (the last one zero-padded), encoded with
    the dataset array's codec. ``rmm_frames`` yields blocks of at most RMM_CHUNK_ROWS rows, so a
    worker never holds more than one chunk of RMMs (a fresh (n, 1287) array costs more than
    computing it). Consolidation hard-links these chunks into the dataset's ``rmm`` array: the
    RMM is compressed exactly once. (24 small Zarr arrays per part would cost ~0.5 s of
    metadata I/O, more than processing a small chunk.)
    """
    path = _part_path(store, dataset, key)
    _commit_path(store, dataset, key).unlink(missing_ok=True)
    if path.exists():
        shutil.rmtree(path)  # an uncommitted leftover of an interrupted run
    path.mkdir(parents=True)
    arrays = {name: np.ascontiguousarray(values) for name, values in columns.items()}
    if rmm_frames is not None and rmm_rows is not None:
        codec = RMM_CODECS[rmm_codec][0]()
        padded = np.zeros((RMM_CHUNK_ROWS, N_RMM_FEATURES), dtype=np.float32)
        n_frames = n_rows = 0
        for frame in rmm_frames:
            rows_in_frame = len(frame)
            if rows_in_frame > RMM_CHUNK_ROWS:
                raise StoreError(f"RMM frame of {rows_in_frame} rows exceeds the chunk of {RMM_CHUNK_ROWS}")
            if rows_in_frame < RMM_CHUNK_ROWS or not frame.flags.c_contiguous or frame.dtype != np.float32:
                padded[:rows_in_frame] = frame
                padded[rows_in_frame:] = 0.0
                frame = padded
            (path / f"rmm_{n_frames}").write_bytes(frame.tobytes() if codec is None else codec.encode(frame))
            n_rows += rows_in_frame
            n_frames += 1
        if n_rows != len(rmm_rows):
            raise StoreError(f"{key}: {n_rows} RMM rows for {len(rmm_rows)} indices")
        arrays[_RMM_INDEX] = rmm_rows.astype(np.int64)
        arrays["_rmm_frames"] = np.asarray([n_frames, RMM_CHUNK_ROWS], dtype=np.int64)
    np.savez(path / "columns.npz", **arrays)


class _Part:
    """Read access to one part's columns and RMM chunk files."""

    def __init__(self, store: str | Path, dataset: str, key: str) -> None:
        self.path = _part_path(store, dataset, key)
        self.columns = np.load(self.path / "columns.npz")

    def names(self) -> list[str]:
        return [n for n in self.columns.files if not n.startswith("_") and n != _RMM_INDEX]

    @property
    def has_rmm(self) -> bool:
        return _RMM_INDEX in self.columns.files

    def rmm_chunks(self) -> list[Path]:
        n_frames, frame_rows = (int(x) for x in self.columns["_rmm_frames"])
        if frame_rows != RMM_CHUNK_ROWS:
            raise StoreError(f"{self.path}: RMM chunks of {frame_rows} rows, the store uses {RMM_CHUNK_ROWS}")
        return [self.path / f"rmm_{i}" for i in range(n_frames)]


def commit_part(store: str | Path, dataset: str, key: str, payload: bytes) -> None:
    """Mark a part as complete by writing its summary last, atomically (temp file + rename)."""
    marker = _commit_path(store, dataset, key)
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_name(marker.name + f".tmp{os.getpid()}")
    tmp.write_bytes(payload)
    tmp.replace(marker)


def read_part_commit(store: str | Path, dataset: str, key: str) -> bytes | None:
    """The committed summary of a part, or None when the unit still has to be processed."""
    marker = _commit_path(store, dataset, key)
    return marker.read_bytes() if marker.is_file() else None


def _block_task(store: str, dataset: str, names: Sequence[str], lo: int, hi: int,
                pieces: Sequence[tuple[str, int, int]]) -> int:
    """Copy rows [lo, hi) of the dataset arrays from the parts that hold them (one Dask task)."""
    target = zarr.open_group(store, mode="r+")[dataset]
    parts = {key: _Part(store, dataset, key) for key, _, _ in pieces}
    for name in names:
        out_array = target[name]
        buffer = np.empty((hi - lo, *out_array.shape[1:]), dtype=out_array.dtype)
        filled = 0
        for key, a, b in pieces:
            buffer[filled:filled + b - a] = parts[key].columns[name][a:b]
            filled += b - a
        if filled != hi - lo:
            raise StoreError(f"{dataset}/{name}: consolidation filled {filled} of {hi - lo} rows")
        write_aligned(out_array, lo, buffer)
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
    store = str(store)
    root = zarr.open_group(store, mode="a")
    if dataset in root:
        del root[dataset]
    group = root.create_group(dataset)
    # the first part (even an empty one) defines the columns and dtypes
    template = _Part(store, dataset, units[0].key) if units else None
    units = [u for u in units if u.n_rows > 0]
    n_events = int(sum(u.n_rows for u in units))
    n_rmm = int(sum(u.n_rmm for u in units))
    names = sorted(template.names()) if template else []
    for name in names:
        group.create_array(name, shape=(n_events,), dtype=template.columns[name].dtype,
                           chunks=(EVENT_CHUNK,), compressors=_column_codec())
    has_rmm = template is not None and template.has_rmm
    run = submit or (lambda func, *args: func(*args))
    blocks = _plan_blocks([u.n_rows for u in units], [u.key for u in units], 4 * EVENT_CHUNK)
    futures = [run(_block_task, store, dataset, names[i:i + _COLUMNS_PER_TASK], lo, hi, pieces)
               for lo, hi, pieces in blocks for i in range(0, len(names), _COLUMNS_PER_TASK)]
    if has_rmm:
        _link_rmm(group, store, dataset, units, rmm_codec)
    for future in futures:
        if hasattr(future, "result"):
            future.result()
    group.attrs.update(_json_ready({**attrs, "n_events": n_events, "n_rmm": n_rmm,
                                    "units": [u._asdict() for u in units], "committed": True}))
    return n_events


def _link_rmm(group: zarr.Group, store: str, dataset: str, units: Sequence[UnitRecord], rmm_codec: str) -> None:
    """Assemble the RMM array from the parts' finished chunks by hard-linking them in place.

    Each unit's rows start on a chunk boundary (its last chunk is zero-padded), so the physical
    array is a sequence of segments; ``rmm_segments`` (logical start, physical start, rows) maps
    the k stored RMMs to logical order and ``rmm_index`` maps them to event rows.
    """
    segments, index, chunk_files = [], [], []
    logical = physical = event_offset = 0
    for unit in units:
        if unit.n_rmm:
            part = _Part(store, dataset, unit.key)
            files = part.rmm_chunks()
            segments.append((logical, physical, unit.n_rmm))
            index.append(part.columns[_RMM_INDEX] + event_offset)
            chunk_files.extend(files)
            logical += unit.n_rmm
            physical += len(files) * RMM_CHUNK_ROWS
        event_offset += unit.n_rows
    group.create_array(_RMM, shape=(physical, N_RMM_FEATURES), dtype=np.float32,
                       chunks=(RMM_CHUNK_ROWS, N_RMM_FEATURES), compressors=RMM_CODECS[rmm_codec][1]())
    target = Path(store) / dataset / _RMM / "c"
    for i, source in enumerate(chunk_files):
        destination = target / str(i) / "0"  # Zarr v3 default chunk key "c/<row>/<col>"
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, destination)  # no copy, no recompression; the part keeps its own link
        except OSError:
            shutil.copyfile(source, destination)
    flat_index = np.concatenate(index) if index else np.zeros(0, dtype=np.int64)
    table = np.asarray(segments, dtype=np.int64).reshape(-1, 3)
    for name, values, chunk in ((_RMM_INDEX, flat_index, EVENT_CHUNK), (_RMM_SEGMENTS, table, EVENT_CHUNK)):
        out = group.create_array(name, shape=values.shape, dtype=np.int64, chunks=(chunk, *values.shape[1:]),
                                 compressors=_column_codec())
        for lo in range(0, len(values), chunk):
            write_aligned(out, lo, values[lo:lo + chunk])


def remove_parts(store: str | Path, dataset: str) -> None:
    """Delete a dataset's parts once it is consolidated (they are the resume record until then)."""
    shutil.rmtree(Path(store) / _PARTS / dataset, ignore_errors=True)
    parts = Path(store) / _PARTS
    if parts.is_dir() and not [p for p in parts.iterdir() if p.name != "zarr.json"]:
        shutil.rmtree(parts)


def _json_ready(value: Any) -> Any:
    """Round-trip through JSON so numpy scalars and tuples become plain attribute values."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


# ----------------------------------------------------------------------------- reading side


class FeatureStore:
    """Read (and extend with derived columns) a committed feature store. Use :func:`open_store`."""

    def __init__(self, path: Path, root: zarr.Group, mode: str) -> None:
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
            raise StoreError(f"{self.path}: unknown dataset {dataset!r}; the store has {self.datasets}")
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
            raise StoreError(f"{self.path}: dataset {dataset!r} has no column {column!r}; "
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
            raise StoreError(f"chunk_events must be >= 1, got {chunk_events}")
        total = self.n_events(dataset)
        for start in range(0, total, chunk_events):
            stop = min(start + chunk_events, total)
            yield start, stop, self.read(dataset, columns, start, stop)

    def _rmm_group(self, dataset: str) -> zarr.Group:
        group = self._group(dataset)
        if _RMM not in group.array_keys():
            raise StoreError(f"{self.path}: dataset {dataset!r} was stored without RMM "
                             "(processed by the dijet processor?)")
        return group

    def rmm_index(self, dataset: str) -> np.ndarray:
        """Event rows that have an RMM, ascending (all rows unless stored with rmm_fraction < 1)."""
        return self._rmm_group(dataset)[_RMM_INDEX][:]

    def read_rmm(self, dataset: str, start: int | None = None, stop: int | None = None) -> np.ndarray:
        """RMM rows [start, stop) in rmm_index order, shape (k, 1287) float32."""
        group = self._rmm_group(dataset)
        lo, hi, _ = slice(start, stop).indices(int(group.attrs["n_rmm"]))
        out = np.empty((max(hi - lo, 0), N_RMM_FEATURES), dtype=np.float32)
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
            raise StoreError(f"{self.path}: opened read-only; use open_store(path, mode='a')")
        group = self._group(dataset)
        values = np.asarray(values)
        if values.ndim < 1 or len(values) != self.n_events(dataset):
            raise StoreError(f"{dataset}/{name}: {len(values) if values.ndim else 0} values, "
                             f"the dataset has {self.n_events(dataset)} events")
        if name in _PROTECTED or name.startswith("_"):
            raise StoreError(f"{dataset}/{name}: reserved column name")
        if name in group.array_keys():
            if not overwrite:
                raise StoreError(f"{dataset}/{name} exists; pass overwrite=True to replace it")
            del group[name]
        array = group.create_array(name, shape=values.shape, dtype=values.dtype,
                                   chunks=(EVENT_CHUNK, *values.shape[1:]), compressors=_column_codec())
        for lo in range(0, len(values), EVENT_CHUNK):
            write_aligned(array, lo, values[lo:lo + EVENT_CHUNK])
        if attrs:
            array.attrs.update(_json_ready(attrs))


def open_store(path: str | Path, mode: str = "r") -> FeatureStore:
    """Open a feature store written by ``adsearch process`` ("r" read-only, "a" to add columns)."""
    if mode not in ("r", "a"):
        raise StoreError(f"mode must be 'r' or 'a', got {mode!r}")
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise StoreError(f"{path}: no feature store here (missing zarr.json); run `adsearch process` first")
    root = zarr.open_group(str(path), mode="r" if mode == "r" else "r+")
    if not root.attrs.get("adsearch_store"):
        raise StoreError(f"{path}: a Zarr group but not an adsearch feature store")
    return FeatureStore(path, root, mode)
