"""One (signal region, feature set) of the 2025 search, and the scan over all of them.

For each window: the background template (:mod:`adsearch.searches.weak.templates`), the
data-versus-template ensemble (5 folds, N members, every network a Dask task), a selection at
each working point with each member, the bin-wise median spectrum, its strategy-B fit with the
ensemble variance inside, and the merged signal-region bin's test. :func:`scan_many` runs the
windows of many scans (the search and its validation instances) together: every template one
Dask task, then every ensemble at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from adsearch.cluster import run_tasks
from adsearch.models.runtime import worker_address
from adsearch.models.templates import Template
from adsearch.models.weak import cross_validated_scores, ensemble_histograms, select_working_point, training_arrays
from adsearch.searches.common.samples import Sample
from adsearch.searches.weak.analysis import MergedSpectrum, analyse_members
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.features import feature_matrix
from adsearch.searches.weak.regions import SlidingRegion
from adsearch.searches.weak.templates import build_template, sample_folds

__all__ = ["ScanInstance", "WindowResult", "classify_window", "run_window", "scan", "scan_many"]


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


def classify_window(
    data: Sample, template: Template, fold_template: np.ndarray, region: SlidingRegion, feature_set: str,
    config: WeakSearchConfig, client: Any | None = None, *, seed: int = 0, keep_scores: bool = False,
    template_seconds: float = 0.0,
) -> WindowResult:
    """The data-versus-template ensemble of one window (every network a Dask task), its
    selections and tests. ``template_seconds`` is added to the window's training time."""
    start = time.perf_counter()
    md = data["mjj_gev"]
    xd = feature_matrix(data, feature_set)
    sr_d, sb_d = region.in_signal_region(md), region.in_sidebands(md)
    rows_sr, rows_sb = np.flatnonzero(sr_d), np.flatnonzero(sb_d)
    x, y, w, trainable = training_arrays(xd[rows_sr], template.features, template.weights, x_extra=xd[rows_sb])
    k = config.classifier.k
    fold_d = sample_folds(data, k, config.seed + seed)
    fold = np.concatenate([fold_d[rows_sr], fold_template, fold_d[rows_sb]])
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
        template.n_effective, int((injected & is_sr).sum()), spectra, len(members),
        template_seconds + time.perf_counter() - start, float(np.mean([m.epochs for m in members])),
        injected_selected, {**template.info, "template_seconds": template_seconds},
        s_data if keep_scores else None, injected if keep_scores else None, is_sr if keep_scores else None)


def run_window(
    data: Sample, simulation: Sample | None, region: SlidingRegion, feature_set: str, config: WeakSearchConfig,
    client: Any | None = None, *, seed: int = 0, keep_scores: bool = False,
) -> WindowResult:
    """Template, ensemble, selections and tests of one signal region with one feature set.

    ``seed`` moves every seed of the chain (templates, folds, networks): validation instances.
    """
    start = time.perf_counter()
    template, fold_t = build_template(data, simulation, region, feature_set, config, seed)
    return classify_window(data, template, fold_t, region, feature_set, config, client, seed=seed,
                           keep_scores=keep_scores, template_seconds=time.perf_counter() - start)


#: windows whose templates are built (as tasks) and held on the client together
TEMPLATE_BATCH = 256


class ScanInstance(NamedTuple):
    """One full scan to run: its data, the SALAD simulation (or None), the seed offset of the chain
    (validation instances move it) and the config (validation instances may use fewer members)."""

    data: Sample
    simulation: Sample | None
    seed: int
    config: WeakSearchConfig


def _template_task(
    region: SlidingRegion, feature_set: str, seed: int, config: WeakSearchConfig, data: Sample,
    simulation: Sample | None,
) -> tuple[Template, np.ndarray, float]:
    """One window's template as a Dask task: (template, folds of its rows, seconds)."""
    start = time.perf_counter()
    template, fold = build_template(data, simulation, region, feature_set, config, seed)
    template.info["worker"] = worker_address()
    return template, fold, time.perf_counter() - start


def _scattered(client: Any, value: Any) -> Any:
    """``value`` on the cluster once (a future the tasks that need it depend on); None stays None."""
    return None if value is None else client.scatter(value, hash=False)


def scan_many(
    instances: Sequence[ScanInstance], client: Any | None = None, *, progress: bool = False,
    description: str = "weak search windows",
) -> list[list[WindowResult]]:
    """Every window (signal region x feature set) of each instance's config, all instances at once.

    Why: on a cluster the templates, not the networks, bound a scan run one window after another
    (a SALAD classifier or CURTAINS flow per window, ~15 s each). Here every window's template is
    one Dask task (:func:`adsearch.cluster.run_tasks`; each sample sent to the cluster once), and
    then every window's classifier ensemble is submitted at the same time (one client thread per
    window, each handing its networks to :mod:`adsearch.models.ensemble`), so the templates spread
    over the workers and the networks of all windows fill them. Without a client each window's
    template is built and used in turn (one in memory at a time), with the same seeds: the same
    results.
    """
    windows = [[(r, f) for r in inst.config.regions() for f in inst.config.feature_sets] for inst in instances]
    pairs = [(inst, r, f) for inst, win in zip(instances, windows) for r, f in win]

    def classify(inst: ScanInstance, built: tuple[Template, np.ndarray, float], region: SlidingRegion,
                 feature_set: str) -> WindowResult:
        template, fold, seconds = built
        return classify_window(inst.data, template, fold, region, feature_set, inst.config, client, seed=inst.seed,
                               template_seconds=seconds)

    if client is None:  # window by window: one template in memory at a time
        results = iter([classify(inst, _template_task(r, f, inst.seed, inst.config, inst.data, inst.simulation), r, f)
                        for inst, r, f in _tracked(pairs, progress, description)])
    else:
        sent: dict[int, Any] = {}  # one copy of each sample on the cluster (the simulation serves many instances)
        for inst in instances:
            for sample in (inst.data, inst.simulation):
                if id(sample) not in sent:
                    sent[id(sample)] = _scattered(client, sample)
        done: list[WindowResult] = []
        # batches of windows bound the templates held here at once (a full scan's 1,302 would be GBs)
        for start in range(0, len(pairs), TEMPLATE_BATCH):
            batch = pairs[start:start + TEMPLATE_BATCH]
            calls = [(r, f, inst.seed, inst.config, sent[id(inst.data)], sent[id(inst.simulation)])
                     for inst, r, f in batch]
            built = run_tasks(_template_task, calls, client, gpu=True)
            with ThreadPoolExecutor(max_workers=max(1, min(len(batch), 64))) as pool:
                futures = [pool.submit(classify, inst, b, r, f) for (inst, r, f), b in zip(batch, built)]
                done += [f.result() for f in _tracked(futures, progress, description, total=len(futures))]
        results = iter(done)
    return [[next(results) for _ in win] for win in windows]


def _tracked(items: Iterable[Any], progress: bool, description: str, total: int | None = None) -> Iterable[Any]:
    if not progress:
        return items
    from rich.progress import track

    return track(items, description=description, transient=True, total=total)


def scan(
    data: Sample, simulation: Sample | None, config: WeakSearchConfig, client: Any | None = None, *,
    seed: int = 0, progress: bool = False, description: str = "weak search windows",
) -> list[WindowResult]:
    """Every (signal region, feature set) of the config, in that order."""
    return scan_many([ScanInstance(data, simulation, seed, config)], client, progress=progress,
                     description=description)[0]
