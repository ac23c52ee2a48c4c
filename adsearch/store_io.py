"""Where a feature store lives: a local folder, or any fsspec URL (object storage at a facility).

:class:`Location` gives the store code the few file operations it needs, by key relative to the
store root. A local folder (also given as ``file://``) keeps what local disks allow: hard links
for the RMM chunks and atomic renames for commit markers. An fsspec URL (``s3://``,
``gs://``, ``memory://`` ...) writes objects whole, so a commit marker is one object written after
the part's data, and linking is a server-side copy where the file system has one.

>>> Location("/data/run1.zarr").is_local, Location("memory://run1.zarr").is_local
(True, False)
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

__all__ = ["Location", "is_url"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: str | Path) -> bool:
    """True for ``scheme://...`` strings (root, https, file, s3 ...): they stay strings end to end,
    never passing through :class:`Path`, which collapses ``root://host//data`` to ``root:/host/data``.

    >>> is_url("root://eos.cern.ch//eos/a.root"), is_url("/data/a.root")
    (True, False)
    """
    return isinstance(path, str) and bool(_URL.match(path))


class Location:
    """A store root and file operations on keys below it (``"_parts/ds/unit/columns.npz"``)."""

    def __init__(self, where: str | Path) -> None:
        text = str(where) if isinstance(where, Path) else where
        if text.startswith("file://"):
            text = text[len("file://"):]
        self.fs: Any = None
        if is_url(text):
            import fsspec

            self.fs, self._root = fsspec.core.url_to_fs(text)
            self.target: str | Path = text  # what zarr opens
        else:
            self._root = str(Path(text))
            self.target = Path(text)

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
        return bytes(self.fs.cat_file(self.path(key)))

    def write(self, key: str, data: bytes, *, atomic: bool = False) -> None:
        """Write one file; ``atomic``: readers see the old state or all of ``data``, never part."""
        target = self.path(key)
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
            self.fs.pipe_file(dst, self.fs.cat_file(src))
