"""Run every benchmark and print one table: each headline figure next to its target.

Each benchmark script runs as its own process (its output is kept in ``--logs``); the figures
are read from that output by the patterns below, so a script whose output changed shows
"not found" instead of a stale number. ``--parse DIR`` rebuilds the table from saved logs
without running anything; ``--quick`` passes smaller sizes (faster, noisier); ``--only`` picks
benchmarks by name.

    python benchmarks/run_all.py                      # ~15-30 minutes on 2 cores
    python benchmarks/run_all.py --quick --only kernels,stats
    python benchmarks/run_all.py --parse bench-logs   # the table of an earlier run
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Figure:
    """One headline number: where to find it in a benchmark's output and what it should reach."""

    benchmark: str
    label: str
    pattern: str  # regex; group 1 is the number (commas allowed)
    unit: str
    target: float | None = None  # None: reported, no target
    higher_is_better: bool = True

    def read(self, text: str) -> float | None:
        match = re.search(self.pattern, text, re.MULTILINE)
        return None if match is None else float(match.group(1).replace(",", ""))

    def verdict(self, value: float | None) -> str:
        if value is None:
            return "not found"
        if self.target is None:
            return "-"
        ok = value >= self.target if self.higher_is_better else value <= self.target
        return "yes" if ok else "NO"


#: benchmark name -> (script, arguments, arguments with --quick)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "kernels": ("kernel_rates.py", [], []),
    "generate": ("bench_generate.py", [], ["--dijet-events", "500", "--lepton-events", "800"]),
    "processors": ("bench_processors.py", [], ["--events-per-file", "20000", "--dijet-events-per-file", "50000",
                                               "--files", "4"]),
    "autoencoder": ("bench_ae.py", [], ["--rows", "8192", "--train-rows", "1000", "--epochs", "1"]),
    "stats": ("bench_stats.py", [], ["--quick"]),
    "cwola": ("bench_cwola.py", [], ["--rows", "20000"]),
    "weak": ("bench_weak.py", [], ["--rows", "5000"]),
    "scaling": ("bench_scaling.py", [], []),
}

_CELL = r"[^\S\n]*[│|][^\S\n]*"  # a rich (│) or markdown (|) column separator
FIGURES: list[Figure] = [
    Figure("kernels", "RMM kernel, events/s per core (CPU)", r"^RMM kernel, lepton\+jets\s+([\d,]+)", "events/s", 1.0e6),
    Figure("kernels", "ECDF kernel, values/s (CPU)", r"^ECDF in 6 mJJ regions\s+([\d,]+)", "values/s", 2.0e7),
    Figure("generate", "dijet QCD generation, events/s per CPU-s",
           r"dijet QCD, pTHat>400, MPI off" + (_CELL + r"[^│|\n]+") * 3 + _CELL + r"([\d.]+)", "events/s", 100.0),
    Figure("generate", "lepton SM mix generation, events/s per CPU-s",
           r"lepton SM mix \(5 processes\)" + (_CELL + r"[^│|\n]+") * 3 + _CELL + r"([\d.]+)", "events/s"),
    Figure("processors", "lepton processor, events/s/core (2 workers, wall)",
           r"^lepton 2 worker\(s\):.*?stored,\s+([\d,]+) events/s/core", "events/s", 1.0e5),
    Figure("processors", "lepton processor speed-up 2 vs 1 workers", r"^lepton speed-up 2 vs 1 workers \(wall\): ([\d.]+)x",
           "x", 1.7),
    Figure("processors", "dijet processor, events/s/core (2 workers, wall)",
           r"^dijet\s+2 worker\(s\):.*?stored,\s+([\d,]+) events/s/core", "events/s", 1.0e5),
    Figure("processors", "dijet processor speed-up 2 vs 1 workers", r"^dijet\s+speed-up 2 vs 1 workers \(wall\): ([\d.]+)x",
           "x", 1.7),
    Figure("processors", "small files vs bare coffea (16 x 5k, CPU ratio)", r"local\s+16 x 5k-event files:.*?ratio ([\d.]+) CPU",
           "ratio", 0.6),
    Figure("processors", "one big file vs bare coffea (1 x 80k, CPU ratio)", r"local\s+1 x 80k-event file\s*:.*?ratio ([\d.]+) CPU",
           "ratio", 0.35),
    Figure("processors", "per-unit fixed cost vs bare coffea", r"local\s+per-unit fixed cost.*?ratio ([\d.]+)", "ratio", 1.5,
           higher_is_better=False),
    Figure("autoencoder", "AE inference (compiled), share of the matmul bound per core",
           r"inference: [^\n]*?tf\.function[^\n]*?(\d+)%\s*[│|]?\s*$", "%", 60.0),
    Figure("stats", "5-parameter fit", r"\| fit five_param \([^)]*\) \| ([\d.]+) fits/s", "fits/s"),
    Figure("stats", "BumpHunter 10k PE, 200 bins, widths 1-20", r"\| BumpHunter \d+ PE, 200 bins, widths 1-20 \| [\d,]+ PE/s \| ([\d.]+) s",
           "s", 10.0, higher_is_better=False),
    Figure("stats", "CLs asymptotic, width 0, per mass point", r"\| CLs asymptotic, Gaussian width 0%[^|]*\| ([\d.]+) s/mass point",
           "s"),
    Figure("cwola", "CWoLa networks per second per core", r"\| networks trained per second per core \(1 worker\) \| ([\d.]+)",
           "networks/s"),
    Figure("cwola", "CWoLa speed-up 2 vs 1 workers", r"\| speed-up 2 vs 1 workers \| ([\d.]+)x", "x", 1.7),
    Figure("weak", "SALAD template events/s", r"\| SALAD \(classifier training[^|]*\| ([\d,.]+)", "events/s"),
    Figure("weak", "CURTAINS transport, template events/s", r"\| CURTAINS transport[^|]*\| ([\d,.]+)", "events/s"),
    Figure("scaling", "lepton processing speed-up 2 vs 1 workers", r"^\| [^|]*lepton[^|]*\|[^|]*\|[^|]*\| ([\d.]+)x", "x", 1.7),
    Figure("scaling", "AE scoring speed-up 2 vs 1 workers", r"^\| [^|]*scor[^|]*\|[^|]*\|[^|]*\| ([\d.]+)x", "x"),
]


def run_benchmark(name: str, quick: bool, logs: Path) -> str:
    """Run one benchmark script, keep its output in ``logs/<name>.log``, return the output."""
    script, args, quick_args = BENCHMARKS[name]
    cmd = [sys.executable, str(HERE / script), *(quick_args if quick else args)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    text = proc.stdout + ("" if proc.returncode == 0 else f"\n[exit {proc.returncode}]\n{proc.stderr[-3000:]}")
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{name}.log").write_text(text + f"\n[wall {time.perf_counter() - start:.0f} s]\n")
    return text


def _number(x: float) -> str:
    """Readable magnitude: 1,590,000 / 32.6 / 0.58."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def table(outputs: dict[str, str]) -> str:
    """The markdown table of every figure of the benchmarks in ``outputs``."""
    lines = ["| benchmark | figure | measured | target | met |", "|---|---|---|---|---|"]
    for fig in FIGURES:
        if fig.benchmark not in outputs:
            continue
        value = fig.read(outputs[fig.benchmark])
        measured = "-" if value is None else f"{_number(value)} {fig.unit}"
        target = "-" if fig.target is None else f"{'>=' if fig.higher_is_better else '<='} {_number(fig.target)} {fig.unit}"
        lines.append(f"| {fig.benchmark} | {fig.label} | {measured} | {target} | {fig.verdict(value)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: faster, noisier")
    parser.add_argument("--logs", type=Path, default=Path("bench-logs"), help="where each benchmark's output is kept")
    parser.add_argument("--parse", type=Path, default=None, help="only rebuild the table from the logs in this folder")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {', '.join(BENCHMARKS)}")
    if args.parse is not None:
        outputs = {n: (args.parse / f"{n}.log").read_text() for n in names if (args.parse / f"{n}.log").is_file()}
    else:
        outputs = {}
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            outputs[name] = run_benchmark(name, args.quick, args.logs)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (rates fall with load)\n")
    print(table(outputs))


if __name__ == "__main__":
    main()
