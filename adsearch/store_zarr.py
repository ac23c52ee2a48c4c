"""zarr's ``Store`` interface over a :class:`~adsearch.store_io.Location`, for file systems that
zarr's own FsspecStore cannot drive (``root://`` through fsspec-xrootd 0.5.5, which has no
``_pipe_file`` and whose ``_cat_file`` requires a byte range; see :mod:`adsearch.store_io`).

Every key is one whole file read or written by the Location; the calls block zarr's event loop
for one round trip each, which is what a store of a few hundred files per dataset needs.

>>> import tempfile, zarr
>>> from adsearch.store_io import Location
>>> group = zarr.open_group(LocationStore(Location(tempfile.mkdtemp())), mode="a")
>>> group.attrs["run"] = 1
>>> dict(group.attrs)
{'run': 1}
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, Store, SuffixByteRequest

from adsearch.store_io import Location

__all__ = ["LocationStore"]


def _cut(data: bytes, byte_range: ByteRequest | None) -> bytes:
    if byte_range is None:
        return data
    if isinstance(byte_range, RangeByteRequest):
        return data[byte_range.start:byte_range.end]
    if isinstance(byte_range, OffsetByteRequest):
        return data[byte_range.offset:]
    if isinstance(byte_range, SuffixByteRequest):
        return data[-byte_range.suffix:] if byte_range.suffix else b""
    raise TypeError(f"unknown byte range {byte_range!r}")


class LocationStore(Store):
    """A zarr store whose keys are files below a Location's root."""

    supports_writes = True
    supports_deletes = True
    supports_partial_writes = False
    supports_listing = True

    def __init__(self, location: Location, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self.location = location

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocationStore) and str(other.location) == str(self.location)

    def __repr__(self) -> str:
        return f"LocationStore({str(self.location)!r})"

    def with_read_only(self, read_only: bool = False) -> LocationStore:
        return LocationStore(self.location, read_only=read_only)

    async def get(self, key: str, prototype: Any, byte_range: ByteRequest | None = None) -> Any:
        try:
            data = self.location.read(key)
        except (FileNotFoundError, IsADirectoryError):
            return None
        return prototype.buffer.from_bytes(_cut(data, byte_range))

    async def get_partial_values(self, prototype: Any,
                                 key_ranges: Iterable[tuple[str, ByteRequest | None]]) -> list[Any]:
        return [await self.get(key, prototype, byte_range) for key, byte_range in key_ranges]

    async def exists(self, key: str) -> bool:
        return self.location.exists(key)

    async def set(self, key: str, value: Any) -> None:
        self._check_writable()
        self.location.write(key, value.to_bytes())

    async def delete(self, key: str) -> None:
        self._check_writable()
        self.location.remove(key)

    async def delete_dir(self, prefix: str) -> None:
        self._check_writable()
        self.location.remove(prefix.rstrip("/"))

    async def list(self) -> AsyncIterator[str]:
        for key in self.location.walk(""):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for key in self.location.walk(""):
            if key.startswith(prefix):
                yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        for name in self.location.listdir(prefix.rstrip("/")):
            yield name
