"""Run records: config, package versions, seeds and input checksums stored beside outputs.

Every stage writes one of these so a result can be traced back to exactly what made it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "package_versions", "config_hash", "run_record", "write_json"]

_TRACKED_PACKAGES = (
    "adsearch", "awkward", "coffea", "dask", "distributed", "fastjet", "hist", "iminuit",
    "numba", "numpy", "pyhf", "pythia8mc", "tensorflow", "keras", "uproot", "zarr",
)


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file, read in 1 MiB chunks so large ROOT files do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def package_versions(names: tuple[str, ...] = _TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape results ("absent" when not installed)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def config_hash(config: dict[str, Any]) -> str:
    """Stable short hash of a JSON-serialisable config (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_record(stage: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The provenance block every stage stores next to its outputs."""
    return {
        "stage": stage,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "config": config,
        "config_hash": config_hash(config),
        "versions": package_versions(),
        **extra,
    }


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename) so a killed job never leaves half a file."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    tmp.replace(path)
