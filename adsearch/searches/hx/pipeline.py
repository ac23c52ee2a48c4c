"""The Y -> X H search as one composition: store -> VRNN scores -> regions -> grid fits -> hunt -> stats.

1. Read the data (and signal datasets) from an hx store; inject signals at ``inject_xsec_pb``.
2. Score every X jet with a k-fold VRNN ensemble trained *unsupervised on the data* (Dask tasks):
   by default on both leading jets of every preselected data event (before the H-candidate
   requirement; ``training_jets``), each in its event's fold, so an X jet is never scored by a
   network that trained on it; signal-dataset jets are scored by the networks of their fold,
   never trained on. Injections draw preselected signal events (the training jets see them too);
   the search's events are those passing the H-candidate step.
3. Three regions on the same events: ``anomaly`` (J_X > 0.5), ``tau21`` (the two-prong
   comparison, tau21(X) < 0.35), ``inclusive`` (no X selection).
4. Per region: the background in (m_X, m_Y) from per-m_X-bin m_Y fits, the grid bump hunt with
   the whole grid's look-elsewhere effect (:mod:`.grid`), and per signal the expected
   significance at ``reference_xsec_pb`` and CLs limits (pyhf likelihood, fit uncertainty as
   nuisances; observed on the region's data, injected signal included).

>>> result = hx_search("hx.zarr", HxSearchConfig(signal_datasets=["yxh_2000_100"]))   # doctest: +SKIP
>>> result.regions["anomaly"].hunt.global_z                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adsearch.config import load_config
from adsearch.errors import AdsearchError
from adsearch.models.ensemble import EnsembleLayout
from adsearch.models.vrnn import EnsembleScores, vrnn_ensemble_scores
from adsearch.searches.common.samples import (
    Sample,
    dataset_luminosity_ipb,
    dataset_n_generated,
    inject_signals,
    load_sample,
)
from adsearch.searches.hx.config import HxSearchConfig
from adsearch.searches.hx.grid import (
    GridBackground,
    GridHunt,
    SignalSensitivity,
    fit_grid,
    hunt_grid,
    sensitivity,
)
from adsearch.searches.hx.limits import injection_scan, limit_summary
from adsearch.store import FeatureStore, open_store

__all__ = ["HxRegionResult", "HxResult", "TrainingJets", "hx_search", "load_hx_sample", "candidates", "training_jets",
           "score_samples", "analyse_regions", "REGIONS"]

REGIONS = ("anomaly", "tau21", "inclusive")
_COLUMNS = ["mx_gev", "my_gev", "tau21_x", "x_constituents", "run", "luminosityBlock", "event"]
_IDS = ("run", "luminosityBlock", "event")
#: the processor's training-jet columns (``HxConfig.training_jets``)
_TRAINING_COLUMNS = ["h_candidate", "j1_constituents", "j2_constituents"]
#: score quantiles recorded per sample (how a threshold other than 0.5 would select)
_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


@dataclass
class HxRegionResult:
    """One region: its events, grid background, bump hunt and the signals' sensitivities."""

    name: str
    n_events: int
    grid: GridBackground
    hunt: GridHunt
    sensitivities: list[SignalSensitivity] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "n_events": self.n_events, "hunt": self.hunt.to_dict(), "grid": self.grid.to_dict(),
                "sensitivities": [s.to_dict() for s in self.sensitivities]}


@dataclass
class HxResult:
    """Everything :func:`hx_search` found; ``to_dict`` is what ``results.json`` holds."""

    config: HxSearchConfig
    luminosity_ipb: float
    n_data: int
    n_injected: dict[str, int]
    regions: dict[str, HxRegionResult]
    score_fractions: dict[str, float]
    vrnn: dict[str, Any]
    seconds: dict[str, float]
    figures: list[str] = field(default_factory=list)
    #: fraction of the (not injected) data X jets with J_X above the threshold: the cut's background efficiency
    qcd_efficiency_at_cut: float = float("nan")
    #: injected preselected signal events (``n_injected`` counts those passing the H-candidate step)
    n_injected_preselected: dict[str, int] = field(default_factory=dict)
    #: injection-scan points and per-region limits (``config.limits``), see :mod:`.limits`
    limit_points: list[dict[str, Any]] = field(default_factory=list)
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.model_dump(mode="json"), "luminosity_ipb": self.luminosity_ipb,
                "n_data": self.n_data, "n_injected": self.n_injected,
                "n_injected_preselected": self.n_injected_preselected,
                "regions": {k: v.to_dict() for k, v in self.regions.items()},
                "score_fractions": self.score_fractions, "qcd_efficiency_at_cut": self.qcd_efficiency_at_cut,
                "vrnn": self.vrnn, "seconds": self.seconds, "limits": self.limits,
                "limit_points": self.limit_points, "figures": self.figures}

    def sensitivity(self, signal: str, region: str) -> SignalSensitivity:
        for s in self.regions[region].sensitivities:
            if s.signal == signal:
                return s
        raise KeyError(f"no sensitivity of {signal!r} in region {region!r}")


def _ids(sample: Sample) -> dict[str, np.ndarray]:
    return {k: np.asarray(sample[k]).astype(np.uint64) for k in _IDS}


def region_masks(score: np.ndarray, tau21: np.ndarray, cfg: HxSearchConfig) -> dict[str, np.ndarray]:
    return {"anomaly": score > cfg.anomaly_score_min, "tau21": tau21 < cfg.tau21_max,
            "inclusive": np.ones(len(score), bool)}


@dataclass
class TrainingJets:
    """The VRNN's training jets: padded constituents and the id columns of their events (their fold)."""

    constituents: np.ndarray
    ids: dict[str, np.ndarray]
    n_available: int


def load_hx_sample(fs: FeatureStore, name: str, cfg: HxSearchConfig) -> Sample:
    """Every stored row of ``name``: with ``training_jets: preselected`` every preselected event
    (flag ``h_candidate``) with both leading jets' constituents; a clear error for a store without them."""
    have = set(fs.columns(name))
    columns = list(_COLUMNS) + (["h_candidate"] if "h_candidate" in have else [])  # x mode too: rows to drop
    if cfg.training_jets == "preselected":
        missing = [c for c in _TRAINING_COLUMNS if c not in have]
        if missing:
            raise AdsearchError(f"{fs.path}: dataset {name!r} has no training-jet columns {missing}; process it with "
                                "the hx option training_jets: true, or set training_jets: x in the search config")
        columns += [c for c in _TRAINING_COLUMNS if c not in columns]
    return load_sample(fs, name, columns)


def candidates(sample: Sample) -> Sample:
    """The rows passing the H-candidate step (every row of a store without training jets)."""
    if "h_candidate" not in sample.columns:
        return sample
    keep = np.asarray(sample["h_candidate"], bool)
    return Sample(sample.name, {k: v[keep] for k, v in sample.columns.items() if k not in _TRAINING_COLUMNS},
                  sample.injected[keep])


def training_jets(data: Sample, cfg: HxSearchConfig) -> TrainingJets | None:
    """Both leading jets of every preselected row of ``data`` (injected rows included: data is data),
    a seeded subset of ``max_training_jets``; None with ``training_jets: x`` (train on the X jets)."""
    if cfg.training_jets == "x":
        return None
    constituents = np.concatenate([data["j1_constituents"], data["j2_constituents"]])
    ids = {k: np.tile(v, 2) for k, v in _ids(data).items()}
    n = len(constituents)
    if cfg.max_training_jets is not None and n > cfg.max_training_jets:
        pick = np.sort(np.random.default_rng([cfg.seed, 101]).choice(n, cfg.max_training_jets, replace=False))
        constituents, ids = constituents[pick], {k: v[pick] for k, v in ids.items()}
    return TrainingJets(constituents, ids, n)


def injected_candidates(data: Sample, n_injected: dict[str, int]) -> dict[str, int]:
    """Per injected signal, how many of its injected (preselected) events pass the H-candidate step:
    :func:`inject_signals` appends each signal's rows in name order at the end of the data."""
    flag = np.asarray(data["h_candidate"], bool) if "h_candidate" in data.columns else np.ones(data.n_events, bool)
    out, stop = {}, data.n_events
    for name in sorted(n_injected, reverse=True):
        out[name] = int(flag[stop - n_injected[name]:stop].sum())
        stop -= n_injected[name]
    return {name: out[name] for name in n_injected}


def ensemble_inputs(data: Sample, signals: dict[str, Sample], training: TrainingJets | None
                    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Rows of the ensemble: the X jets of ``data`` and the signals first (in that order), then the
    training jets; (constituents, event ids, trainable). Only data jets are trainable: the
    training jets when given (the X jets then only scored), else the data's X jets."""
    parts = [data, *signals.values()]
    constituents = [p["x_constituents"] for p in parts]
    ids = [_ids(p) for p in parts]
    if training is None:
        trainable = [np.ones(data.n_events, bool)] + [np.zeros(p.n_events, bool) for p in signals.values()]
    else:
        trainable = [np.zeros(p.n_events, bool) for p in parts] + [np.ones(len(training.constituents), bool)]
        constituents.append(training.constituents)
        ids.append(training.ids)
    return (np.concatenate(constituents), {k: np.concatenate([i[k] for i in ids]) for k in _IDS},
            np.concatenate(trainable))


def score_samples(data: Sample, signals: dict[str, Sample], cfg: HxSearchConfig,
                  client: Any = None, training: TrainingJets | None = None) -> tuple[dict[str, np.ndarray], EnsembleScores]:
    """VRNN scores of every X jet: the ensemble trains on the data only (unsupervised): on
    ``training`` (jets folded by their event's id) when given, else on the X jets of ``data``;
    the signal datasets' jets are scored by the networks of their fold."""
    parts = [data, *signals.values()]
    constituents, ids, trainable = ensemble_inputs(data, signals, training)
    layout = EnsembleLayout(k=cfg.ensemble_folds, n_members=1, validation_choices=1)
    ensemble = vrnn_ensemble_scores(constituents, ids, cfg.vrnn, layout=layout, seed=cfg.seed, client=client,
                                    trainable=trainable)
    bounds = np.cumsum([0] + [p.n_events for p in parts])
    return {p.name: ensemble.scores[a:b] for p, a, b in zip(parts, bounds[:-1], bounds[1:])}, ensemble


def analyse_regions(fs: FeatureStore, data: Sample, signals: dict[str, Sample], scores: dict[str, np.ndarray],
                    cfg: HxSearchConfig, lumi: float, regions: tuple[str, ...] = REGIONS,
                    hunt: bool = True) -> dict[str, HxRegionResult]:
    """Per region: the grid background fit, the grid bump hunt (``hunt``) and every signal's
    expected Z and CLs limits at ``reference_xsec_pb``."""
    out: dict[str, HxRegionResult] = {}
    data_masks = region_masks(scores[data.name], data["tau21_x"], cfg)
    for region in regions:
        sel = data_masks[region]
        grid = fit_grid(data["mx_gev"][sel], data["my_gev"][sel], np.asarray(cfg.mx_edges_gev),
                        np.asarray(cfg.my_edges_gev), cfg.fit_function)
        found = hunt_grid(grid, cfg.max_window_bins, cfg.n_pseudo if hunt else 100, cfg.seed)
        result = HxRegionResult(region, int(sel.sum()), grid, found)
        for name, sig in signals.items():
            in_region = region_masks(scores[name], sig["tau21_x"], cfg)[region]
            n_gen = dataset_n_generated(fs, name)
            weight = cfg.reference_xsec_pb * lumi / n_gen
            template, _, _ = np.histogram2d(sig["mx_gev"][in_region], sig["my_gev"][in_region],
                                            bins=(grid.mx_edges_gev, grid.my_edges_gev))
            result.sensitivities.append(sensitivity(grid, template * weight, cfg.reference_xsec_pb, name, region,
                                                    float(in_region.sum()) / n_gen))
        out[region] = result
    return out


def hx_search(store: str | Path | FeatureStore, config: HxSearchConfig | dict[str, Any] | str | Path | None = None,
              out_dir: str | Path | None = None, *, client: Any = None) -> HxResult:
    """Run the search on an hx store; with ``out_dir`` write results.json, summary.md, plots/.

    >>> result = hx_search("hx.zarr", {"signal_datasets": ["yxh_2000_100"]}, "hx-out")   # doctest: +SKIP
    >>> result.regions["inclusive"].hunt.global_z                                         # doctest: +SKIP
    """
    cfg = config if isinstance(config, HxSearchConfig) else load_config(HxSearchConfig, config)
    fs = store if isinstance(store, FeatureStore) else open_store(store)
    for name in [cfg.data_dataset, *cfg.signal_datasets]:
        if name not in fs.datasets:
            raise AdsearchError(f"{fs.path}: no dataset {name!r} (datasets: {fs.datasets})")
    times: dict[str, float] = {}
    tick = time.perf_counter()
    lumi = cfg.luminosity_ipb or dataset_luminosity_ipb(fs, cfg.data_dataset)
    data_all = load_hx_sample(fs, cfg.data_dataset, cfg)
    signals_all = {name: load_hx_sample(fs, name, cfg) for name in cfg.signal_datasets}
    background_all = data_all
    data_all, n_injected_pre = inject_signals(fs, data_all, signals_all, cfg.inject_xsec_pb, lumi, cfg.seed)
    data, signals = candidates(data_all), {name: candidates(s) for name, s in signals_all.items()}
    training = training_jets(data_all, cfg)
    n_injected = injected_candidates(data_all, n_injected_pre)
    if data.n_events < 4 * cfg.ensemble_folds:
        raise AdsearchError(f"{fs.path}: only {data.n_events} data events in {cfg.data_dataset!r}; too few to train")
    times["read"] = time.perf_counter() - tick

    tick = time.perf_counter()
    scores, ensemble = score_samples(data, signals, cfg, client, training)
    times["vrnn"] = time.perf_counter() - tick
    vrnn_info = {**ensemble.to_dict(), "n_training_jets": len(training.constituents) if training else int(data.n_events),
                 "n_training_jets_available": training.n_available if training else int(data.n_events),
                 "training_jet_epochs_per_s": [n * e / s if s > 0 else float("nan") for n, e, s in
                                               zip(ensemble.n_train, ensemble.epochs, ensemble.seconds)]}

    tick = time.perf_counter()
    regions = analyse_regions(fs, data, signals, scores, cfg, lumi)
    times["statistics"] = time.perf_counter() - tick
    fractions = {name: float(np.mean(s > cfg.anomaly_score_min)) if len(s) else 0.0 for name, s in scores.items()}
    quantiles = {name: np.quantile(s, _QUANTILES).round(4).tolist() for name, s in scores.items() if len(s)}
    injected = data.injected
    if injected.any():
        fractions[f"{data.name} (injected rows)"] = float(np.mean(scores[data.name][injected] > cfg.anomaly_score_min))
        fractions[f"{data.name} (not injected)"] = float(np.mean(scores[data.name][~injected] > cfg.anomaly_score_min))
    not_injected = scores[data.name][~injected] if injected.size else scores[data.name]
    result = HxResult(cfg, float(lumi), data.n_events, n_injected, regions, fractions,
                      {**vrnn_info, "score_quantiles": {"q": list(_QUANTILES), **quantiles}}, times,
                      qcd_efficiency_at_cut=float(np.mean(not_injected > cfg.anomaly_score_min)),
                      n_injected_preselected=n_injected_pre)
    if cfg.limits is not None:
        tick = time.perf_counter()
        result.limit_points = injection_scan(fs, background_all, signals_all, cfg, lumi, client)
        result.limits = limit_summary(result.limit_points)
        times["limits"] = time.perf_counter() - tick
    if out_dir is not None:
        _write_outputs(result, Path(out_dir), {**scores, data.name: scores[data.name][~injected]})
    return result


def _write_outputs(result: HxResult, out: Path, scores: dict[str, np.ndarray]) -> None:
    from adsearch.searches.hx.plots import (
        plot_best_row,
        plot_scores,
        plot_significance_map,
    )

    out.mkdir(parents=True, exist_ok=True)
    plots = out / "plots"
    lumi = result.luminosity_ipb
    figures = plot_scores(scores, result.config.anomaly_score_min, plots / "scores", lumi)
    for name, region in result.regions.items():
        figures += plot_significance_map(region.grid, region.hunt, name, plots / f"significance_{name}", lumi)
        figures += plot_best_row(region.grid, region.hunt, plots / f"best_row_{name}", lumi)
    result.figures = [str(p) for p in figures]
    (out / "results.json").write_text(json.dumps(result.to_dict(), indent=1))
    (out / "summary.md").write_text(summary(result))


def summary(result: HxResult) -> str:
    """A short Markdown table: per region the best grid window and the signals' sensitivities."""
    lines = [f"# Y -> X H search: {result.n_data} events, {result.luminosity_ipb / 1000:.3g} fb^-1, "
             f"injected {result.n_injected or 'nothing'}", "",
             "| region | events | best m_X [GeV] | best m_Y [GeV] | n obs | n bkg | local Z | local Z (pyhf) | global Z |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result.regions.values():
        h = r.hunt
        lines.append(f"| {r.name} | {r.n_events} | {h.mx_lo_gev:g}-{h.mx_hi_gev:g} | {h.my_lo_gev:g}-{h.my_hi_gev:g} "
                     f"| {h.n_observed:.0f} | {h.n_background:.1f} | {h.local_z:.2f} | {h.local_z_pyhf:.2f} | {h.global_z:.2f} |")
    lines += ["", f"| signal | region | efficiency | events at {result.config.reference_xsec_pb:g} pb | expected Z "
              "| CLs limit obs / exp [pb] |", "|---|---|---|---|---|---|"]
    for r in result.regions.values():
        for s in r.sensitivities:
            lines.append(f"| {s.signal} | {s.region} | {s.efficiency:.3g} | {s.expected_events:.1f} | {s.z_expected:.2f} "
                         f"| {s.limit_observed_pb:.3g} / {s.limit_expected_pb:.3g} |")
    lines += ["", f"J_X > {result.config.anomaly_score_min:g} fractions: "
              + ", ".join(f"{k} {v:.1%}" for k, v in result.score_fractions.items())
              + f"; background (not injected) efficiency at the cut {result.qcd_efficiency_at_cut:.1%}"]
    if result.limits:
        scan = result.config.limits
        lines += ["", f"Limits by injection of {scan.signal} at {', '.join(f'{x:g}' for x in scan.xsec_pb)} pb "
                  "(chain retrained per point):", "", "| region | observed [pb] | expected [pb] | -2 / -1 / +1 / +2 sigma [pb] |",
                  "|---|---|---|---|"]
        for name, lim in result.limits.items():
            band = " / ".join(f"{v:.3g}" for v in lim["band_pb"])
            lines.append(f"| {name} | {lim['observed_pb']:.3g} | {lim['expected_pb']:.3g} | {band} |")
    return "\n".join(lines) + "\n"
