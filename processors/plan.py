"""Sizing a processing run before it starts (``adsearch process ... --dry-run``).

:func:`plan_processing` checks every input file (entries, readability), splits the files into
work units exactly as coffea's Runner will (same chunk size, same ``max_files``/``max_chunks``),
measures this machine's rates on the first good file (the fixed cost of one unit and the cost
per event, by timing a small and a larger unit in this process after a warm-up), and
estimates the wall time on N single-core workers: each unit takes
``unit_fixed_s + n_events * s_per_event`` and the scheduler hands the next unit to the first free
worker (simulated, longest units first), so a few big units on many workers are not hidden by
the average. The input check (timed here, one file after another) is spread over the N workers
too and added; consolidation adds a few seconds more that do not scale with N.
"""

from __future__ import annotations

import heapq
import math
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adsearch.config import load_config
from adsearch.errors import BadInputError, ConfigError
from adsearch.processors.reading import Dataset, limit_files, load_fileset

__all__ = ["ProcessingPlan", "plan_processing"]


@dataclass
class ProcessingPlan:
    """Units, events and the estimated wall time of a run (rates measured here, one core)."""

    kind: str
    n_datasets: int
    n_files: int
    n_bad_files: int
    n_units: int
    n_events: int
    n_workers: int
    unit_fixed_s: float
    s_per_event: float
    units_per_dataset: dict[str, int]
    unit_events: list[int]
    check_s_per_file: float = 0.0  # the input check of one file, measured here

    @property
    def check_wall_s(self) -> float:
        """The input check of every file spread over the workers (one file per task)."""
        return math.ceil(self.n_files / max(self.n_workers, 1)) * self.check_s_per_file

    @property
    def estimated_wall_s(self) -> float:
        """The input check, then a greedy schedule of the units (longest first) on ``n_workers``
        single-core workers."""
        loads = [0.0] * max(self.n_workers, 1)
        for n in sorted(self.unit_events, reverse=True):
            heapq.heapreplace(loads, loads[0] + self.unit_fixed_s + n * self.s_per_event)
        return self.check_wall_s + max(loads)

    def table(self) -> str:
        lines = [f"dry run ({self.kind}): {self.n_datasets} datasets, {self.n_files} files "
                 f"({self.n_bad_files} bad), {self.n_units} work units, {self.n_events:,} events"]
        lines += [f"  {name}: {n} units" for name, n in self.units_per_dataset.items()]
        rate = 1.0 / self.s_per_event if self.s_per_event > 0 else math.inf
        lines.append(f"measured here: {self.unit_fixed_s * 1e3:.0f} ms fixed per unit, {rate:,.0f} events/s per core; "
                     f"input check {self.check_s_per_file * 1e3:.0f} ms per file")
        lines.append(f"estimated wall time on {self.n_workers} workers: {_duration(self.estimated_wall_s)}")
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _units(datasets: list[Dataset], checked: dict[str, Any], chunksize: int,
           max_chunks: int | None) -> dict[str, list[tuple[str, int, int]]]:
    """(file, start, stop) of every work unit per dataset, as coffea's Runner will cut them."""
    from coffea.processor.executor import FileMeta

    from adsearch.processors.run import _metadata_cache

    cache = _metadata_cache(datasets, checked)
    plan: dict[str, list[tuple[str, int, int]]] = {}
    for d in datasets:
        units: list[tuple[str, int, int]] = []
        for f in d.files:
            if max_chunks is not None and len(units) >= max_chunks:
                break
            meta = FileMeta(d.name, f.path, f.treename)
            meta.maybe_populate(cache)
            for item in meta.chunks(chunksize, False):
                units.append((item.filename, item.entrystart, item.entrystop))
                if max_chunks is not None and len(units) >= max_chunks:
                    break
        plan[d.name] = units
    return plan


def _time_unit(proc: Any, path: str, treename: str, stop: int) -> float:
    from adsearch.processors.reading import open_events

    start = time.perf_counter()
    events = open_events(path, treename, entry_start=0, entry_stop=stop)
    events.metadata.update({"dataset": "probe", "entrystart": 0, "entrystop": stop, "fileuuid": "probe"})
    proc.process(events)
    return time.perf_counter() - start


def _measure(kind: str, cfg: Any, path: str, treename: str, n_entries: int) -> tuple[float, float]:
    """(fixed seconds per unit, seconds per event) from a warm-up, a small and a larger unit."""
    from adsearch.processors.run import _processor_classes

    small, large = min(200, n_entries), min(5000, n_entries)
    with tempfile.TemporaryDirectory(prefix="adsearch-dry-run-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proc = _processor_classes(kind)[1](str(Path(tmp) / "probe.zarr"), cfg)
        _time_unit(proc, path, treename, small)  # imports, JIT, caches
        t_small = min(_time_unit(proc, path, treename, small) for _ in range(3))  # best of 3: a shared machine
        t_large = min(_time_unit(proc, path, treename, large) for _ in range(2)) if large > small else t_small
    per_event = max((t_large - t_small) / (large - small), 0.0) if large > small else t_small / max(small, 1)
    return max(t_small - small * per_event, 0.0), per_event


def plan_processing(kind: str, fileset: str | Path | dict[str, Any], *, config: Any = None, n_workers: int = 2,
                    chunksize: int = 100_000, max_files: int | None = None, max_chunks: int | None = None,
                    skip_bad_files: bool = False, client: Any = None) -> ProcessingPlan:
    """Units, events and estimated wall time of ``run_processor`` with the same arguments.

    >>> print(plan_processing("lepton", "fileset.yaml", n_workers=50).table())   # doctest: +SKIP
    """
    from adsearch.processors.run import _check_files, _processor_classes

    cfg = load_config(_processor_classes(kind)[0], config)
    datasets = limit_files(load_fileset(fileset), max_files)
    tick = time.perf_counter()
    checked = _check_files(kind, datasets, client)
    check_s_per_file = (time.perf_counter() - tick) / max(sum(len(d.files) for d in datasets), 1)
    bad = {p: r for p, r in checked.items() if isinstance(r, BadInputError)}
    if bad and not skip_bad_files:
        first = next(iter(bad.values()))
        raise BadInputError(first.path, first.reason + (f" (and {len(bad) - 1} more bad files)" if len(bad) > 1 else ""))
    good = [Dataset(d.name, [f for f in d.files if f.path not in bad], d.metadata) for d in datasets]
    good = [d for d in good if d.files]
    if not good:
        raise ConfigError("no readable input file: nothing to plan")
    units = _units(good, checked, chunksize, max_chunks)
    first = good[0].files[0]
    fixed, per_event = _measure(kind, cfg, first.path, first.treename, checked[first.path]["n_entries"])
    sizes = [stop - start for per in units.values() for _, start, stop in per]
    return ProcessingPlan(kind, len(datasets), sum(len(d.files) for d in datasets), len(bad), len(sizes),
                          sum(sizes), n_workers, fixed, per_event, {name: len(u) for name, u in units.items()}, sizes,
                          check_s_per_file if client is None else 0.0)
