"""``weak_search``: a dijet store in; per signal region and feature set, template, classifier
ensemble, selections, strategy-B fits, merged-bin significances, validation and non-closure out.

The chain of the 2025 ATLAS search: load the search (|dy| < 1.2) or validation region of the
pseudo-data (and, for SALAD, of the simulation), inject signal if asked, and scan every (signal
region, feature set) (:mod:`adsearch.searches.weak.windows`). Then the same chain runs on each
validation sample's instances (LARGE |dY|, MONTE CARLO, DOWN-UP-SAMPLING,
:mod:`adsearch.searches.weak.validation_samples`): a region's Z is reported only if every sample
closes (median Z < 1, spread < 1 over >= 10 instances), after the non-closure correction fitted
on the DOWN-UP-SAMPLING instances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from adsearch.cluster import run_tasks
from adsearch.provenance import run_record, write_json
from adsearch.searches.common.samples import Sample, dataset_luminosity_ipb, inject_signals
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.features import load_weak
from adsearch.searches.weak.validation import apply_validation
from adsearch.searches.weak.validation_samples import bootstrap, down_up_sample
from adsearch.searches.weak.windows import ScanInstance, WindowResult, run_window, scan_many
from adsearch.store import FeatureStore, open_store

__all__ = ["WindowResult", "WeakResult", "run_window", "weak_search", "validation_instances",
           "draw_validation_instances"]


@dataclass
class WeakResult:
    """What the search found; ``to_dict`` is what results.json holds.

    ``validation``: per validation sample, the instances run (or why none), the DOWN-UP-SAMPLING
    training summary, and the non-closure corrections fitted.
    """

    template: str
    region: str
    luminosity_ipb: float
    n_data: int
    n_injected: dict[str, int]
    windows: list[WindowResult]
    timings_s: dict[str, float] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    #: the validation instances' scans (sample -> one scan per instance); not serialised
    validation_runs: dict[str, list[list[WindowResult]]] = field(default_factory=dict, repr=False)

    def max_z(self, label: str, *, reported: bool = False) -> float:
        """Largest Z of a selection; ``reported``: corrected Z of validated regions only."""
        zs = [s.reported_z if reported else s.z for w in self.windows for s in w.spectra if s.label == label]
        zs = [z for z in zs if np.isfinite(z)]
        return max(zs) if zs else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.template, "region": self.region, "luminosity_ipb": self.luminosity_ipb,
                "n_data": self.n_data, "n_injected": self.n_injected, "windows": [w.to_dict() for w in self.windows],
                "validation": self.validation, "timings_s": self.timings_s}


def _down_up_task(seed: int, *, data: Sample, config: Any) -> tuple[Sample, dict[str, float]]:
    return down_up_sample(data, config, seed=seed)


def draw_validation_instances(
    fs: FeatureStore, config: WeakSearchConfig, data: Sample, simulation: Sample | None,
    load: Callable[[str, str], Sample], lumi: float, client: Any | None = None,
) -> tuple[list[tuple[str, ScanInstance]], dict[str, Any]]:
    """Every instance of each configured validation sample, ready to scan: ([(sample name, scan
    instance)], JSON-ready notes). Instance i moves every seed of the chain by 1000 (i + 1); the
    DOWN-UP-SAMPLING models train as Dask tasks (one per instance)."""
    v = config.validation
    if v.n_members is not None:
        config = config.model_copy(update={"classifier": config.classifier.model_copy(update={"n_members": v.n_members})})
    drawn: list[tuple[str, ScanInstance]] = []
    notes: dict[str, Any] = {}
    seeds = [1000 * (i + 1) for i in range(v.instances)]
    for name in v.samples:
        t0 = time.perf_counter()
        sim = simulation
        if name == "large_dy":
            bkg = load(config.data_dataset, "validation")
            signals = {s: load(s, "validation") for s in config.inject_xsec_pb}
            base, _ = inject_signals(fs, bkg, signals, config.inject_xsec_pb, lumi, config.seed)
            sim = load(config.simulation_dataset, "validation") if config.template == "salad" else None
        elif name == "monte_carlo":
            if v.mc_dataset not in fs.datasets:
                notes[name] = {"instances": 0, "reason": f"dataset {v.mc_dataset!r} is not in the store"}
                continue
            base = load(v.mc_dataset, "search")
        else:
            base = data
        info: list[dict[str, float]] = []
        if name == "down_up_sampling":
            pairs = run_tasks(_down_up_task, [(config.seed + s,) for s in seeds], client,
                              shared={"data": base, "config": v.down_up}, gpu=True)
            samples = [p[0] for p in pairs]
            info = [p[1] for p in pairs]
        else:
            samples = [bootstrap(base, seed=config.seed + s) for s in seeds]
        drawn += [(name, ScanInstance(sample, sim, seed, config)) for sample, seed in zip(samples, seeds)]
        notes[name] = {"instances": v.instances, "n_events": base.n_events, "draw_seconds": time.perf_counter() - t0,
                       **({"flow_matching": info} if info else {})}
    return drawn, notes


def _by_sample(drawn: list[tuple[str, ScanInstance]], scans: list[list[WindowResult]]) -> dict[str, list[list[WindowResult]]]:
    runs: dict[str, list[list[WindowResult]]] = {}
    for (name, _), windows in zip(drawn, scans):
        runs.setdefault(name, []).append(windows)
    return runs


def validation_instances(
    fs: FeatureStore, config: WeakSearchConfig, data: Sample, simulation: Sample | None,
    load: Callable[[str, str], Sample], lumi: float, client: Any | None = None, progress: bool = False,
) -> tuple[dict[str, list[list[WindowResult]]], dict[str, Any]]:
    """Run the whole chain on every instance of each configured validation sample (all windows
    of all instances at once, :func:`~adsearch.searches.weak.windows.scan_many`).

    Returns (sample -> one scan per instance, JSON-ready notes).
    """
    drawn, notes = draw_validation_instances(fs, config, data, simulation, load, lumi, client)
    scans = scan_many([inst for _, inst in drawn], client, progress=progress, description="validation instances")
    return _by_sample(drawn, scans), notes


def weak_search(
    store: str | Path | FeatureStore, config: WeakSearchConfig | None = None, out_dir: str | Path | None = None,
    *, client: Any | None = None, progress: bool = True, validation_from: WeakResult | None = None,
) -> WeakResult:
    """Run the 2025 weak search on a dijet store; with ``out_dir``, write results.json and summary.md.

    ``validation_from``: an earlier result (same regions, feature sets and template) whose
    validation instances are reused instead of drawn again, e.g. the background-only run's for an
    injected run (the instances are signal-free by construction; only DOWN-UP-SAMPLING's model
    sees the data, through a small fraction of it).

    >>> result = weak_search("store.zarr", WeakSearchConfig(template="salad"), "weak")   # doctest: +SKIP
    >>> result.max_z("efficiency 0.1")                                                 # doctest: +SKIP
    """
    config = config or WeakSearchConfig()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    fs = store if isinstance(store, FeatureStore) else open_store(store)
    lumi = config.luminosity_ipb or dataset_luminosity_ipb(fs, config.data_dataset)

    def load(name: str, region: str = config.region) -> Sample:
        return load_weak(fs, name, region, config.mjj_column)

    background = load(config.data_dataset)
    simulation = load(config.simulation_dataset) if config.template == "salad" else None
    signals = {name: load(name) for name in config.signal_datasets}
    data, n_injected = inject_signals(fs, background, signals, config.inject_xsec_pb, lumi, config.seed)
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    drawn: list[tuple[str, ScanInstance]] = []
    if validation_from is None:
        drawn, notes = draw_validation_instances(fs, config, data, simulation, load, lumi, client)
    timings["validation_draws"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # the search's windows and every validation instance's windows in one go: all templates
    # as tasks first, then all ensembles
    scans = scan_many([ScanInstance(data, simulation, 0, config)] + [inst for _, inst in drawn], client,
                      progress=progress)
    windows = scans[0]
    timings["windows"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if validation_from is not None:
        runs, notes = validation_from.validation_runs, dict(validation_from.validation.get("samples", {}))
        if [(w.signal_region_gev, w.feature_set) for w in validation_from.windows] != \
                [(w.signal_region_gev, w.feature_set) for w in windows]:
            raise ValueError("validation_from holds other windows than this search")
    else:
        runs = _by_sample(drawn, scans[1:])
    closure = apply_validation(windows, runs, max_median=config.validation.max_median_z,
                               max_spread=config.validation.max_spread_z)
    timings["validation"] = time.perf_counter() - t0
    result = WeakResult(config.template, config.region, lumi, data.n_events, n_injected, windows, timings,
                        {"samples": notes, "nonclosure": closure, "reused": validation_from is not None}, runs)
    if out_dir is not None:
        from adsearch.searches.weak.report import markdown_summary

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "results.json", {**result.to_dict(), "provenance": run_record(
            "weak-search", config.model_dump(), store=str(getattr(fs, "path", None)),
            store_run=fs.run_attrs.get("config_hash"))})
        (out / "summary.md").write_text(markdown_summary(result))
    return result
