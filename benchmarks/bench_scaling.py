"""Scaling benchmark: wall time and speed-up on 1 and 2 Dask workers for the three kinds of heavy
work, and the per-core rates the capacity model in deploy/README.md is built from.

Rows printed (each a fresh embedded cluster whose workers were warmed first: imports, numba
JIT, TensorFlow tracing are paid once per worker and are not the work being scaled):

* processing: the lepton processor end to end (input check, coffea units, store parts,
  consolidation) on ``--files`` x ``--events-per-file`` generated events (replicated from a small
  Pythia sample, see ``bench_processors.py``); events/s/core by wall clock;
* scoring: the autoencoder scoring every stored event (``score_events``), events/s/core;
* ensemble training: one CWoLa region's 60 networks (k = 5, n = 3, 4 validation choices) on
  ``--rows`` trainable events, networks/s/core; and one weakly supervised ensemble (5 folds x 10
  members of the 2025 classifier) on the same rows, fits/s/core;
* pseudo-experiments: ``--pseudo`` BumpHunter pseudo-experiments on a 77-bin five-parameter
  background of 20k events (a fixed fit), split into 20 Dask tasks, PE/s/core.

    python benchmarks/bench_scaling.py                 # ~5-10 min on 2 cores
    python benchmarks/bench_scaling.py --files 8 --events-per-file 50000 --rows 60000

The machine running it is shared: the load average is printed with the table, and every row also
gives the rate per worker CPU-second (stable under load; the capacity model uses it). Quote
speed-ups from quiet runs only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cwola import region  # noqa: E402
from bench_stats import TRUTH  # noqa: E402
from bench_processors import _replicate, _sample, _warm  # noqa: E402

from adsearch.cluster import dask_client, run_tasks  # noqa: E402


def _cpu(client: object) -> float:
    """CPU seconds used so far by every worker process (all its threads): the shared machine's
    stable measure (wall clock stretches with the other jobs' load)."""
    return sum(client.run(time.process_time).values())  # type: ignore[attr-defined]


class _Timer:
    """Wall and worker-CPU seconds of the block."""

    def __init__(self, client: object) -> None:
        self.client = client

    def __enter__(self) -> "_Timer":
        self.cpu0, self.t0 = _cpu(self.client), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.t0, _cpu(self.client) - self.cpu0


def _processing(files: list[Path], work: Path, workers: int, chunksize: int) -> tuple[_Timer, int, Path]:
    from adsearch.processors.run import run_processor

    with dask_client(n_workers=workers, memory_limit="4GiB") as client:
        client.run(_warm, "lepton", str(files[0]), str(work / f"warm_{workers}"))
        store = work / f"scaling_{workers}w.zarr"
        with _Timer(client) as timer:
            summary = run_processor("lepton", {"bench": [str(f) for f in files]}, store, client=client,
                                    chunksize=chunksize, progress=False)
        return timer, summary.n_events_in, store


def _scoring(store: Path, model: Path, workers: int) -> tuple[_Timer, int]:
    from adsearch.models.scoring import score_events

    with dask_client(n_workers=workers, memory_limit="4GiB") as client:
        score_events(store, model, client=client, column="ae_warm")  # traces the scorer on every worker
        with _Timer(client) as timer:
            summaries = score_events(store, model, client=client, column=f"ae_score_{workers}w")
        return timer, sum(s.n_scored for s in summaries)


def _cwola(rows: int, workers: int) -> tuple[_Timer, int]:
    from adsearch.models.cwola import CWoLaConfig, cwola_efficiencies

    x, y, w, fold = region(rows)
    config = CWoLaConfig()
    with dask_client(n_workers=workers, memory_limit="4GiB") as client:
        cwola_efficiencies(x[:2000], y[:2000], fold[:2000], weights=w[:2000], config=config.model_copy(
            update={"n_members": 1, "max_epochs": 2}), client=client)  # trace the trainer on the workers
        with _Timer(client) as timer:
            _, members = cwola_efficiencies(x, y, fold, weights=w, config=config, client=client)
        return timer, len(members)


def _weak(rows: int, workers: int) -> tuple[_Timer, int]:
    from adsearch.models.weak import WeakConfig, weak_classifier_scores

    rng = np.random.default_rng(3)
    x_data = rng.normal(size=(rows, 3)).astype(np.float32)
    x_template = rng.normal(size=(rows, 3)).astype(np.float32)
    config = WeakConfig()
    with dask_client(n_workers=workers, memory_limit="4GiB") as client:
        weak_classifier_scores(x_data[:500], x_template[:500], config.model_copy(update={"n_members": 1}),
                               client=client)
        with _Timer(client) as timer:
            weak_classifier_scores(x_data, x_template, config, client=client)
        return timer, config.k * config.n_members


def _pe_task(expected: np.ndarray, n: int, seed: int) -> int:
    from adsearch.stats.bumphunter import null_distribution

    return int(null_distribution(expected, n_pseudo=n, seed=seed).size)


def _pseudo(n_pseudo: int, workers: int) -> _Timer:
    from adsearch.stats.fitting import expected_counts

    edges = np.geomspace(1000.0, 8000.0, 78)
    expected = expected_counts("five_param", TRUTH["five_param"], edges)
    expected = expected * 2e4 / expected.sum()
    tasks = 20
    with dask_client(n_workers=workers, memory_limit="4GiB") as client:
        run_tasks(_pe_task, [(expected, 50, s) for s in range(workers)], client)  # imports on every worker
        with _Timer(client) as timer:
            run_tasks(_pe_task, [(expected, n_pseudo // tasks, 100 + s) for s in range(tasks)], client)
        return timer


def _train_model(store: Path, work: Path) -> Path:
    from adsearch.models import AutoencoderConfig
    from adsearch.models.training import train_autoencoder

    config = AutoencoderConfig(train_fraction=0.2, n_retrains=1, max_epochs=2, patience=2)
    return train_autoencoder(store, config, work / "ae", client=None).model_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--events-per-file", type=int, default=25_000)
    parser.add_argument("--chunksize", type=int, default=25_000)
    parser.add_argument("--rows", type=int, default=20_000, help="trainable events of the ensembles")
    parser.add_argument("--pseudo", type=int, default=4000, help="pseudo-experiments (refitted null)")
    parser.add_argument("--only", default="processing,scoring,cwola,weak,pseudo")
    args = parser.parse_args()
    only = set(args.only.split(","))
    rows: list[tuple[str, str, _Timer, _Timer, float]] = []

    def add(name: str, unit: str, t1: _Timer, t2: _Timer, amount: float) -> None:
        rows.append((name, unit, t1, t2, amount))
        print(f"{name}: 1 worker {t1.wall:.1f} s, 2 workers {t2.wall:.1f} s, speed-up {t1.wall / t2.wall:.2f}x, "
              f"{amount / t1.wall:,.1f} {unit}/s per core (wall), {amount / t1.cpu:,.1f} per worker CPU-s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_scaling_") as tmp:
        work = Path(tmp)
        if only & {"processing", "scoring"}:
            seeds = _sample("lepton", [], work, 2000)
            files = [_replicate(seeds, work / f"in_{i}.root", args.events_per_file, i * 10**12)
                     for i in range(args.files)]
            (t1, n, store1), (t2, _, _) = (_processing(files, work, w, args.chunksize) for w in (1, 2))
            if "processing" in only:
                add(f"processing: lepton, {args.files} x {args.events_per_file:,} events", "events", t1, t2, n)
            if "scoring" in only:
                model = _train_model(store1, work)
                (s1, n1), (s2, _) = (_scoring(store1, model, w) for w in (1, 2))
                add(f"scoring: autoencoder, {n1:,} stored events", "events", s1, s2, n1)
        if "cwola" in only:
            (t1, n), (t2, _) = (_cwola(args.rows, w) for w in (1, 2))
            add(f"ensemble training: CWoLa region, 60 networks, {args.rows:,} rows", "networks", t1, t2, n)
        if "weak" in only:
            (t1, n), (t2, _) = (_weak(args.rows, w) for w in (1, 2))
            add(f"ensemble training: weak supervision, {n} fits, {args.rows:,} rows", "fits", t1, t2, n)
        if "pseudo" in only:
            t1, t2 = (_pseudo(args.pseudo, w) for w in (1, 2))
            add(f"pseudo-experiments: BumpHunter, 77 bins, {args.pseudo:,} PE in 20 tasks", "PE", t1, t2, args.pseudo)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| work | 1 worker | 2 workers | speed-up | per core, 1 worker (wall) | per worker CPU-s (1 / 2 workers) |")
    print("|---|---|---|---|---|---|")
    for name, unit, t1, t2, amount in rows:
        print(f"| {name} | {t1.wall:.1f} s | {t2.wall:.1f} s | {t1.wall / t2.wall:.2f}x | {amount / t1.wall:,.1f} {unit}/s "
              f"| {amount / t1.cpu:,.1f} / {amount / t2.cpu:,.1f} {unit}/s |")

if __name__ == "__main__":
    main()
