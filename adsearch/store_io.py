"""Where a feature store lives: a local folder, or any fsspec URL (object storage at a facility).

:class:`Location` gives the store code the few file operations it needs, by key relative to the
store root. A local folder (also given as ``file://``) keeps what local disks allow: hard links
for the RMM chunks and atomic renames for commit markers. An fsspec URL (``s3://``,
``gs://``, ``memory://`` ...) writes objects whole, so a commit marker is one object written after
the part's data, and linking is a server-side copy where the file system has one.

File systems that write through file objects only (fsspec-xrootd 0.5.5 for ``root://``: no
``pipe_file`` or ``cp_file``, and ``cat_file`` without a byte range raises TypeError) are written
with ``open("wb")`` into a temporary name renamed into place, and read with ``open("rb")``; zarr
cannot drive such a file system itself (its FsspecStore calls ``_pipe_file``/``_cat_file``), so
:func:`open_zarr_group` hands zarr a :class:`adsearch.store_zarr.LocationStore` over this class.

>>> Location("/data/run1.zarr").is_local, Location("memory://run1.zarr").is_local
(True, False)
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from adsearch.errors import AdsearchError

__all__ = ["Location", "StoreError", "is_url", "open_zarr_group"]

#: fsspec protocols whose file system zarr's FsspecStore cannot use (see the module docstring)
_ZARR_VIA_LOCATION = frozenset({"root"})

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: str | Path) -> bool:
    """True for ``scheme://...`` strings (root, https, file, s3 ...): they stay strings end to end,
    never passing through :class:`Path`, which collapses ``root://host//data`` to ``root:/host/data``.

    >>> is_url("root://eos.cern.ch//eos/a.root"), is_url("/data/a.root")
    (True, False)
    """
    return isinstance(path, str) and bool(_URL.match(path))


class StoreError(AdsearchError):
    """A store, dataset or column is missing, or a write would corrupt the store."""


class Location:
    """A store root and file operations on keys below it (``"_parts/ds/unit/columns.npz"``)."""

    def __init__(self, where: str | Path) -> None:
        text = str(where) if isinstance(where, Path) else where
        if text.startswith("file://"):
            text = text[len("file://"):]
        self.fs: Any = None
        if is_url(text):
            import fsspec

            #: written and read through file objects only (module docstring)
            self.through_files = text.split("://", 1)[0] in _ZARR_VIA_LOCATION
            # fsspec-xrootd keeps directory listings forever: a file written after a listing
            # would then be "missing" (its info() raises), so no listings cache there
            options = {"use_listings_cache": False} if self.through_files else {}
            self.fs, self._root = fsspec.core.url_to_fs(text, **options)
            self.target: str | Path = text  # what zarr opens
        else:
            self._root = str(Path(text))
            self.target = Path(text)
            self.through_files = False

    @property
    def is_local(self) -> bool:
        return self.fs is None

    def __str__(self) -> str:
        return str(self.target)

    def path(self, key: str) -> str:
        """The file system path of ``key`` (a local path, or the fsspec path without protocol)."""
        return f"{self._root.rstrip('/')}/{key}" if key else self._root

    def exists(self, key: str) -> bool:
        return os.path.exists(self.path(key)) if self.is_local else bool(self.fs.exists(self.path(key)))

    def read(self, key: str) -> bytes:
        if self.is_local:
            return Path(self.path(key)).read_bytes()
        if not self.through_files:
            return bytes(self.fs.cat_file(self.path(key)))
        try:
            with self.fs.open(self.path(key), "rb") as handle:
                return bytes(handle.read())
        except OSError as exc:  # the server's "no such file" is a plain OSError
            if not self.fs.exists(self.path(key)):
                raise FileNotFoundError(self.path(key)) from exc
            raise

    def write(self, key: str, data: bytes, *, atomic: bool = False) -> None:
        """Write one file; ``atomic``: readers see the old state or all of ``data``, never part."""
        target = self.path(key)
        if self.through_files:  # streamed into the file: renamed into place when it must be whole
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            written = f"{target}.tmp{os.getpid()}" if atomic else target
            with self.fs.open(written, "wb") as handle:
                handle.write(data)
            if atomic:
                self.fs.mv(written, target)
            return
        if not self.is_local:  # one object, written whole
            self.fs.pipe_file(target, data)
            return
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        if not atomic:
            Path(target).write_bytes(data)
            return
        tmp = Path(f"{target}.tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(target)

    def remove(self, key: str) -> None:
        """Delete a file or a folder tree; nothing happens when it does not exist."""
        target = self.path(key)
        if self.is_local:
            if os.path.isdir(target):
                shutil.rmtree(target, ignore_errors=True)
            elif os.path.lexists(target):
                os.unlink(target)
        elif self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    def listdir(self, key: str) -> list[str]:
        """Names directly below ``key`` ([] when it does not exist)."""
        target = self.path(key)
        if self.is_local:
            return sorted(os.listdir(target)) if os.path.isdir(target) else []
        if not self.fs.exists(target):
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(target, detail=False))

    def link(self, source: str, destination: str) -> None:
        """Make ``destination`` hold ``source``'s bytes without re-encoding: a hard link on a local
        disk (no copy at all), a server-side copy (or read + write) elsewhere."""
        src, dst = self.path(source), self.path(destination)
        if self.is_local:
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)  # the part keeps its own link until it is removed
            except OSError:
                shutil.copyfile(src, dst)
            return
        try:
            self.fs.cp_file(src, dst)
        except NotImplementedError:
            self.write(destination, self.read(source))

    def walk(self, key: str) -> list[str]:
        """Keys of every file below ``key`` (relative to the store root), sorted."""
        target = self.path(key)
        if self.is_local:
            found = [str(Path(d, f)) for d, _, files in os.walk(target) for f in files]
        else:
            found = list(self.fs.find(target)) if self.fs.exists(target) else []
        root = self._root.rstrip("/") + "/"
        return sorted(p[len(root):] for p in found if p.startswith(root))


def open_zarr_group(where: str | Path, mode: str, path: str = "") -> Any:
    """``zarr.open_group`` of a store root (or of ``path`` below it), local or at any fsspec URL."""
    import zarr

    location = Location(where)
    if location.through_files:
        from adsearch.store_zarr import LocationStore

        return zarr.open_group(LocationStore(location, read_only=mode == "r"), mode=mode, path=path or None)
    target = str(location.target).rstrip("/")
    return zarr.open_group(f"{target}/{path}" if path else target, mode=mode)
