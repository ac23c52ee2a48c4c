"""One (signal region, feature set) of the 2025 search, and the scan over all of them.

For each window: the background template (:mod:`adsearch.searches.weak.templates`), the
data-versus-template ensemble (5 folds, N members, every network a Dask task), a selection at
each working point with each member, the bin-wise median spectrum, its strategy-B fit with the
ensemble variance inside, and the merged signal-region bin's test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adsearch.models.weak import cross_validated_scores, ensemble_histograms, select_working_point, training_arrays
from adsearch.searches.common.samples import Sample
from adsearch.searches.weak.analysis import MergedSpectrum, analyse_members
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.features import feature_matrix
from adsearch.searches.weak.regions import SlidingRegion
from adsearch.searches.weak.templates import build_template, sample_folds

__all__ = ["WindowResult", "run_window", "scan"]


@dataclass
class WindowResult:
    """One (signal region, feature set): sizes, the template, and each selection's spectrum.

    ``scores``/``is_signal_region``/``injected`` (kept only when asked: SIC curves) are the data
    events of the window, in the order SR rows then sideband rows.
    """

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
    template_info: dict[str, Any] = field(default_factory=dict)
    scores: np.ndarray | None = field(default=None, repr=False)
    injected: np.ndarray | None = field(default=None, repr=False)
    is_signal_region: np.ndarray | None = field(default=None, repr=False)

    @property
    def mass_gev(self) -> float:
        return 0.5 * (self.signal_region_gev[0] + self.signal_region_gev[1])

    def spectrum(self, label: str) -> MergedSpectrum:
        return next(s for s in self.spectra if s.label == label)

    def to_dict(self) -> dict[str, Any]:
        info = {k: v for k, v in self.template_info.items() if isinstance(v, (int, float, str, list))}
        return {"signal_region_gev": list(self.signal_region_gev), "feature_set": self.feature_set,
                "template": self.template, "n_data_sr": self.n_data_sr, "n_data_sb": self.n_data_sb,
                "n_template": self.n_template, "template_n_effective": self.template_n_effective,
                "n_injected_sr": self.n_injected_sr, "n_networks": self.n_networks,
                "train_seconds": self.train_seconds, "mean_epochs": self.mean_epochs,
                "injected_selected": self.injected_selected, "template_info": info,
                "spectra": [s.to_dict() for s in self.spectra]}


def run_window(
    data: Sample, simulation: Sample | None, region: SlidingRegion, feature_set: str, config: WeakSearchConfig,
    client: Any | None = None, *, seed: int = 0, keep_scores: bool = False,
) -> WindowResult:
    """Template, ensemble, selections and tests of one signal region with one feature set.

    ``seed`` moves every seed of the chain (templates, folds, networks): validation instances.
    """
    start = time.perf_counter()
    md = data["mjj_gev"]
    xd = feature_matrix(data, feature_set)
    sr_d, sb_d = region.in_signal_region(md), region.in_sidebands(md)
    template, fold_t = build_template(data, simulation, region, feature_set, config, seed)
    rows_sr, rows_sb = np.flatnonzero(sr_d), np.flatnonzero(sb_d)
    x, y, w, trainable = training_arrays(xd[rows_sr], template.features, template.weights, x_extra=xd[rows_sb])
    k = config.classifier.k
    fold_d = sample_folds(data, k, config.seed + seed)
    fold = np.concatenate([fold_d[rows_sr], fold_t, fold_d[rows_sb]])
    classifier = config.classifier.model_copy(update={"seed": config.classifier.seed + seed})
    scores, members = cross_validated_scores(x, y, fold, weights=w, trainable=trainable, config=classifier,
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
        float(np.mean([m.epochs for m in members])), injected_selected, dict(template.info),
        s_data if keep_scores else None, injected if keep_scores else None, is_sr if keep_scores else None)


def scan(
    data: Sample, simulation: Sample | None, config: WeakSearchConfig, client: Any | None = None, *,
    seed: int = 0, progress: bool = False, description: str = "weak search windows",
) -> list[WindowResult]:
    """Every (signal region, feature set) of the config, in that order."""
    jobs: Any = [(r, f) for r in config.regions() for f in config.feature_sets]
    if progress:
        from rich.progress import track
        jobs = track(jobs, description=description, transient=True)
    return [run_window(data, simulation, r, f, config, client, seed=seed) for r, f in jobs]
