"""Benchmark of the Y -> X H search: VRNN training and scoring jets/s per core, and the wall time of
the full chain (VRNN ensemble + grid fits + hunt) on 1 versus 2 Dask workers.

Run: ``python benchmarks/bench_hx.py --store STORE [--dataset qcd] [--jets N] [--epochs E]``.
The jets are the X jets of an hx store (real generated constituents, 20 per jet). Training is
timed in this process on one thread after one warm-up network (the first network of a process
traces the graph once); the rate counts jet-epochs (jets x epochs) per second. Scoring rate: all
jets through a trained network. The full chain is :func:`adsearch.searches.hx.hx_search` on the
store with the given VRNN epochs and a 4-fold ensemble (4 networks: 2 per worker on 2 workers),
once on a 1-worker and once on a 2-worker local cluster (each
worker has one thread and traces its own graph once).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from adsearch.cluster import dask_client
from adsearch.models.runtime import configure_tensorflow
from adsearch.models.vrnn import VRNNConfig, prepare_jets, train_vrnn
from adsearch.searches.hx import HxSearchConfig, hx_search
from adsearch.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--dataset", default="qcd")
    parser.add_argument("--jets", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--signals", default="", help="comma-separated signal datasets for the full chain")
    parser.add_argument("--skip-chain", action="store_true")
    args = parser.parse_args()
    configure_tensorflow(threads=1)
    store = open_store(args.store)
    jets = store.read(args.dataset, ["x_constituents"])["x_constituents"]
    if "h_candidate" in store.columns(args.dataset):  # a store with training jets: the X candidates only
        jets = jets[store.read(args.dataset, ["h_candidate"])["h_candidate"].astype(bool)]
    jets = jets[: args.jets]
    cfg = VRNNConfig(epochs=args.epochs, patience=args.epochs)
    x, _ = prepare_jets(jets, cfg)
    train_vrnn(x[:1000], cfg.model_copy(update={"epochs": 1}), seed=0)  # warm-up: trace once
    start = time.perf_counter()
    model = train_vrnn(x, cfg, seed=1)
    train_s = time.perf_counter() - start
    n_train = int(round(0.8 * len(x)))
    start = time.perf_counter()
    model.score(jets)
    score_s = time.perf_counter() - start
    rows = {"jets": len(x), "epochs": model.epochs,
            "training_jet_epochs_per_s_per_core": n_train * model.epochs / train_s,
            "training_s": train_s, "scoring_jets_per_s_per_core": len(x) / score_s, "scoring_s": score_s}
    if not args.skip_chain:
        search = HxSearchConfig(data_dataset=args.dataset, signal_datasets=[s for s in args.signals.split(",") if s],
                                vrnn=cfg, n_pseudo=500, ensemble_folds=4)
        for workers in (1, 2):
            with dask_client(None, n_workers=workers, threads_per_worker=1) as client:
                start = time.perf_counter()
                result = hx_search(store, search, client=client)
                rows[f"chain_{workers}_workers_s"] = time.perf_counter() - start
                rows[f"chain_{workers}_workers_vrnn_s"] = result.seconds["vrnn"]
        rows["chain_speedup_2_vs_1"] = rows["chain_1_workers_s"] / rows["chain_2_workers_s"]
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
