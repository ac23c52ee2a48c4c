"""Benchmark of the 2025 weak search: flow training samples/s, template events/s, classifiers per
minute on 1 versus 2 workers, and the estimated wall time of the full published scan on 100 cores.

Run: ``python benchmarks/bench_weak.py [--rows N]``. Toy sideband / signal-region events of the
{M, tau21} shape (4 features whose mean moves with mJJ), ``--rows`` events per region (default
20,000). Rows:

- conditional MAF (CURTAINS / CATHODE) training samples per second (epochs x events / s), and
  the DOWN-UP-SAMPLING flow-matching model's;
- template events per second: CURTAINS transport, CATHODE sampling, SALAD (classifier training
  included, per template event), DOWN-UP-SAMPLING draws;
- data-versus-template classifiers (2025 defaults: 64-64-64, dropout 5%, batch 512, <= 100
  epochs, patience 10) per minute on a 1- and a 2-worker embedded cluster (10 networks: 5 folds
  x 2 members, each a Dask task, after every worker has traced its trainer once);
- the full scan: 7 regions x 3 feature sets x 2 templates, N = 10 (50 networks per window),
  each window once for the search and 10 instances x 3 validation samples: 1,302 windows. Two
  estimates: as implemented (windows one after another, a window's template on the client, its
  50 networks in parallel: one wave on 100 cores) and with the template jobs as Dask tasks too.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from adsearch.cluster import dask_client
from adsearch.models.flow_matching import FlowMatchingConfig, train_flow_matching
from adsearch.models.flows import FlowConfig
from adsearch.models.templates import SaladConfig, cathode_template, curtains_template, fit_sideband_flow, salad_template
from adsearch.models.weak import WeakConfig, cross_validated_scores, training_arrays
from adsearch.models.ensemble import fold_of_ids


def toy(rows: int, seed: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = rng.uniform(lo, hi, rows)
    t = m / 1000.0
    x = np.stack([0.1 * t + 0.03 * rng.normal(size=rows), 0.05 * t + 0.02 * rng.normal(size=rows),
                  rng.normal(size=rows) + 0.1 * t, rng.normal(size=rows)], 1).astype(np.float32)
    return x, m


def sidebands(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x1, m1 = toy(rows // 2, seed, 2000.0, 2600.0)
    x2, m2 = toy(rows - rows // 2, seed + 1, 3200.0, 3800.0)
    return np.concatenate([x1, x2]), np.concatenate([m1, m2])


def rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    rows = args.rows
    x_sb, m_sb = sidebands(rows, 0)
    x_sr, m_sr = toy(rows, 5, 2600.0, 3200.0)
    out: list[tuple[str, str]] = []

    # flows (one process, one thread): the defaults, early stopping included
    flow_cfg = FlowConfig(tf_threads=1)
    t0 = time.perf_counter()
    flow = fit_sideband_flow(x_sb, m_sb, flow_cfg)
    t_flow = time.perf_counter() - t0
    out.append(("conditional MAF training (defaults: 4 MADE layers of 64-64, batch 256), samples/s",
                f"{flow.info['train_samples_per_s']:,.0f} ({flow.info['n_train']:,} events x {flow.info['epochs']} "
                f"epochs in {t_flow:.1f} s, tracing included)"))
    fm_cfg = FlowMatchingConfig(max_epochs=5, patience=100, tf_threads=1)
    t0 = time.perf_counter()
    fm = train_flow_matching(x_sb, m_sb[:, None] / 1000.0, fm_cfg)
    t_fm = time.perf_counter() - t0
    out.append(("flow matching training (3 x 32, batch 64, published), samples/s",
                f"{0.8 * rows * 5 / t_fm:,.0f} ({t_fm:.1f} s for 5 epochs)"))

    targets = np.repeat(np.random.default_rng(1).uniform(2600.0, 3200.0, rows), 4)
    t0 = time.perf_counter()
    curtains_template(x_sb, m_sb, targets, flow=flow)
    t_transport = time.perf_counter() - t0
    out.append(("CURTAINS transport (m = 4), template events/s", rate(targets.size, t_transport)))
    t0 = time.perf_counter()
    cathode_template(x_sb, m_sb, targets, flow=flow)
    out.append(("CATHODE sampling, template events/s", rate(targets.size, time.perf_counter() - t0)))
    t0 = time.perf_counter()
    fm.sample(m_sb[:, None] / 1000.0, seed=2)
    out.append(("DOWN-UP-SAMPLING draws (40 midpoint steps), events/s", rate(rows, time.perf_counter() - t0)))
    xs_sb, ms_sb = sidebands(rows, 10)
    t0 = time.perf_counter()
    salad_template(x_sb, m_sb, xs_sb, ms_sb, x_sr, m_sr, SaladConfig(tf_threads=1))
    t_salad = time.perf_counter() - t0
    out.append(("SALAD (classifier training + weights, published settings), template events/s",
                f"{rate(rows, t_salad)} ({t_salad:.1f} s per template)"))

    # data-vs-template classifiers on 1 and 2 workers
    x, y, w, trainable = training_arrays(x_sr, x_sr[::-1] + 0.01, None)
    fold = fold_of_ids({"row": np.arange(len(x), dtype=np.uint64)}, 5)
    config = WeakConfig(n_members=2, tf_threads=1)
    per_min, t_net = {}, 0.0
    for workers in (1, 2):
        with dask_client(n_workers=workers, memory_limit="3GiB") as client:
            cross_validated_scores(x[:2000], y[:2000], fold[:2000], weights=w[:2000],
                                   config=WeakConfig(n_members=1, max_epochs=1, tf_threads=1), client=client)
            t0 = time.perf_counter()
            _, members = cross_validated_scores(x, y, fold, weights=w, trainable=trainable, config=config, client=client)
            elapsed = time.perf_counter() - t0
        per_min[workers] = 60.0 * len(members) / elapsed
        if workers == 1:
            t_net = elapsed / len(members)
            epochs = float(np.mean([m.epochs for m in members]))
    out.append((f"data-vs-template classifiers per minute, 1 / 2 workers ({2 * rows:,} rows, {epochs:.0f} epochs)",
                f"{per_min[1]:.1f} / {per_min[2]:.1f} (speed-up {per_min[2] / per_min[1]:.2f}x)"))

    windows = 7 * 3 * 2 * (1 + 10 * 3)
    t_template = 0.5 * (t_flow + t_transport) + 0.5 * t_salad  # half the windows CURTAINS, half SALAD
    as_implemented = windows * (t_template + math.ceil(50 / 100) * t_net)
    as_tasks = math.ceil(windows / 100) * t_template + math.ceil(windows * 50 / 100) * t_net
    out.append(("full scan (7 x 3 x 2, N = 10, 10 instances x 3 validation samples = 1,302 windows) on 100 cores",
                f"as implemented ~{as_implemented / 3600:.1f} h (templates on the client, {t_template:.0f} s each); "
                f"templates as tasks too ~{as_tasks / 3600:.1f} h ({t_net:.1f} s per network, "
                f"{t_template:.0f} s per template, {rows:,} events per region)"))
    print(f"| row | result ({rows:,} events per region) |")
    print("|---|---|")
    for name, value in out:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
