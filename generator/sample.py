"""Plan, run and resume a sample: processes -> cross-sections -> chunks -> worker processes.

Layout of ``out_dir`` for a sample named S (``qcd_dijet``, ``lepton_sm`` or the signal name)
and master seed K: one ``<process>_s<K>_<index>.root`` per chunk with a ``.json`` sidecar
beside it, and ``S_s<K>.sample.json`` describing the whole sample.  A chunk whose ROOT file
and sidecar both exist with the same settings is skipped on a rerun (resume); one with other
settings is an error rather than a silent mix.

Sidecar keys readers rely on: ``process``, ``sample``, ``kind``, ``is_signal``,
``truth_process_id``, ``n_events``, ``cross_section_pb`` (this process, from a hard-process
pilot), ``sample_cross_section_pb`` and ``equivalent_lumi_pb`` (the whole sample), ``seed``,
``pythia_seed``, ``numpy_seed``, ``settings`` / ``base_settings`` (Pythia lines), ``mpi``, ``constituents``
(whether PFCands are written: not part of the identity, since the events are the same either way),
``params`` (signal masses), ``versions``, ``sigma_gen_chunk_pb`` (Pythia's own estimate from
the chunk), ``cpu_s`` (per stage) and ``chunk_config_hash`` (what resume compares).

The SM lepton sample is an *unweighted* mix (``genWeight`` = 1): each process p gets
N_p = N sigma_p / sum(sigma) events (largest remainder), so the files together are pseudo-data
of equivalent luminosity L = N / sum(sigma), recorded in every sidecar.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from adsearch.config import StrictModel, load_config
from adsearch.errors import ConfigError
from adsearch.generator.processes import ProcessSpec, lepton_sm_processes, qcd_dijet, signal_kind, signal_process
from adsearch.generator.runner import BASE_SETTINGS, ChunkResult, ChunkTask, chunk_seeds, pilot_cross_section, run_chunk
from adsearch.provenance import config_hash, package_versions, write_json

__all__ = ["GeneratorOptions", "GenerationSummary", "ProcessSummary", "generate_sample", "wants_constituents", "KINDS",
           "DEFAULT_DIJET_PTHAT_MIN_GEV"]

KINDS = ("dijet", "lepton")
#: Default QCD threshold; see the ``generator`` package docstring for the mJJ where it is fully efficient.
DEFAULT_DIJET_PTHAT_MIN_GEV = 400.0
_FORMAT = "adsearch-generator-chunk/1"


class GeneratorOptions(StrictModel):
    """Knobs beyond kind/events/seed; defaults reproduce the documented samples."""

    chunk_events: int = Field(5000, ge=1, description="events per file (fixes the seed -> events map)")
    pthat_min_gev: float = Field(DEFAULT_DIJET_PTHAT_MIN_GEV, gt=0, description="QCD dijet pTHat threshold")
    lepton_pthat_min_gev: float = Field(100.0, gt=0, description="pTHat cut of the SM lepton processes")
    lepton_min_pt_gev: float = Field(50.0, ge=0, description="SM lepton processes: hard-process e/mu pT cut")
    mpi: bool = Field(False, description="multiparton interactions (off as in the LHCO R&D sample)")
    constituents: bool | None = Field(None, description=(
        "write the large-R jets' PFCands / FatJetPFCands (the Y -> X H search reads them); default: for dijet "
        "samples (the hx background and signals), not for lepton ones; False keeps a dijet sample small"))
    pilot_events: int = Field(5000, ge=100, description="hard-process events per cross-section pilot")
    lumi_pb: float | None = Field(None, gt=0, description="SM lepton mix: target luminosity instead of --events")
    pythia_settings: list[str] = Field(default_factory=list, description=(
        "extra Pythia readString lines after the process's own, e.g. 'Tune:pp = 5' or "
        "'TimeShower:alphaSvalue = 0.13': a differently tuned or showered simulation (weak-search SALAD)"))
    progress: bool = Field(False, description="show a rich progress bar")


@dataclass(frozen=True)
class ProcessSummary:
    """One process of a sample."""

    name: str
    truth_id: int
    n_events: int
    cross_section_pb: float
    cross_section_err_pb: float


@dataclass
class GenerationSummary:
    """What ``generate_sample`` made: files, cross-sections and equivalent luminosity."""

    kind: str
    sample: str
    seed: int
    out_dir: Path
    n_events: int
    cross_section_pb: float
    luminosity_pb: float
    processes: list[ProcessSummary]
    files: list[Path]
    chunks_written: int = 0
    chunks_skipped: int = 0
    wall_s: float = 0.0
    manifest: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        """Throughput of the chunks written in this call (all workers together)."""
        return self.extra.get("events_written", 0) / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["files"] = [str(p) for p in self.files]
        data["manifest"] = str(self.manifest) if self.manifest else None
        return data


def _allocate(n_events: int, sigmas: list[float]) -> list[int]:
    """Largest-remainder split of ``n_events`` proportional to ``sigmas``."""
    exact = n_events * np.asarray(sigmas) / np.sum(sigmas)
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n_events - counts.sum()]] += 1
    return [int(c) for c in counts]


def _check_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".adsearch_write_probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{out_dir}: output directory cannot be created or written ({exc.strerror or exc})") from exc


def _processes(kind: str, signal: str | None, options: GeneratorOptions) -> tuple[str, list[ProcessSpec]]:
    if kind not in KINDS:
        raise ConfigError(f"unknown sample kind {kind!r}: choose one of {', '.join(KINDS)}")
    if signal is not None:
        if signal_kind(signal) != kind:
            raise ConfigError(f"signal {signal!r} belongs to the {signal_kind(signal)} sample, not {kind}")
        return signal, [signal_process(signal)]
    if kind == "dijet":
        return "qcd_dijet", _with_settings([qcd_dijet(options.pthat_min_gev)], options)
    return "lepton_sm", _with_settings(lepton_sm_processes(options.lepton_pthat_min_gev, options.lepton_min_pt_gev),
                                       options)


def wants_constituents(kind: str, options: GeneratorOptions) -> bool:
    """Whether a sample's files carry the large-R jet constituents: ``options.constituents``, else
    the dijet kind (the hx search's QCD and signals are dijet samples), not the lepton kind.

    >>> wants_constituents("dijet", GeneratorOptions()), wants_constituents("lepton", GeneratorOptions())
    (True, False)
    >>> wants_constituents("dijet", GeneratorOptions(constituents=False))
    False
    """
    if options.constituents is not None:
        return options.constituents
    return kind == "dijet"


def _with_settings(specs: list[ProcessSpec], options: GeneratorOptions) -> list[ProcessSpec]:
    """The background processes with ``pythia_settings`` appended (they enter each chunk's identity)."""
    extra = tuple(options.pythia_settings)
    return [replace(spec, settings=(*spec.settings, *extra)) for spec in specs] if extra else specs


def _plan(kind: str, sample: str, specs: list[ProcessSpec], n_per_process: list[int], sigmas: list[tuple[float, float]],
          seed: int, out_dir: Path, options: GeneratorOptions) -> list[ChunkTask]:
    constituents = wants_constituents(kind, options)
    total_sigma = sum(s for s, _ in sigmas)
    total_events = sum(n_per_process)
    versions = package_versions(("adsearch", "awkward", "fastjet", "numpy", "pythia8mc", "uproot"))
    tasks, lumi_block = [], 0
    for spec, n_p, (sigma, sigma_err) in zip(specs, n_per_process, sigmas):
        for index, first in enumerate(range(0, n_p, options.chunk_events)):
            lumi_block += 1
            n_chunk = min(options.chunk_events, n_p - first)
            pythia_seed, numpy_seed = chunk_seeds(seed, spec.name, index)
            identity = {"format": _FORMAT, "process": spec.name, "settings": list(spec.settings),
                        "lepton_min_pt_gev": spec.lepton_min_pt_gev, "index": index,
                        "n_events": n_chunk, "seed": seed, "chunk_events": options.chunk_events, "mpi": options.mpi}
            sidecar = {
                **identity, "kind": kind, "sample": sample, "process_description": spec.description,
                "truth_process_id": spec.truth_id, "is_signal": spec.is_signal, "params": spec.params,
                "pythia_seed": pythia_seed, "numpy_seed": numpy_seed, "luminosity_block": lumi_block,
                "base_settings": list(BASE_SETTINGS), "constituents": constituents,
                "cross_section_pb": sigma, "cross_section_err_pb": sigma_err,
                "sample_cross_section_pb": total_sigma, "sample_n_events": total_events,
                "equivalent_lumi_pb": total_events / total_sigma, "versions": versions,
                "chunk_config_hash": config_hash(identity),
            }
            path = out_dir / f"{spec.name}_s{seed}_{index:04d}.root"
            tasks.append(ChunkTask(spec, index, lumi_block, first + 1, n_chunk, pythia_seed, numpy_seed,
                                   options.mpi, path, sidecar, constituents))
    return tasks


def _is_done(task: ChunkTask) -> bool:
    """True when the chunk's file and sidecar exist with this task's settings."""
    if not (task.path.is_file() and task.sidecar_path.is_file()):
        return False
    try:
        existing = json.loads(task.sidecar_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if existing.get("chunk_config_hash") != task.sidecar["chunk_config_hash"]:
        raise ConfigError(f"{task.path}: exists with different generator settings; use another --out directory "
                          "or delete it")
    return existing.get("n_events") == task.n_events


def _run_tasks(tasks: list[ChunkTask], pool: ProcessPoolExecutor | None, queue: Any,
               on_events: Callable[[int], None]) -> Iterable[ChunkResult]:
    """Run chunks in this process (``pool`` None) or on the pool, relaying batch progress."""
    if pool is None:
        for task in tasks:
            yield run_chunk(task, on_events)
        return
    pending = {pool.submit(run_chunk, task, queue.put) for task in tasks}
    while pending:
        finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        while not queue.empty():
            on_events(queue.get())
        for future in finished:
            yield future.result()


def _pilots(specs: list[ProcessSpec], seed: int, n_events: int, pool: ProcessPoolExecutor | None) -> list[tuple[float, float]]:
    if pool is None or len(specs) == 1:
        return [pilot_cross_section(spec, seed, n_events) for spec in specs]
    return list(pool.map(pilot_cross_section, specs, [seed] * len(specs), [n_events] * len(specs)))


@contextmanager
def _workers(workers: int) -> Iterator[tuple[ProcessPoolExecutor | None, Any]]:
    """A process pool and a progress queue, or (None, None) for in-process running."""
    if workers <= 1:
        yield None, None
        return
    import multiprocessing

    with multiprocessing.Manager() as manager, ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool, manager.Queue()


def generate_sample(kind: str, n_events: int | None, seed: int, out_dir: str | Path, signal: str | None = None,
                    workers: int = 1, **options: Any) -> GenerationSummary:
    """Generate (or resume) a NanoAOD-schema sample; the Python twin of ``adsearch generate``.

    >>> s = generate_sample("dijet", 200, seed=1, out_dir="/tmp/qcd")      # doctest: +SKIP
    >>> s.files, s.cross_section_pb, s.luminosity_pb                       # doctest: +SKIP
    """
    opts = load_config(GeneratorOptions, options)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    sample, specs = _processes(kind, signal, opts)
    if opts.lumi_pb is None:
        if n_events is None or isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or n_events < 1:
            raise ConfigError(f"number of events must be a positive integer, got {n_events!r}")
    elif n_events is not None:
        raise ConfigError("give either the number of events or lumi_pb, not both")
    out = Path(out_dir)
    _check_out_dir(out)

    start = time.perf_counter()
    events_written = 0
    cpu_s: dict[str, float] = {}
    with _workers(int(workers)) as (pool, queue):
        sigmas = _pilots(specs, int(seed), opts.pilot_events, pool)
        pilot_s = time.perf_counter() - start
        total_sigma = sum(s for s, _ in sigmas)
        total = int(n_events) if opts.lumi_pb is None else max(1, round(opts.lumi_pb * total_sigma))
        n_per_process = _allocate(total, [s for s, _ in sigmas])
        tasks = _plan(kind, sample, specs, n_per_process, sigmas, int(seed), out, opts)
        todo = [t for t in tasks if not _is_done(t)]
        with _progress(opts.progress, sum(t.n_events for t in todo), sample) as bar:
            for result in _run_tasks(todo, pool, queue, bar.advance):
                events_written += result.n_events
                for stage, seconds in result.cpu_s.items():
                    cpu_s[stage] = cpu_s.get(stage, 0.0) + seconds

    summary = GenerationSummary(
        kind=kind, sample=sample, seed=int(seed), out_dir=out, n_events=total, cross_section_pb=total_sigma,
        luminosity_pb=total / total_sigma,
        processes=[ProcessSummary(s.name, s.truth_id, n, sg, se) for s, n, (sg, se) in zip(specs, n_per_process, sigmas)],
        files=[t.path for t in tasks], chunks_written=len(todo), chunks_skipped=len(tasks) - len(todo),
        wall_s=time.perf_counter() - start, extra={"events_written": events_written, "chunk_cpu_s": cpu_s, "pilot_wall_s": pilot_s},
    )
    summary.manifest = out / f"{sample}_s{int(seed)}.sample.json"
    write_json(summary.manifest, {**summary.to_dict(), "options": opts.model_dump(), "workers": int(workers)})
    return summary


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, n: int) -> None:
        return None


class _RichProgress:
    def __init__(self, total: int, label: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("events"), TimeRemainingColumn())
        self._task = self._progress.add_task(label, total=total)

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def advance(self, n: int) -> None:
        self._progress.advance(self._task, n)


def _progress(enabled: bool, total: int, label: str) -> _NoProgress | _RichProgress:
    return _RichProgress(total, label) if enabled and total > 0 else _NoProgress()
