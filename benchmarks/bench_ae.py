"""Autoencoder throughput against this machine's dense float32 matmul bound, measured in the same run.

The network costs 2 * (1287*800 + 800*400 + 400*200 + 200*400 + 400*800 + 800*1287) = 5.72 MFLOP
per event forward, so inference can at best reach (matmul GFLOP/s) / 5.72 MFLOP events/s. The
bound is the best of numpy and TensorFlow on a 4096 x 4096 float32 product. Rates are given per
wall second and per CPU second of this process (all its threads): on a shared machine the CPU
rate is the per-core figure to trust, and the "of bound" column compares like with like
(inference per core against matmul per core). Training counts forward + backward (~3x).

    python benchmarks/bench_ae.py                 # ~1-2 minutes on 2 cores
    python benchmarks/bench_ae.py --rows 32768 --json out/bench_ae.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from adsearch.models.autoencoder import flops_per_event

MATMUL_N = 4096


def _timed(func: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Best (wall, cpu) seconds of ``repeats`` calls after one warm-up call."""
    func()
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def matmul_bound(repeats: int = 3) -> dict[str, dict[str, float]]:
    """GFLOP/s (wall and per CPU second) of a 4096^2 float32 product in numpy and TensorFlow."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b = (rng.random((MATMUL_N, MATMUL_N), dtype=np.float32) for _ in range(2))
    ta, tb = tf.constant(a), tf.constant(b)
    flops = 2.0 * MATMUL_N**3
    out = {}
    for name, func in (("numpy", lambda: a @ b), ("tensorflow", lambda: tf.matmul(ta, tb).numpy())):
        wall, cpu = _timed(func, repeats)
        out[name] = {"gflops_wall": flops / wall / 1e9, "gflops_cpu": flops / cpu / 1e9}
    return out


def inference_rates(model_path: Path, rows: np.ndarray) -> dict[str, dict[str, float]]:
    """Events/s of the compiled fixed-batch scorer (XLA on and off) and of ``model.predict``."""
    import keras

    from adsearch.models.scoring import Scorer

    out = {}
    for label, jit in (("tf.function batch 4096", False), ("tf.function batch 4096, XLA", True)):
        scorer = Scorer(model_path, 4096, jit_compile=jit)
        wall, cpu = _timed(lambda: scorer.mse(rows), 2)
        out[label] = {"events_wall": len(rows) / wall, "events_cpu": len(rows) / cpu}
    model = keras.models.load_model(model_path, compile=False)
    wall, cpu = _timed(lambda: model.predict(rows, batch_size=4096, verbose=0), 2)
    out["model.predict batch 4096"] = {"events_wall": len(rows) / wall, "events_cpu": len(rows) / cpu}
    return out


def training_rates(rows: np.ndarray, epochs: int) -> dict[str, dict[str, float]]:
    """Training samples/s (batch 100, Adam) with and without XLA, after a warm-up epoch."""
    import keras

    from adsearch.models.autoencoder import build_autoencoder

    out = {}
    for label, jit in (("fit batch 100", False), ("fit batch 100, XLA", True)):
        keras.utils.set_random_seed(1)
        model = build_autoencoder()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit)
        fit = lambda: model.fit(rows, rows, batch_size=100, epochs=epochs, shuffle=True, verbose=0)  # noqa: E731
        wall, cpu = _timed(fit, 1)
        out[label] = {"events_wall": epochs * len(rows) / wall, "events_cpu": epochs * len(rows) / cpu}
    return out


def store_scoring_rate(model_path: Path, rows: np.ndarray, workdir: Path) -> dict[str, float]:
    """events/s of :func:`score_events` (read from Zarr + score + write column), and bytes/event."""
    from adsearch.models.scoring import score_events
    from adsearch.processors.synthetic import write_store

    n = len(rows)
    path = write_store(workdir / "bench.zarr", {"data": (n, rows, np.arange(n))})
    score_events(path, model_path)  # warm-up: model load and trace
    cpu = time.process_time()
    (summary,) = score_events(path, model_path)
    return {"events_wall": summary.events_per_s, "events_cpu": n / (time.process_time() - cpu),
            "bytes_per_event": summary.rmm_bytes_per_event}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32768, help="events scored per timing")
    parser.add_argument("--train-rows", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    import tempfile

    from adsearch.models.autoencoder import build_autoencoder
    from adsearch.models.runtime import configure_tensorflow, device_name
    from adsearch.processors.synthetic import ordinary_rmm_rows

    configure_tensorflow()
    cores = os.cpu_count() or 1
    rows = ordinary_rmm_rows(args.rows, seed=1)
    mflop = flops_per_event() / 1e6
    bound = matmul_bound()
    best_wall = max(v["gflops_wall"] for v in bound.values())
    best_cpu = max(v["gflops_cpu"] for v in bound.values())
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "ae.keras"
        build_autoencoder().save(model_path)
        inference = inference_rates(model_path, rows)
        inference["score_events (Zarr read + score + write)"] = store_scoring_rate(model_path, rows, Path(tmp))
    training = training_rates(rows[: args.train_rows], args.epochs)

    table = Table(title=f"RMM autoencoder on {device_name()}, {cores} cores; {mflop:.2f} MFLOP/event forward")
    for column in ("measurement", "wall rate", "of bound", "per CPU-second (core)", "of bound per core"):
        table.add_column(column, justify="left" if column == "measurement" else "right")

    def share(rate: float, gflops: float, passes: int = 1) -> str:
        return f"{100 * rate * passes * mflop / 1e3 / gflops:.0f}%"

    for name, v in bound.items():
        table.add_row(f"matmul 4096^2 float32, {name}", f"{v['gflops_wall']:.1f} GFLOP/s", "",
                      f"{v['gflops_cpu']:.1f} GFLOP/s", "")
    table.add_row("bound: best matmul / 5.72 MFLOP", f"{best_wall * 1e3 / mflop:.0f} events/s", "100%",
                  f"{best_cpu * 1e3 / mflop:.0f} events/s", "100%")
    for name, v in inference.items():
        table.add_row(f"inference: {name}", f"{v['events_wall']:.0f} events/s", share(v["events_wall"], best_wall),
                      f"{v['events_cpu']:.0f} events/s", share(v["events_cpu"], best_cpu))
    for name, v in training.items():  # forward + backward ~ 3 forward passes
        table.add_row(f"training: {name}", f"{v['events_wall']:.0f} samples/s", share(v["events_wall"], best_wall, 3),
                      f"{v['events_cpu']:.0f} samples/s", share(v["events_cpu"], best_cpu, 3))
    console = Console(width=150)
    console.print(table)
    store = inference["score_events (Zarr read + score + write)"]
    console.print(f"stored RMM: {store['bytes_per_event']:.0f} bytes/event on disk (dense float32: 5148)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"device": device_name(), "cores": cores, "mflop_per_event": mflop,
                                         "matmul": bound, "inference": inference, "training": training}, indent=2))


if __name__ == "__main__":
    main()
