"""What both processors share: one work unit in, one committed store part out.

A coffea work unit (dataset, file, entry range) is read through :class:`ObjectReader`, the
subclass's ``select`` returns per-event columns (and RMM inputs), and the rows go into the
unit's private part of the store. The accumulator that travels back to the client is tiny (a
record and a cutflow per unit, or the reason a file is bad), so client memory does not grow
with the size of the dataset. :class:`PartCheckpointer` plugs the store's commit markers into
coffea's checkpointing, so a rerun loads committed units instead of reprocessing them.

With ``send_parts`` (workers that cannot see the store), the unit's part travels back to the
client instead, as encoded bytes in the accumulator (``units[key]["part"]``); the client writes
and commits it (:class:`adsearch.processors.transfer.ClientWriter`).
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
import zlib
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
from coffea import processor
from coffea.processor.checkpointer import CheckpointerABC

from adsearch import store as zstore
from adsearch.errors import BadInputError
from adsearch.processors.cutflow import Cutflow
from adsearch.processors.objects import ObjectReader
from adsearch.processors.prefetch import learn, preload_learned

__all__ = ["Selection", "StoreProcessor", "PartCheckpointer", "CollectOnlyCheckpointer", "unit_key",
           "collect_previous_unit", "commit_payload", "committed_output"]

_local = threading.local()
_collections = {"done": 0}


class Selection(NamedTuple):
    """A processor's answer for one unit: columns of selected events, cutflow, optional RMM input."""

    columns: dict[str, np.ndarray]
    cutflow: Cutflow
    rmm_collections: dict[str, Any] | None = None  # kind -> jagged records (selected events)
    met: tuple[np.ndarray, np.ndarray] | None = None


def unit_key(metadata: dict[str, Any]) -> str:
    """Stable name of a work unit: file identity (ROOT uuid and path), tree, entry range."""
    path_hash = hashlib.sha1(str(metadata["filename"]).encode()).hexdigest()[:12]
    uuid = str(metadata.get("fileuuid") or "nouuid")
    # the uuid identifies the content, the path hash tells copies of one file apart
    return f"{uuid}-{path_hash}-{metadata['treename']}-{int(metadata['entrystart'])}-{int(metadata['entrystop'])}"


def _rmm_buffer(rows: int, width: int) -> np.ndarray:
    """A per-thread reusable float32 buffer: fresh (n, 1287) outputs cost more than the kernel."""
    buffer = getattr(_local, "rmm", None)
    if buffer is None or buffer.shape[0] < rows or buffer.shape[1] != width:
        buffer = np.empty((rows, width), dtype=np.float32)
        _local.rmm = buffer
    return buffer


class StoreProcessor(processor.ProcessorABC):
    """coffea processor writing each work unit's selected events into the feature store."""

    kind = "base"
    #: True: return the encoded part to the client instead of writing it (no shared disk)
    send_parts = False

    def __init__(self, store_path: str, *, rmm_fraction: float = 1.0, seed: int = 0,
                 rmm_codec: str = zstore.DEFAULT_RMM_CODEC) -> None:
        self.store_path = str(store_path)
        self.rmm_fraction = float(rmm_fraction)
        self.seed = int(seed)
        self.rmm_codec = rmm_codec

    @abstractmethod
    def select(self, reader: ObjectReader) -> Selection:
        """Apply the selection to one chunk; raise BadInputError for unusable input."""

    def rmm_config(self) -> Any:
        return None

    def process(self, events: Any) -> dict[str, Any]:
        meta = dict(events.metadata)
        dataset, key = meta["dataset"], unit_key(meta)
        learned = (self.kind, str(meta.get("dataset_schema", "")))
        try:
            mapping = preload_learned(events, learned)  # inside the try: a bad basket is a bad file
            selection = self.select(ObjectReader(events, **self.reader_options()))
            learn(mapping, learned)
        except BadInputError as exc:
            return {dataset: {"units": {}, "bad_files": {exc.path: exc.reason}}}
        except Exception as exc:  # reading a truncated/corrupt basket surfaces here, lazily
            if not _is_read_error(exc):
                raise
            reason = f"cannot read entries {meta['entrystart']}-{meta['entrystop']}: {type(exc).__name__}: {exc}"
            return {dataset: {"units": {}, "bad_files": {meta['filename']: reason[:500]}}}
        selection.cutflow.check()
        n_rows = len(next(iter(selection.columns.values()))) if selection.columns else 0
        rmm, rmm_rows = self._rmm(selection, n_rows, key)
        files = zstore.encode_part(selection.columns, rmm, rmm_rows, self.rmm_codec, compress_columns=self.send_parts)
        record = zstore.UnitRecord(key, meta["filename"], int(meta["entrystart"]), int(meta["entrystop"]),
                                   n_rows, 0 if rmm_rows is None else len(rmm_rows))
        unit = {"record": record._asdict(), "cutflow": selection.cutflow.to_dict()}
        if self.send_parts:
            unit["part"] = files
        else:
            zstore.write_part_files(self.store_path, dataset, key, files)
        return {dataset: {"units": {key: unit}, "bad_files": {}}}

    def reader_options(self) -> dict[str, Any]:
        return {}

    def _rmm(self, selection: Selection, n_rows: int, key: str) -> tuple[Iterator[np.ndarray] | None, np.ndarray | None]:
        """Rows that get an RMM (all, or a seeded random subset) and a generator of their
        features, one store chunk at a time, computed into a reused buffer."""
        if selection.rmm_collections is None or selection.met is None:
            return None, None
        if self.rmm_fraction >= 1.0:
            rows = np.arange(n_rows, dtype=np.int64)
        else:
            rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
            rows = np.flatnonzero(rng.random(n_rows) < self.rmm_fraction).astype(np.int64)
        return self._rmm_frames(selection, rows, len(rows) == n_rows), rows

    def _rmm_frames(self, selection: Selection, rows: np.ndarray, every_row: bool) -> Iterator[np.ndarray]:
        from adsearch.processors.rmm import rmm_features, rmm_layout

        width = rmm_layout(self.rmm_config()).kept_cells.size
        buffer = _rmm_buffer(zstore.RMM_CHUNK_ROWS, width)
        met_pt, met_phi = selection.met
        # every row: flatten each kind once and hand the kernel zero-copy views per frame (slicing
        # the selected, indexed awkward records per frame cost more than the RMM kernel itself)
        flat = _flat_kinds(selection.rmm_collections) if every_row else None
        for lo in range(0, len(rows), zstore.RMM_CHUNK_ROWS):
            hi = min(lo + zstore.RMM_CHUNK_ROWS, len(rows))
            take = slice(lo, hi) if every_row else rows[lo:hi]
            if flat is not None:
                colls = {kind: _frame_view(offsets, columns, lo, hi) for kind, (offsets, columns) in flat.items()}
            else:
                colls = {kind: objs[take] for kind, objs in selection.rmm_collections.items()}
            yield rmm_features(colls, met_pt[take], met_phi[take], config=self.rmm_config(), out=buffer).features

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator


_RMM_FIELDS = ("pt", "eta", "phi", "mass")


def _flat_kinds(collections: dict[str, Any]) -> dict[str, tuple[np.ndarray, list[np.ndarray]]]:
    """kind -> (offsets, [pt, eta, phi, mass] contents), each flattened once per unit."""
    from adsearch.processors.rmm import _kind_arrays

    return {kind: _kind_arrays(objs, kind) for kind, objs in collections.items()}


def _frame_view(offsets: np.ndarray, columns: list[np.ndarray], lo: int, hi: int) -> Any:
    """Events [lo, hi) of a flattened kind as plain list-offset records (no copy)."""
    import awkward as ak

    contents = ak.contents
    record = contents.RecordArray([contents.NumpyArray(c) for c in columns], list(_RMM_FIELDS),
                                  length=len(columns[0]))
    return ak.Array(contents.ListOffsetArray(ak.index.Index64(offsets[lo:hi + 1]), record))


def collect_previous_unit() -> None:
    """In a Dask worker, free the previous work unit's reference cycles before the next unit opens.

    uproot's file and TTree models and coffea's virtual arrays form reference cycles, so a
    finished unit's buffers (~30 MB per 100k lepton events) wait for Python's next full garbage
    collection, which comes after an unpredictable number of units: worker peak memory then grew
    with the number of input files (measured: 382 -> 506 MB for 1 -> 8 units per worker). A full
    collection costs ~110 ms over the ~360k objects of the imported stack, so after the first
    unit those are frozen (``gc.freeze``) and every later collection takes ~1 ms. Outside Dask
    workers (in-process runs, a notebook) nothing is done: freezing a user's objects would
    keep them alive for good.
    """
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return
    gc.collect()
    _collections["done"] += 1
    if _collections["done"] == 2:  # the stack is imported and JIT-compiled after one unit
        gc.freeze()


def _is_read_error(exc: BaseException) -> bool:
    """True for exceptions raised while decompressing/deserializing ROOT baskets."""
    import uproot

    chain, seen = exc, set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if isinstance(chain, (OSError, EOFError, zlib.error, uproot.deserialization.DeserializationError)):
            return True
        module = type(chain).__module__ or ""
        if module.startswith(("uproot", "cramjam", "lz4", "zstandard")):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def commit_payload(output: Any) -> bytes:
    """A unit's commit marker: the processor's output for it (records, cutflow) as JSON.

    JSON, not a pickle: opening a store (or resuming into one) never runs code from its files.
    coffea's wrapper around the output (``{"out": ..., "processed": {WorkItem}}``) is not kept:
    the Runner only accumulates ``processed``.
    """
    inner = output.get("out", output) if isinstance(output, dict) else output
    return json.dumps(inner, default=lambda o: o.item() if hasattr(o, "item") else str(o)).encode()


def committed_output(payload: bytes | None, dataset: str) -> dict[str, Any] | None:
    """The output a commit marker stands for, its units flagged ``resumed``; None for no marker or
    a damaged one (the unit is then processed again)."""
    if payload is None:
        return None
    try:
        inner = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(inner, dict):
        return None
    for unit in inner.get(dataset, {}).get("units", {}).values():
        unit["resumed"] = True  # counted by run_processor: loaded, not processed again
    return {"out": inner, "processed": set()}


class PartCheckpointer(CheckpointerABC):
    """coffea checkpointer backed by the store: a unit's output is its part's commit marker."""

    def __init__(self, store_path: str) -> None:
        self.store_path = str(store_path)

    def load(self, metadata: Any, processor_instance: Any) -> Any:
        collect_previous_unit()  # coffea calls load first in every unit, before opening the file
        payload = zstore.read_part_commit(self.store_path, metadata["dataset"], unit_key(metadata))
        return committed_output(payload, metadata["dataset"])

    def save(self, output: Any, metadata: Any, processor_instance: Any) -> None:
        inner = output.get("out", output) if isinstance(output, dict) else output
        entry = inner.get(metadata["dataset"], {}) if isinstance(inner, dict) else {}
        if entry.get("bad_files"):
            return  # bad input is re-examined on every run, never committed
        zstore.commit_part(self.store_path, metadata["dataset"], unit_key(metadata), commit_payload(output))


class CollectOnlyCheckpointer(CheckpointerABC):
    """For workers that cannot see the store: no resume lookup there (the client skips committed
    units before sending them), only the per-unit collection of the previous unit's cycles."""

    def load(self, metadata: Any, processor_instance: Any) -> Any:
        collect_previous_unit()
        return None

    def save(self, output: Any, metadata: Any, processor_instance: Any) -> None:
        return None
