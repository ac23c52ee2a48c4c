"""coffea's *preprocessed* fileset (``coffea.dataset_tools.preprocess`` output) as an adsearch fileset.

A preprocessed dataset looks like ``{"files": {path: {"object_path": "Events", "steps": [[0, n]],
"uuid": "...", "num_entries": n}}, "form": "...", "metadata": {...}}``. adsearch plans its own
work units, so the tree name is what it needs from each file; ``uuid`` and ``num_entries`` are
kept per file in the dataset metadata (``preprocessed``) so they are recorded in the store, and
``form`` is dropped (the processors read branches by name).
"""

from __future__ import annotations

from typing import Any

from adsearch.errors import ConfigError

__all__ = ["is_preprocessed", "from_preprocessed"]


def is_preprocessed(spec: Any) -> bool:
    """Whether a fileset mapping is in coffea's preprocessed form."""
    return isinstance(spec, dict) and any(
        isinstance(entry, dict) and isinstance(entry.get("files"), dict)
        and any(isinstance(info, dict) and "object_path" in info for info in entry["files"].values())
        for entry in spec.values())


def from_preprocessed(spec: dict[str, Any]) -> dict[str, Any]:
    """The same datasets as an adsearch fileset mapping ({name: {"files": {path: tree}, "metadata"}}).

    >>> pre = {"tt": {"files": {"a.root": {"object_path": "Events", "steps": [[0, 10]], "uuid": "u1",
    ...                                    "num_entries": 10}}, "form": "...", "metadata": {"xsec_pb": 1.0}}}
    >>> from_preprocessed(pre)["tt"]["files"]
    {'a.root': 'Events'}
    """
    out: dict[str, Any] = {}
    for name, entry in spec.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict):
            raise ConfigError(f"preprocessed fileset dataset {name!r}: needs a 'files' mapping")
        files, per_file = {}, {}
        for path, info in entry["files"].items():
            if isinstance(info, str):
                files[path] = info
                continue
            if not isinstance(info, dict) or "object_path" not in info:
                raise ConfigError(f"preprocessed fileset dataset {name!r}, file {path}: no object_path")
            files[path] = info["object_path"]
            per_file[path] = {k: info[k] for k in ("uuid", "num_entries", "steps") if k in info}
        metadata = dict(entry.get("metadata") or {})
        if per_file:
            metadata["preprocessed"] = per_file
        out[name] = {"files": files, "metadata": metadata}
    return out
