"""Benchmark of CWoLa hunting's training: networks per second per core, one region's 60 networks
on 1 versus 2 workers, and the estimated wall time of the full 6-region scan on 100 cores.

Run: ``python benchmarks/bench_cwola.py [--rows N] [--keras]``. The region is seeded toy data of
the shape the search trains on: ECDF-uniform (m1, m2), a signal region with its two sidebands
(labels 1/0, sidebands weighted), ``--rows`` trainable events (default 60,000). Each network runs
the 2020 defaults (64-32-8, Adam 1e-3, batch 512, early stopping patience 30, at most 200
epochs). Both worker counts run side by side in one process, after every worker has traced its
trainer once (the first network of a worker pays ~1 s of tracing). ``--keras`` also times one
network through ``keras.Model.fit`` for comparison.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from adsearch.cluster import dask_client
from adsearch.models.cwola import CWoLaConfig, cwola_efficiencies
from adsearch.models.ensemble import fold_of_ids


def region(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(rows, 2)).astype(np.float32)
    y = (rng.uniform(size=rows) < 0.4).astype(np.float32)
    w = np.where(y > 0, 1.0, 0.4 / 0.6).astype(np.float32)
    fold = fold_of_ids({"row": np.arange(rows, dtype=np.uint64)}, k=5)
    return x, y, w, fold


def run(client: object, rows: int, config: CWoLaConfig) -> tuple[float, float]:
    x, y, w, fold = region(rows)
    start = time.perf_counter()
    _, members = cwola_efficiencies(x, y, fold, weights=w, config=config, client=client)
    return time.perf_counter() - start, float(np.mean([m.epochs for m in members]))


def keras_network(rows: int, config: CWoLaConfig) -> float:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    x, y, w, _ = region(rows)
    n_train = int(0.6 * rows)
    model = keras.Sequential([keras.Input((2,)), *[keras.layers.Dense(h, activation="relu") for h in config.hidden],
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy")
    stop = keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True)
    start = time.perf_counter()
    model.fit(x[:n_train], y[:n_train], sample_weight=w[:n_train], validation_data=(x[n_train:], y[n_train:]),
              batch_size=config.batch_size, epochs=config.max_epochs, callbacks=[stop], verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--keras", action="store_true")
    args = parser.parse_args()
    config = CWoLaConfig(tf_threads=1)
    results = {}
    for workers in (1, 2):
        with dask_client(n_workers=workers, memory_limit="3GiB") as client:
            run(client, 2000, CWoLaConfig(n_members=1, max_epochs=2, tf_threads=1))  # trace on every worker
            results[workers] = run(client, args.rows, config)
    (t1, epochs), (t2, _) = results[1], results[2]
    per_network = t1 / 60.0
    scan_networks = 6 * 60
    waves = math.ceil(scan_networks / 100)
    print(f"| row | result ({args.rows:,} trainable events per region, {epochs:.0f} epochs on average) |")
    print("|---|---|")
    print(f"| networks trained per second per core (1 worker) | {60.0 / t1:.2f} ({per_network:.2f} s per network) |")
    print(f"| one region's 60 networks, 1 / 2 workers | {t1:.1f} s / {t2:.1f} s |")
    print(f"| speed-up 2 vs 1 workers | {t1 / t2:.2f}x |")
    print(f"| full scan, 6 regions x 60 networks on 100 cores (estimate: {waves} waves x 1 network) | "
          f"{waves * per_network:.1f} s at this size; {waves * per_network * 1e6 / args.rows / 60:.1f} min "
          f"at 10^6 events per region (time linear in events) |")
    if args.keras:
        print(f"| one network through keras.Model.fit (same data, config) | {keras_network(args.rows, config):.1f} s |")


if __name__ == "__main__":
    main()
