"""``weak_search``: a dijet store in; per signal region and feature set, template, classifier
ensemble, selections, strategy-B fits and merged-bin significances out.

The chain of the 2025 ATLAS search: load the search (|dy| < 1.2) or validation region of the
pseudo-data and of the simulation, inject signal if asked, and for every (signal region,
feature set): build the background template (SALAD: the simulation reweighted by a data-vs-
simulation classifier trained in the sidebands), train the data-vs-template ensemble (5 folds,
N members, every network a Dask task), select at each working point with each member, take the
bin-wise median spectrum, fit it (strategy B) and test the merged signal-region bin.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adsearch.models.ensemble import fold_of_ids
from adsearch.models.templates.salad import salad_template
from adsearch.models.weak import cross_validated_scores, ensemble_histograms, select_working_point, training_arrays
from adsearch.provenance import run_record, write_json
from adsearch.searches.common.samples import Sample, dataset_luminosity_ipb, inject_signals
from adsearch.searches.weak.analysis import MergedSpectrum, analyse_members
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.features import ID_COLUMNS, feature_matrix, load_weak
from adsearch.searches.weak.regions import SlidingRegion
from adsearch.store import FeatureStore, open_store

__all__ = ["WindowResult", "WeakResult", "run_window", "weak_search"]


@dataclass
class WindowResult:
    """One (signal region, feature set): sizes, the template, and each selection's spectrum."""

    signal_region_gev: tuple[float, float]
    feature_set: str
    template: str
    n_data_sr: int
    n_data_sb: int
    n_template: int
    template_n_effective: float
    n_injected_sr: int
    spectra: list[MergedSpectrum]
    n_networks: int
    train_seconds: float
    mean_epochs: float
    injected_selected: dict[str, float] = field(default_factory=dict)

    def spectrum(self, label: str) -> MergedSpectrum:
        return next(s for s in self.spectra if s.label == label)

    def to_dict(self) -> dict[str, Any]:
        return {"signal_region_gev": list(self.signal_region_gev), "feature_set": self.feature_set,
                "template": self.template, "n_data_sr": self.n_data_sr, "n_data_sb": self.n_data_sb,
                "n_template": self.n_template, "template_n_effective": self.template_n_effective,
                "n_injected_sr": self.n_injected_sr, "n_networks": self.n_networks,
                "train_seconds": self.train_seconds, "mean_epochs": self.mean_epochs,
                "injected_selected": self.injected_selected, "spectra": [s.to_dict() for s in self.spectra]}


@dataclass
class WeakResult:
    """What the search found; ``to_dict`` is what results.json holds."""

    template: str
    region: str
    luminosity_ipb: float
    n_data: int
    n_injected: dict[str, int]
    windows: list[WindowResult]
    timings_s: dict[str, float] = field(default_factory=dict)

    def max_z(self, label: str) -> float:
        zs = [s.z for w in self.windows for s in w.spectra if s.label == label and np.isfinite(s.z)]
        return max(zs) if zs else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"template": self.template, "region": self.region, "luminosity_ipb": self.luminosity_ipb,
                "n_data": self.n_data, "n_injected": self.n_injected, "windows": [w.to_dict() for w in self.windows],
                "timings_s": self.timings_s}


def _folds(sample: Sample, k: int, salt: int) -> np.ndarray:
    return fold_of_ids({c: sample[c] for c in ID_COLUMNS}, k, salt=salt)


def run_window(
    data: Sample, simulation: Sample, region: SlidingRegion, feature_set: str, config: WeakSearchConfig,
    client: Any | None = None,
) -> WindowResult:
    """Template, ensemble, selections and tests of one signal region with one feature set."""
    start = time.perf_counter()
    md, ms = data["mjj_gev"], simulation["mjj_gev"]
    xd, xs = feature_matrix(data, feature_set), feature_matrix(simulation, feature_set)
    sr_d, sb_d = region.in_signal_region(md), region.in_sidebands(md)
    sr_s, sb_s = region.in_signal_region(ms), region.in_sidebands(ms)
    template = salad_template(xd[sb_d], md[sb_d], xs[sb_s], ms[sb_s], xs[sr_s], ms[sr_s], config.salad)
    rows_sr, rows_sb = np.flatnonzero(sr_d), np.flatnonzero(sb_d)
    x, y, w, trainable = training_arrays(xd[rows_sr], template.features, template.weights, x_extra=xd[rows_sb])
    k = config.classifier.k
    fold_d = _folds(data, k, config.seed)
    fold = np.concatenate([fold_d[rows_sr], _folds(simulation.subset(sr_s), k, config.seed + 1), fold_d[rows_sb]])
    scores, members = cross_validated_scores(x, y, fold, weights=w, trainable=trainable, config=config.classifier,
                                             client=client)
    n_sr, n_t = rows_sr.size, len(template.weights)
    rows = np.concatenate([rows_sr, rows_sb])
    s_data = np.concatenate([scores[:n_sr], scores[n_sr + n_t:]])
    is_sr = np.concatenate([np.ones(n_sr, bool), np.zeros(rows_sb.size, bool)])
    m_win, f_win, injected = md[rows], fold_d[rows], data.injected[rows]
    edges = region.edges_gev
    everything = np.histogram(m_win, bins=edges)[0][None, :].astype(float)
    spectra = [analyse_members(everything, region, "no selection", min_sideband_bins=config.min_sideband_bins)]
    injected_selected: dict[str, float] = {}
    for wp in config.classifier.working_points:
        label = f"efficiency {wp:g}"
        # the working point keeps the fraction wp of the window's data events (SR and sidebands)
        # of each test fold, per member: the SR count then varies between members
        sel = select_working_point(s_data, f_win, np.ones(rows.size, bool), wp)
        hist = ensemble_histograms(m_win, sel, edges)
        spectra.append(analyse_members(hist.per_member, region, label, min_sideband_bins=config.min_sideband_bins))
        inj = injected & is_sr
        injected_selected[label] = float(np.median(sel[inj].mean(axis=0))) if inj.any() else 0.0
    return WindowResult(
        region.signal_region_gev, feature_set, template.method, n_sr, int(rows_sb.size), n_t,
        template.n_effective, int((injected & is_sr).sum()), spectra, len(members), time.perf_counter() - start,
        float(np.mean([m.epochs for m in members])), injected_selected)


def weak_search(
    store: str | Path | FeatureStore, config: WeakSearchConfig | None = None, out_dir: str | Path | None = None,
    *, client: Any | None = None, progress: bool = True,
) -> WeakResult:
    """Run the 2025 weak search on a dijet store; with ``out_dir``, write results.json and summary.md."""
    config = config or WeakSearchConfig()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    fs = store if isinstance(store, FeatureStore) else open_store(store)
    lumi = config.luminosity_ipb or dataset_luminosity_ipb(fs, config.data_dataset)
    load = lambda name: load_weak(fs, name, config.region, config.mjj_column)  # noqa: E731
    background, simulation = load(config.data_dataset), load(config.simulation_dataset)
    signals = {name: load(name) for name in config.signal_datasets}
    data, n_injected = inject_signals(fs, background, signals, config.inject_xsec_pb, lumi, config.seed)
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    jobs: Any = [(r, f) for r in config.regions() for f in config.feature_sets]
    if progress:
        from rich.progress import track
        jobs = track(jobs, description="weak search windows", transient=True)
    windows = [run_window(data, simulation, r, f, config, client) for r, f in jobs]
    timings["windows"] = time.perf_counter() - t0
    result = WeakResult(config.template, config.region, lumi, data.n_events, n_injected, windows, timings)
    if out_dir is not None:
        from adsearch.searches.weak.report import markdown_summary

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "results.json", {**result.to_dict(), "provenance": run_record(
            "weak-search", config.model_dump(), store=str(getattr(fs, "path", None)),
            store_run=fs.run_attrs.get("config_hash"))})
        (out / "summary.md").write_text(markdown_summary(result))
    return result
