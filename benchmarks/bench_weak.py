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
- a measured scan with templates as Dask tasks (:func:`adsearch.searches.weak.windows.scan_many`):
  toy dijet samples, SALAD, 2 signal regions x 2 instances, N = 2 (published network settings),
  in this process and on a 2-worker embedded cluster; the wall time a two-wave model (every
  template task, then every network task, spread over the workers) predicts for it, from the
  template and network task times measured in that scan (in the scan's batches of 256 windows);
- the full scan: 7 regions x 3 feature sets x 2 templates, N = 10 (50 networks per window),
  each window once for the search and 10 instances x 3 validation samples: 1,302 windows, on
  100 cores by the same model, from the measured task times (the template time the mean of a
  SALAD template and a CURTAINS flow + transport at ``--rows``), next to the former
  implementation's estimate (templates on the client, one window after another).
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
from adsearch.searches.common.samples import Sample
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.windows import TEMPLATE_BATCH, ScanInstance, scan_many


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


def two_waves(n_templates: int, n_networks: int, t_template: float, t_network: float, cores: int) -> float:
    """Wall time of every template task, then every network task, each spread over ``cores``, in
    the scan's batches of ``TEMPLATE_BATCH`` windows."""
    total, per_window = 0.0, n_networks / n_templates
    for start in range(0, n_templates, TEMPLATE_BATCH):
        n = min(TEMPLATE_BATCH, n_templates - start)
        total += math.ceil(n / cores) * t_template + math.ceil(n * per_window / cores) * t_network
    return total


def toy_sample(rows: int, seed: int, mass_scale: float = 1.0) -> Sample:
    """Toy dijet events of the store's columns (a falling mJJ, jet masses growing with it)."""
    rng = np.random.default_rng(seed)
    m = 2000.0 * (1.0 - rng.random(rows)) ** (-1.0 / 5.0)
    cols = {"mjj_gev": m, "mj1_gev": mass_scale * (30.0 + rng.gamma(2.0, 0.05 * m / 3.0)),
            "mj2_gev": mass_scale * (30.0 + rng.gamma(2.0, 0.05 * m / 3.0)),
            "tau21_j1": rng.uniform(0.3, 0.9, rows), "tau21_j2": rng.uniform(0.3, 0.9, rows),
            "run": np.ones(rows, np.int64), "luminosityBlock": np.full(rows, seed, np.int64),
            "event": np.arange(rows, dtype=np.int64)}
    return Sample("toy", cols)


def measured_scan(rows: int) -> dict[str, float]:
    """A small SALAD scan with scan_many in process and on 2 workers; the two-wave model's figure."""
    config = WeakSearchConfig(template="salad", signal_regions_gev=[(2600.0, 3200.0), (2900.0, 3500.0)],
                              feature_sets=["M_tau21"], classifier=WeakConfig(n_members=2, tf_threads=1),
                              salad=SaladConfig(tf_threads=1))
    data, sim = toy_sample(4 * rows, 1), toy_sample(4 * rows, 2, mass_scale=1.05)
    instances = [ScanInstance(data, sim, 0, config), ScanInstance(data.subset(np.arange(0, 4 * rows, 2)), sim, 1000, config)]
    t0 = time.perf_counter()
    here = scan_many(instances)
    in_process = time.perf_counter() - t0
    with dask_client(n_workers=2, memory_limit="3GiB") as client:
        scan_many([ScanInstance(toy_sample(2000, 3), sim, 0, config.model_copy(update={
            "signal_regions_gev": [(2600.0, 3200.0)], "salad": SaladConfig(max_epochs=1, tf_threads=1),
            "classifier": WeakConfig(n_members=1, max_epochs=1, tf_threads=1)}))], client)  # traced once per worker
        t0 = time.perf_counter()
        scan_many(instances, client)
        workers = time.perf_counter() - t0
    windows = [w for scan in here for w in scan]
    n_networks = sum(w.n_networks for w in windows)
    # in process, a window's training time is its template plus its networks, one after another
    t_template = float(np.mean([w.template_info["template_seconds"] for w in windows]))
    t_network = (sum(w.train_seconds for w in windows) - t_template * len(windows)) / n_networks
    return {"windows": len(windows), "networks": n_networks, "in_process_s": in_process, "workers_s": workers,
            "template_s": t_template, "network_s": t_network,
            "model_s": two_waves(len(windows), n_networks, t_template, t_network, 2)}


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
    per_min = {}
    for workers in (1, 2):
        with dask_client(n_workers=workers, memory_limit="3GiB") as client:
            cross_validated_scores(x[:2000], y[:2000], fold[:2000], weights=w[:2000],
                                   config=WeakConfig(n_members=1, max_epochs=1, tf_threads=1), client=client)
            t0 = time.perf_counter()
            _, members = cross_validated_scores(x, y, fold, weights=w, trainable=trainable, config=config, client=client)
            elapsed = time.perf_counter() - t0
        per_min[workers] = 60.0 * len(members) / elapsed
        epochs = float(np.mean([m.epochs for m in members]))
    out.append((f"data-vs-template classifiers per minute, 1 / 2 workers ({2 * rows:,} rows, {epochs:.0f} epochs)",
                f"{per_min[1]:.1f} / {per_min[2]:.1f} (speed-up {per_min[2] / per_min[1]:.2f}x)"))

    scan = measured_scan(rows)
    out.append((f"measured scan, templates as tasks: {scan['windows']} SALAD windows (2 regions x 2 instances), "
                f"{scan['networks']} networks, in process / 2 workers",
                f"{scan['in_process_s']:.1f} s / {scan['workers_s']:.1f} s (speed-up "
                f"{scan['in_process_s'] / scan['workers_s']:.2f}x; two-wave model {scan['model_s']:.1f} s from "
                f"{scan['template_s']:.1f} s per template, {scan['network_s']:.2f} s per network)"))

    windows = 7 * 3 * 2 * (1 + 10 * 3)
    t_template = 0.5 * (t_flow + t_transport) + 0.5 * t_salad  # half the windows CURTAINS, half SALAD
    t_net = scan["network_s"]
    before = windows * (t_template + math.ceil(50 / 100) * t_net)
    as_tasks = two_waves(windows, 50 * windows, t_template, t_net, 100)
    out.append(("full scan (7 x 3 x 2, N = 10, 10 instances x 3 validation samples = 1,302 windows) on 100 cores",
                f"~{as_tasks / 3600:.2f} h with templates as tasks ({t_template:.0f} s per template, "
                f"{t_net:.2f} s per network, {rows:,} events per region); the former one-window-after-another "
                f"implementation ~{before / 3600:.1f} h"))
    print(f"| row | result ({rows:,} events per region) |")
    print("|---|---|")
    for name, value in out:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
