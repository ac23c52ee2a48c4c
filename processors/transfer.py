"""Where store parts are written: by the workers (shared disk) or by the client (no shared disk).

* ``"workers"``: each worker writes its unit's part into the store itself. Needs a store that every
  worker can reach (a shared file system, or an fsspec URL such as object storage); consolidation
  then also runs on the workers.
* ``"client"``: workers encode the part exactly as they would write it (RMM chunks compressed once
  with the store codec, columns zstd-compressed) and send those bytes back with the unit's result;
  the client writes and commits it, and consolidates. For a dask-gateway or Kubernetes cluster
  whose workers do not share the user's disk.
* ``"auto"`` (default): ``"workers"`` when every worker sees the store (probed with a marker file
  the client writes into the store), else ``"client"``. Measured here with 2 local workers
  (benchmarks/bench_processors.py prints both rows): 16 x 5k lepton events, best of 3: workers
  2.97 s, client 3.55 s; single runs on 4 x 50k lepton / 4 x 100k dijet events: 4.0 / 3.0 s
  (workers) against 3.8 / 2.9 s (client), within this shared machine's noise. Both are close at
  two workers; the client path sends every part's bytes through one process and consolidates
  there alone, which cannot scale with the number of workers, so the workers write whenever
  they can.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from adsearch import store as zstore
from adsearch.errors import ConfigError
from adsearch.processors.base import commit_payload, committed_output, unit_key
from adsearch.store_io import Location

__all__ = ["WRITE_MODES", "ClientWriter", "resolve_write_mode", "workers_see_store"]

WRITE_MODES = ("auto", "workers", "client")


def _item_metadata(item: Any) -> dict[str, Any]:
    """The unit metadata coffea's work function builds from a WorkItem (for :func:`unit_key`)."""
    fileuuid = str(uuid.UUID(bytes=item.fileuuid)) if len(item.fileuuid) > 0 else ""
    return {"dataset": item.dataset, "filename": item.filename, "treename": item.treename,
            "entrystart": item.entrystart, "entrystop": item.entrystop, "fileuuid": fileuuid}


class ClientWriter:
    """Receives units on the client: writes and commits their parts, answers resume lookups."""

    def __init__(self, store: str | Path) -> None:
        self.store = store

    def committed(self, item: Any) -> Any | None:
        """The committed output of a work unit (it is then not sent to a worker), else None."""
        meta = _item_metadata(item)
        return committed_output(zstore.read_part_commit(self.store, meta["dataset"], unit_key(meta)), meta["dataset"])

    def receive(self, output: dict[str, Any]) -> dict[str, Any]:
        """Write the parts a unit's output carries, commit the unit, return the output without them."""
        inner = output.get("out", output)
        for dataset, entry in inner.items():
            for key, unit in entry.get("units", {}).items():
                files = unit.pop("part", None)
                if files is not None:
                    zstore.write_part_files(self.store, dataset, key, files)
            if not entry.get("bad_files"):  # bad input is re-examined on every run, never committed
                for key in entry.get("units", {}):
                    zstore.commit_part(self.store, dataset, key, commit_payload(output))
        return output


def _exists(location: str, key: str) -> bool:
    return Location(location).exists(key)


def workers_see_store(client: Any, store: str | Path) -> bool:
    """True when every worker of ``client`` finds a marker file the client just wrote into the store."""
    location = Location(store)
    key = f"_probe-{uuid.uuid4().hex}-{os.getpid()}"
    location.write(key, b"adsearch probe")
    try:
        seen = client.run(_exists, str(location.target), key)
    finally:
        location.remove(key)
    return bool(seen) and all(seen.values())


def resolve_write_mode(mode: str, client: Any, store: str | Path) -> str:
    """``"workers"`` or ``"client"`` for ``mode`` (module docstring); in-process runs write directly."""
    if mode not in WRITE_MODES:
        raise ConfigError(f"unknown write mode {mode!r}; choose one of {WRITE_MODES}")
    if client is None:
        return "workers"  # the processor runs in this process, which sees the store
    if mode == "auto":
        return "workers" if workers_see_store(client, store) else "client"
    return mode
