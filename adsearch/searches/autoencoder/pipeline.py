"""``run_ae_search``: scored store in, regions, spectra, significances, limits, Delta-Z and plots out.

The 27 (region x spectrum) analyses are independent statistics tasks; with a Dask client they
run on its workers (the statistics workers of the design card), otherwise in-process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from adsearch.searches.autoencoder.config import MASS_SPECTRA, AESearchConfig
from adsearch.searches.autoencoder.data import SampleColumns, inject_signal, load_columns
from adsearch.searches.autoencoder.regions import AnomalyRegion, anomaly_regions
from adsearch.searches.common.samples import (
    dataset_luminosity_ipb, dataset_normalisation, signal_weight,
)
from adsearch.searches.common.sensitivity import BenchmarkSensitivity, benchmark_sensitivity, best_spectrum
from adsearch.searches.autoencoder.spectra import SpectrumResult, analyse_spectrum
from adsearch.stats.systematics import SignalUncertainties
from adsearch.cluster import run_tasks
from adsearch.provenance import run_record, write_json
from adsearch.store import open_store

__all__ = ["SearchSummary", "run_ae_search"]


@dataclass
class SearchSummary:
    """What the search found; ``to_dict`` is what results.json holds."""

    luminosity_ipb: float
    n_data: int
    n_injected: dict[str, int]
    regions: list[AnomalyRegion]
    spectra: list[SpectrumResult]
    sensitivity: list[BenchmarkSensitivity]
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def max_global_z(self) -> float:
        zs = [s.global_z for s in self.spectra if s.global_z is not None]
        return max(zs) if zs else 0.0

    def most_significant(self) -> SpectrumResult | None:
        done = [s for s in self.spectra if s.global_z is not None]
        return max(done, key=lambda s: (s.global_z, -s.bumphunt.local_p)) if done else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "luminosity_ipb": self.luminosity_ipb,
            "n_data": self.n_data,
            "n_injected": self.n_injected,
            "max_global_z": self.max_global_z,
            "regions": [r.to_dict() for r in self.regions],
            "spectra": [s.to_dict() for s in self.spectra],
            "sensitivity": [s.to_dict() for s in self.sensitivity],
            "timings_s": self.timings_s,
        }


def _analyse_all(
    data: SampleColumns, regions: list[AnomalyRegion], config: AESearchConfig, client: Any | None,
    background_only: SampleColumns, lumi: float,
) -> list[SpectrumResult]:
    retrain_regions = []
    if config.retraining_spread and data.retrain_scores is not None:
        retrain_regions = [anomaly_regions(data.retrain_scores[:, k], lumi, config.region_xsec_pb, config.region_thresholds)
                           for k in range(data.retrain_scores.shape[1])]
    uncertainties = SignalUncertainties(**config.signal_uncertainties.model_dump())
    jobs = []
    for r_index, region in enumerate(regions):
        selected = region.select(data.scores)
        for s_index, spectrum in enumerate(config.spectra):
            with_limits = r_index in config.limit_regions and spectrum in config.limit_spectra
            systematics: dict[str, Any] = {}
            if with_limits and config.limit_widths:
                systematics = dict(
                    signal_uncertainties=uncertainties, breakdown_every=config.systematics_breakdown_every,
                    retrain_masses=[data.masses[spectrum][rr[r_index].select(data.retrain_scores[:, k])]
                                    for k, rr in enumerate(retrain_regions)],
                )
                if config.spurious_signal:
                    systematics["background_only_masses"] = background_only.masses[spectrum][
                        region.select(background_only.scores)]
            kwargs = dict(
                region=region.label, spectrum=spectrum, lo_gev=config.mass_lo_gev, hi_gev=config.mass_hi_gev,
                min_events=config.min_events_for_fit, n_pseudo=config.n_pseudo,
                seed=config.seed + 1000 * r_index + s_index,
                limit_widths=tuple(config.limit_widths) if with_limits else (),
                limit_mass_spacing=config.limit_mass_spacing, global_p=config.global_p, **systematics,
            )
            jobs.append((data.masses[spectrum][selected], kwargs))
    return run_tasks(_analyse_job, jobs, client)


def _analyse_job(masses_gev: Any, kwargs: dict[str, Any]) -> SpectrumResult:
    return analyse_spectrum(masses_gev, **kwargs)


def run_ae_search(
    store_path: str | Path, out_dir: str | Path, config: AESearchConfig | None = None, *, client: Any | None = None
) -> SearchSummary:
    """Run the search on a scored store and write results.json, summary.md and plots to ``out_dir``.

    >>> summary = run_ae_search("store.zarr", "search", AESearchConfig(n_pseudo=2000))   # doctest: +SKIP
    >>> summary.max_global_z                                                          # doctest: +SKIP
    """
    from adsearch.searches.autoencoder import plots, report

    config = config or AESearchConfig()
    out = Path(out_dir)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    store = open_store(store_path)
    mass_columns = {label: MASS_SPECTRA[label] for label in config.spectra}
    lumi = config.luminosity_ipb or dataset_luminosity_ipb(store, config.data_dataset)
    background = load_columns(store, config.data_dataset, mass_columns)
    signals = {name: load_columns(store, name, mass_columns) for name in config.signal_datasets}
    weights = {name: signal_weight(store, name, lumi) for name in config.signal_datasets}
    data, n_injected = background, {}
    for i, (name, xsec) in enumerate(sorted(config.inject_xsec_pb.items())):
        n_inj = int(round(dataset_normalisation(store, name).expected(xsec, lumi)))
        data = inject_signal(data, signals[name], n_inj, seed=config.seed + 17 + i)
        n_injected[name] = n_inj
    regions = anomaly_regions(data.scores, lumi, config.region_xsec_pb, config.region_thresholds)
    timings["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    background_only = background if config.background_only_dataset is None else load_columns(
        store, config.background_only_dataset, mass_columns)
    spectra = _analyse_all(data, regions, config, client, background_only, lumi)
    timings["fits_and_bumphunter"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sensitivity: list[BenchmarkSensitivity] = []
    for name, sig in signals.items():
        pairs = {label: (sig.masses[label], background.masses[label]) for label in config.spectra}
        spectrum = best_spectrum(pairs, weights[name])
        sensitivity += benchmark_sensitivity(
            name, spectrum, sig.masses[spectrum], sig.scores, weights[name],
            background.masses[spectrum], background.scores, regions,
            lo_gev=config.mass_lo_gev, hi_gev=config.mass_hi_gev,
        )
    timings["sensitivity"] = time.perf_counter() - t0

    summary = SearchSummary(lumi, data.n_events, n_injected, regions, spectra, sensitivity, timings)
    t0 = time.perf_counter()
    plots.save_all(summary, data, signals, out / "plots")
    timings["plots"] = time.perf_counter() - t0
    write_json(out / "results.json", {**summary.to_dict(), "provenance": run_record(
        "ae-search", config.model_dump(), store=str(store_path), store_run=store.run_attrs.get("config_hash"))})
    (out / "summary.md").write_text(report.markdown_summary(summary))
    return summary
