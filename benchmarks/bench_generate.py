"""Generation throughput: events/s/core for dijet and lepton samples, clustering and writing included.

Runs :func:`adsearch.generator.generate_sample` on one worker (so events/s = events/s/core) and
prints a table.  "wall" rates include Pythia initialisation, the cross-section pilot and file
writing; "CPU" rates divide by the chunk's own CPU time, which is the number to trust on a shared
machine where other jobs steal cycles.  Per-event CPU milliseconds are split by stage.

    python benchmarks/bench_generate.py                  # dijet 2000 + lepton 3000 events
    python benchmarks/bench_generate.py --mpi            # adds a dijet row with MPI on
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adsearch.generator import generate_sample


def _row(label: str, kind: str, n_events: int, signal: str | None = None, **options: object) -> list[str]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = generate_sample(kind, n_events, seed=1, out_dir=Path(out), signal=signal,
                                  chunk_events=n_events, **options)
        wall = time.perf_counter() - start
    cpu = summary.extra["chunk_cpu_s"]
    chunk_cpu = sum(cpu.values())
    per_event_ms = {stage: 1000.0 * seconds / n_events for stage, seconds in cpu.items()}
    lumi_10k = 1e4 / summary.cross_section_pb
    return [
        label, str(n_events), f"{wall:.1f}", f"{n_events / wall:.0f}", f"{n_events / chunk_cpu:.0f}",
        f"{per_event_ms['pythia']:.2f}", f"{per_event_ms['reconstruct']:.2f}", f"{per_event_ms['write']:.2f}",
        f"{cpu['init']:.1f}", f"{summary.cross_section_pb:.4g}", f"{lumi_10k:.4g}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dijet-events", type=int, default=2000)
    parser.add_argument("--lepton-events", type=int, default=3000)
    parser.add_argument("--mpi", action="store_true", help="also time dijet with multiparton interactions on")
    args = parser.parse_args()

    table = Table(title="adsearch generate: one worker (events/s = events/s/core)")
    for column in ("sample", "events", "wall s", "ev/s wall", "ev/s CPU", "pythia ms/ev", "reco ms/ev",
                   "write ms/ev", "init CPU s", "sigma pb", "lumi/10k ev (pb^-1)"):
        table.add_column(column, justify="left" if column == "sample" else "right")
    table.add_row(*_row("dijet QCD, pTHat>400, MPI off", "dijet", args.dijet_events))
    if args.mpi:
        table.add_row(*_row("dijet QCD, pTHat>400, MPI on", "dijet", args.dijet_events, mpi=True))
    table.add_row(*_row("dijet signal wprime_3000_200_200", "dijet", args.dijet_events // 4, signal="wprime_3000_200_200"))
    table.add_row(*_row("lepton SM mix (5 processes)", "lepton", args.lepton_events))
    Console(width=180).print(table)


if __name__ == "__main__":
    main()
