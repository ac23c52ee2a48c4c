"""Pythia 8 instances, cross-section pilots, and the per-chunk job a worker process runs.

A chunk is self-contained: its own Pythia seed and numpy seed (derived from the master seed,
the process name and the chunk index), so a chunk's events do not depend on which worker ran
it or on how many workers there were.  Pythia is initialised afresh for every chunk: reusing an
instance would carry over its adaptively raised phase-space maxima and break that guarantee.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adsearch.errors import AdsearchError, ConfigError
from adsearch.generator.events import reconstruct
from adsearch.generator.processes import ProcessSpec
from adsearch.generator.writer import ChunkWriter
from adsearch.provenance import write_json

__all__ = ["BASE_SETTINGS", "ChunkTask", "ChunkResult", "chunk_seeds", "make_pythia", "pilot_cross_section", "run_chunk"]

#: Settings shared by every sample.  Hadrons with c tau > 10 mm (K0S, Lambda, ...) stay stable,
#: as in ATLAS/CMS generator-level definitions.
BASE_SETTINGS: tuple[str, ...] = (
    "Beams:eCM = 13000.",
    "Print:quiet = on",
    "Random:setSeed = on",
    "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 10.",
)
MB_TO_PB = 1e9
BATCH_EVENTS = 500
_PYTHIA_SEED_MAX = 900_000_000


def chunk_seeds(master_seed: int, process: str, index: int) -> tuple[int, int]:
    """(Pythia seed, numpy seed) for one chunk; ``index = -1`` is the cross-section pilot."""
    sequence = np.random.SeedSequence([master_seed, zlib.crc32(process.encode()), index + 1])
    state = sequence.generate_state(2, dtype=np.uint64)
    return int(state[0] % _PYTHIA_SEED_MAX) + 1, int(state[1])


def _lepton_filter(pythia8mc: Any, min_pt_gev: float) -> Any:
    """A UserHooks that vetoes hard processes without a final e or mu above ``min_pt_gev``."""

    class LeptonFilter(pythia8mc.UserHooks):  # type: ignore[name-defined, misc]
        def canVetoProcessLevel(self) -> bool:
            return True

        def doVetoProcessLevel(self, process: Any) -> bool:
            # resonance decay products sit at the end of the record: scan backwards
            for i in range(process.size() - 1, 0, -1):
                particle = process[i]
                if particle.idAbs() in (11, 13) and particle.isFinal() and particle.pT() > min_pt_gev:
                    return False
            return True

    return LeptonFilter()


def make_pythia(spec: ProcessSpec, seed: int, *, mpi: bool, hard_process_only: bool = False) -> tuple[Any, Any]:
    """An initialised Pythia and its hook (keep both alive together: Pythia holds only a raw
    pointer to the hook); a setting Pythia does not accept is a ConfigError naming it."""
    import pythia8mc  # imported here so `adsearch --help` and the reading layer do not need it

    pythia = pythia8mc.Pythia("", False)
    hook = None
    if spec.lepton_min_pt_gev > 0:
        hook = _lepton_filter(pythia8mc, spec.lepton_min_pt_gev)
        pythia.setUserHooksPtr(hook)
    settings = spec.settings
    lines = [*BASE_SETTINGS, f"Random:seed = {seed}", f"PartonLevel:MPI = {'on' if mpi else 'off'}", *settings]
    if hard_process_only:
        lines += ["PartonLevel:all = off", "HadronLevel:all = off"]
    for line in lines:
        if not pythia.readString(line):
            raise ConfigError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise AdsearchError(f"Pythia initialisation failed for settings {list(settings)}")
    return pythia, hook


def pilot_cross_section(spec: ProcessSpec, master_seed: int, n_events: int) -> tuple[float, float]:
    """Cross-section and its error in pb from hard-process-only events (fast: no shower).

    Pythia folds the open fractions of resonance decays into ``sigmaGen``, so this is the
    cross-section of exactly the final states the full chunks generate.
    """
    pythia_seed, _ = chunk_seeds(master_seed, spec.name, -1)
    pythia, _hook = make_pythia(spec, pythia_seed, mpi=False, hard_process_only=True)
    for _ in range(n_events):
        pythia.next()
    info = pythia.infoPython()
    sigma = info.sigmaGen() * MB_TO_PB
    if not sigma > 0:
        raise AdsearchError(f"process {spec.name}: Pythia reports zero cross-section")
    return sigma, info.sigmaErr() * MB_TO_PB


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to produce one chunk file and its sidecar."""

    process: ProcessSpec
    index: int
    lumi_block: int
    first_event: int
    n_events: int
    pythia_seed: int
    numpy_seed: int
    mpi: bool
    path: Path
    sidecar: dict[str, Any] = field(default_factory=dict)
    #: write PFCands / FatJetPFCands (the large-R jet constituents)
    constituents: bool = True

    @property
    def sidecar_path(self) -> Path:
        return self.path.with_suffix(".json")


@dataclass(frozen=True)
class ChunkResult:
    """What a finished chunk reports back to the planner."""

    path: Path
    n_events: int
    sigma_gen_pb: float
    wall_s: float
    #: CPU seconds by stage: pythia (generation + nextBatch extraction), reconstruct, write.
    cpu_s: dict[str, float] = field(default_factory=dict)


def _bookkeeping(task: ChunkTask, n: int, done: int) -> dict[str, np.ndarray]:
    return {
        "run": np.ones(n, np.uint32),
        "luminosityBlock": np.full(n, task.lumi_block, np.uint32),
        "event": (task.first_event + done + np.arange(n)).astype(np.uint64),
        "genWeight": np.ones(n, np.float32),
        "truth_process_id": np.full(n, task.process.truth_id, np.int32),
        "truth_is_signal": np.full(n, task.process.is_signal, bool),
    }


def run_chunk(task: ChunkTask, progress: Callable[[int], None] | None = None) -> ChunkResult:
    """Generate, reconstruct and write one chunk; the sidecar is written last, as the commit."""
    start = time.perf_counter()
    cpu = dict.fromkeys(("init", "pythia", "reconstruct", "write"), 0.0)
    clock = time.process_time()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.process_time()
        cpu[stage] += now - clock
        clock = now

    pythia, _hook = make_pythia(task.process, task.pythia_seed, mpi=task.mpi)
    rng = np.random.default_rng(task.numpy_seed)
    writer = ChunkWriter(task.path)
    lap("init")
    done = 0
    try:
        while done < task.n_events:
            batch = pythia.nextBatch(min(BATCH_EVENTS, task.n_events - done))
            lap("pythia")
            n = len(batch)
            if n == 0:
                raise AdsearchError(f"{task.path}: Pythia returned no events (process {task.process.name})")
            arrays = reconstruct(batch, rng, constituents=task.constituents)
            arrays.update(_bookkeeping(task, n, done))
            lap("reconstruct")
            writer.extend(arrays)
            lap("write")
            done += n
            if progress is not None:
                progress(n)
        writer.close()
        lap("write")
    except BaseException:
        writer.abort()
        raise
    sigma_gen_pb = pythia.infoPython().sigmaGen() * MB_TO_PB
    wall_s = time.perf_counter() - start
    cpu = {stage: round(seconds, 3) for stage, seconds in cpu.items()}
    write_json(task.sidecar_path, {**task.sidecar, "n_events": done, "sigma_gen_chunk_pb": sigma_gen_pb,
                                   "wall_s": round(wall_s, 3), "cpu_s": cpu})
    return ChunkResult(task.path, done, sigma_gen_pb, wall_s, cpu)
