"""``cwola_hunt``: a dijet store in; per-region selections, fits, significances, limits and plots out.

The chain of the 2020 ATLAS search: load the search (|dy| < 1.2) or validation region, inject
signal if asked, map (m1, m2) to their mJJ region's ECDF, assign folds from the event ids, and
for every searched region train the k-fold ensemble (each network a Dask task), select at
efficiencies 0.1 and 0.01, fit the selected 1.8-8.2 TeV spectrum with the 2020 strategy and test
the fit signal region by profile likelihood. Signal simulation rows ride along as scored-only
rows, so the same networks give each signal's selection efficiency (used by the limits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adsearch.errors import ConfigError
from adsearch.models.ensemble import fold_of_ids
from adsearch.provenance import run_record, write_json
from adsearch.searches.common.regions import MjjGrid
from adsearch.searches.common.samples import (
    Sample, dataset_luminosity_ipb, inject_signals,
)
from adsearch.searches.cwola.config import CWoLaSearchConfig
from adsearch.searches.cwola.features import ID_COLUMNS, ecdf_features, load_dijet
from adsearch.searches.cwola.hunt import RegionInputs, RegionResult, hunt_region
from adsearch.store import FeatureStore, open_store

__all__ = ["CWoLaResult", "cwola_hunt", "cwola_limits", "prepare_inputs", "run_regions"]


@dataclass
class CWoLaResult:
    """What the hunt found; ``to_dict`` is what results.json holds."""

    region: str
    luminosity_ipb: float
    n_data: int
    n_injected: dict[str, int]
    regions: list[RegionResult]
    limits: list[dict[str, Any]] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    def max_z(self, label: str) -> float:
        zs = [s.z for r in self.regions for s in r.spectra if s.label == label and np.isfinite(s.z)]
        return max(zs) if zs else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "luminosity_ipb": self.luminosity_ipb, "n_data": self.n_data,
                "n_injected": self.n_injected, "regions": [r.to_dict() for r in self.regions],
                "limits": self.limits, "timings_s": self.timings_s}


def _fit_edges(config: CWoLaSearchConfig) -> np.ndarray:
    n = int(round((config.fit_hi_gev - config.fit_lo_gev) / config.fit_bin_gev))
    return np.linspace(config.fit_lo_gev, config.fit_lo_gev + n * config.fit_bin_gev, n + 1)


def _ecdf_edges(config: CWoLaSearchConfig) -> np.ndarray:
    """ECDF bins: the grid's regions, the first and last widened to the fit range, so every fitted
    event has features and events just outside the grid share their neighbouring region's map
    (a separate 1.8-1.9 TeV slice would be mapped differently from the geometric regions)."""
    e = np.asarray(config.mjj_edges_gev, dtype=float).copy()
    e[0], e[-1] = min(e[0], config.fit_lo_gev), max(e[-1], config.fit_hi_gev)
    return e


def prepare_inputs(data: Sample, signals: dict[str, Sample], config: CWoLaSearchConfig) -> RegionInputs:
    """Features (ECDF of the data's regions, applied to signal rows too), folds and flags."""
    edges = _ecdf_edges(config)
    feats = ecdf_features(data, edges)
    parts = [data, *signals.values()]
    if signals:
        # signal rows are mapped with the data's ECDF: rank each among the data's pooled masses
        from adsearch.processors.ecdf import ecdf_transform
        region = np.searchsorted(edges, data["mjj_gev"], side="right") - 1
        sig_feats = []
        for sig in signals.values():
            r_sig = np.searchsorted(edges, sig["mjj_gev"], side="right") - 1
            out = np.full((sig.n_events, 2), np.nan, np.float32)
            for r in np.unique(r_sig[(r_sig >= 0) & (r_sig < edges.size - 1)]):
                pool = np.concatenate([data["mj1_gev"][region == r], data["mj2_gev"][region == r]])
                rows = r_sig == r
                if pool.size:
                    out[rows, 0] = ecdf_transform(sig["mj1_gev"][rows], pool)
                    out[rows, 1] = ecdf_transform(sig["mj2_gev"][rows], pool)
            sig_feats.append(out)
        feats = np.concatenate([feats, *sig_feats])
    cat = lambda c: np.concatenate([p[c] for p in parts])  # noqa: E731
    ids = {c: cat(c) for c in ID_COLUMNS}
    source = np.concatenate([np.full(data.n_events, -1, np.int16),
                             *[np.full(s.n_events, i, np.int16) for i, s in enumerate(signals.values())]])
    is_data = source < 0
    injected = np.concatenate([data.injected, *[np.zeros(s.n_events, bool) for s in signals.values()]])
    return RegionInputs(feats, cat("mjj_gev").astype(np.float64), cat("mj1_gev").astype(np.float64),
                        cat("mj2_gev").astype(np.float64), fold_of_ids(ids, config.classifier.k, salt=config.seed),
                        is_data, injected, _fit_edges(config), source, list(signals))


def run_regions(
    data: Sample, signals: dict[str, Sample], config: CWoLaSearchConfig, regions: list[int], client: Any | None,
    *, progress: bool = False, description: str = "CWoLa regions",
) -> list[RegionResult]:
    """The per-region chain for ``regions`` on one (possibly injected) data sample."""
    grid = MjjGrid(tuple(config.mjj_edges_gev), tuple(config.searched_regions))
    inputs = prepare_inputs(data, signals, config)
    iterator: Any = regions
    if progress:
        from rich.progress import track
        iterator = track(regions, description=description, transient=True)
    return [hunt_region(inputs, grid, index, config.efficiencies, config.classifier, client) for index in iterator]


def cwola_hunt(
    store: str | Path | FeatureStore, config: CWoLaSearchConfig | None = None, out_dir: str | Path | None = None,
    *, client: Any | None = None, progress: bool = True,
) -> CWoLaResult:
    """Run CWoLa hunting on a dijet store; with ``out_dir``, write results.json, summary.md, plots/.

    >>> result = cwola_hunt("store.zarr", CWoLaSearchConfig(searched_regions=[2]), "hunt")   # doctest: +SKIP
    >>> result.max_z("efficiency 0.1")                                                     # doctest: +SKIP
    """
    from adsearch.searches.cwola import limits as cwola_limits

    config = config or CWoLaSearchConfig()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    fs = store if isinstance(store, FeatureStore) else open_store(store)
    lumi = config.luminosity_ipb or dataset_luminosity_ipb(fs, config.data_dataset)
    background = load_dijet(fs, config.data_dataset, config.region)
    signals = {name: load_dijet(fs, name, config.region) for name in config.signal_datasets}
    data, n_injected = inject_signals(fs, background, signals, config.inject_xsec_pb, lumi, config.seed)
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    regions = run_regions(data, signals, config, list(config.searched_regions), client, progress=progress)
    timings["regions"] = time.perf_counter() - t0
    result = CWoLaResult(config.region, lumi, data.n_events, n_injected, regions, timings_s=timings)
    if config.limits is not None:
        t0 = time.perf_counter()
        result.limits = cwola_limits.injection_scan(fs, background, signals, config, lumi, client, progress=progress)
        timings["limits"] = time.perf_counter() - t0
    if out_dir is not None:
        from adsearch.searches.cwola import plots, report

        out = Path(out_dir)
        (out / "plots").mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        plots.save_all(result, out / "plots", lumi)
        timings["plots"] = time.perf_counter() - t0
        store_path = getattr(fs, "path", None)
        write_json(out / "results.json", {**result.to_dict(), "provenance": run_record(
            "cwola-hunt", config.model_dump(), store=str(store_path), store_run=fs.run_attrs.get("config_hash"))})
        (out / "summary.md").write_text(report.markdown_summary(result))
    return result


def cwola_limits(
    store: str | Path | FeatureStore, config: CWoLaSearchConfig, out_dir: str | Path | None = None,
    *, client: Any | None = None, progress: bool = True,
) -> list[dict[str, Any]]:
    """Only the injection scan of ``config.limits`` (the part of a hunt one reruns alone)."""
    from adsearch.searches.cwola import limits as cwola_limits_module

    if config.limits is None:
        raise ConfigError("the config has no 'limits' section (signal, xsec_pb, n_samplings)")
    fs = store if isinstance(store, FeatureStore) else open_store(store)
    lumi = config.luminosity_ipb or dataset_luminosity_ipb(fs, config.data_dataset)
    background = load_dijet(fs, config.data_dataset, config.region)
    signals = {name: load_dijet(fs, name, config.region) for name in config.signal_datasets}
    limits = cwola_limits_module.injection_scan(fs, background, signals, config, lumi, client, progress=progress)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        write_json(Path(out_dir) / "limits.json", {"limits": limits, "provenance": run_record(
            "cwola-limits", config.model_dump(), store=str(getattr(fs, "path", None)))})
    return limits
