"""Zarr v3 arrays written as plain files: zarr's own metadata document, then whole encoded chunks.

Why not through zarr: every ``create_array`` and ``setitem`` is several trips to zarr's event-loop
thread with existence checks and parent-group writes, ~2-3 ms of CPU per array beyond the codec;
a lepton dataset has ~25 arrays, so consolidating one 80k-event work unit spent ~0.1 s of CPU
(a fifth of the whole run) in zarr's bookkeeping. Here the document is made by zarr's
``ArrayV3Metadata`` and each chunk is encoded by the numcodecs codec that zarr's codec wraps,
zero-padded to the chunk shape as zarr pads it: the files are byte-identical to the ones zarr
writes (tests/processors/test_store.py compares both), and any zarr reader opens them.

>>> from adsearch.store_io import Location
>>> import tempfile, zarr
>>> where = Location(tempfile.mkdtemp())
>>> spec = ArraySpec("x", (5,), (4,), np.dtype("float32"))
>>> write_document(where, spec, COLUMN_CODEC)
>>> write_rows(where, spec, 0, np.arange(5, dtype=np.float32), COLUMN_CODEC)
>>> zarr.open_array(f"{where.target}/x", mode="r")[:].tolist()
[0.0, 1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numcodecs
import numpy as np
from zarr.codecs import BloscCodec, BytesCodec

from adsearch.store_io import Location, StoreError

__all__ = ["ArraySpec", "Codec", "COLUMN_CODEC", "write_document", "write_rows", "check_aligned", "chunk_key"]

#: (numcodecs codec that encodes a chunk, the matching list of zarr compressors of the array)
Codec = tuple[Callable[[], Any], Callable[[], list[Any]]]

#: Per-event columns: Blosc-zstd level 1 with byte shuffle. Measured on the 22 columns of an
#: 80k-event lepton unit (40k stored rows, benchmarks/bench_processors.py inputs), encode CPU and
#: bytes per stored event: zstd level 5 34 ms, 11.4 B; level 3 16 ms, 12.2 B; level 1 9 ms, 13.3 B;
#: lz4 3 ms, 17.1 B. Level 1 saves 25 ms per 80k events (~5% of the run) for +1.9 B/event
#: (+2.4% of a lepton store, whose RMM takes ~69 B/event); lz4 would save 6 ms more for +3.8 B.
COLUMN_CODEC: Codec = (lambda: numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.SHUFFLE),
                       lambda: [BloscCodec(cname="zstd", clevel=1, shuffle="shuffle")])


class ArraySpec(NamedTuple):
    """Where an array lives below the store root and its shape, chunk shape and dtype."""

    path: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype


def chunk_key(spec: ArraySpec, index: int) -> str:
    """Zarr v3's default chunk key of the ``index``-th chunk along the first axis."""
    return f"{spec.path}/c/{index}" + "/0" * (len(spec.shape) - 1)


@functools.lru_cache(maxsize=64)
def _data_type(dtype: np.dtype) -> Any:
    """zarr's data type of a numpy dtype (zarr's lookup tries every registered type: ~0.5 ms)."""
    from zarr.core.dtype import get_data_type_from_native_dtype

    return get_data_type_from_native_dtype(dtype)


def write_document(location: Location, spec: ArraySpec, codec: Codec) -> None:
    """Write the array's ``zarr.json`` (the array then reads as all zeros until chunks land)."""
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.metadata.v3 import ArrayV3Metadata

    data_type = _data_type(np.dtype(spec.dtype))
    metadata = ArrayV3Metadata(
        shape=spec.shape, data_type=data_type,
        chunk_grid={"name": "regular", "configuration": {"chunk_shape": spec.chunks}},
        chunk_key_encoding={"name": "default", "configuration": {"separator": "/"}},
        fill_value=data_type.default_scalar(), codecs=[BytesCodec(), *codec[1]()], attributes={},
        dimension_names=None)
    document = metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"].to_bytes()
    location.write(f"{spec.path}/zarr.json", document)


def check_aligned(spec: ArraySpec, start: int, n_rows: int) -> None:
    """Refuse a write that does not cover whole chunks (only the array's tail may be short): two
    writers sharing a chunk make Zarr lose data silently."""
    chunk, stop = spec.chunks[0], start + n_rows
    if start % chunk != 0 or (stop % chunk != 0 and stop != spec.shape[0]):
        raise StoreError(f"misaligned write to {spec.path}: rows [{start}, {stop}) with chunk {chunk} "
                         f"and length {spec.shape[0]}")


def write_rows(location: Location, spec: ArraySpec, start: int, values: np.ndarray, codec: Codec) -> None:
    """Encode rows [start, start + len(values)) as whole chunks and write them (aligned writes only)."""
    check_aligned(spec, start, len(values))
    encoder = codec[0]()
    rows = spec.chunks[0]
    values = np.asarray(values, dtype=spec.dtype.newbyteorder("<"))  # zarr's bytes codec: little endian
    padded = None
    for lo in range(0, len(values), rows):
        block = values[lo:lo + rows]
        if len(block) < rows:  # zarr stores the tail chunk zero-padded to the full chunk shape
            padded = np.zeros((rows, *block.shape[1:]), dtype=block.dtype) if padded is None else padded
            padded[:len(block)] = block
            block = padded
        block = np.ascontiguousarray(block)
        data = block.tobytes() if encoder is None else bytes(encoder.encode(block))
        location.write(chunk_key(spec, (start + lo) // rows), data)
