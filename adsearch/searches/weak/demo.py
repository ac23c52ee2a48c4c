"""``adsearch weak demo``: the 2025 weak search end to end on generated dijet events.

Generates (or resumes) Pythia samples: QCD at the default tune (split by files into the
pseudo-data and an independent MONTE CARLO validation sample), QCD at another tune (``Tune:pp``,
the SALAD simulation) and the A -> BC signal; processes them into one store; injects the signal
into the signal region that holds it at S / sqrt(B) = 3 before any selection; runs the search
with SALAD and CURTAINS templates on the injected and on the background-only data, each with its
validation samples and the non-closure correction; compares the three templates and the two
classifier types by SIC curves against the injected events' true labels; writes the figures.

Scaled to a shared 2-core machine (stated in the config and the README): one signal region, one
feature set ({M, tau21}), N = 3 members (1 per validation instance), DOWN-UP-SAMPLING as the
only validation sample, drawn once on the background-only data and reused for the injected run
(LARGE |dY| and MONTE CARLO run in the tests; the QCD files beyond ``data_files`` are in the
store as ``mc``), SALAD at <= 60 epochs and flows at <= 10, SIC windows with 1 member.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
import numpy as np
import yaml
from pydantic import Field

from adsearch.config import StrictModel, load_config

__all__ = ["WeakDemoConfig", "run_weak_demo", "rerun_larger_injection", "demo"]


class WeakDemoConfig(StrictModel):
    """Sample sizes and the reduced search settings of the demonstration."""

    qcd_events: int = Field(150_000, gt=0)
    data_files: int = Field(9, ge=1, description="QCD files (10k events each) that form the pseudo-data; the rest is MC")
    sim_events: int = Field(60_000, gt=0)
    sim_tune: int = Field(5, description="Pythia Tune:pp of the SALAD simulation (5 = 4C; the data use Monash, 14)")
    pthat_min_gev: float = Field(950.0, gt=0)
    signal: str = "wprime_3000_400_80"
    signal_events: int = Field(4000, gt=0)
    s_over_sqrt_b: float = Field(3.0, gt=0)
    workers: int = Field(2, ge=0)
    seed: int = 42
    search: dict[str, Any] = Field(default_factory=lambda: {
        "signal_regions_gev": [[2600.0, 3200.0]], "feature_sets": ["M_tau21"],
        "classifier": {"n_members": 3, "max_epochs": 40}, "salad": {"max_epochs": 60, "patience": 10},
        "curtains": {"oversampling": 2, "flow": {"max_epochs": 10, "batch_size": 1024, "patience": 3}},
        "validation": {"samples": ["down_up_sampling"], "instances": 10, "n_members": 1,
                       "down_up": {"model": {"max_epochs": 10}}}})
    sic_feature_set: str = "M_tau21"


def _generate(out: Path, config: WeakDemoConfig) -> dict[str, Any]:
    from adsearch.generator import generate_sample

    kw = {"workers": max(config.workers, 1), "pthat_min_gev": config.pthat_min_gev, "chunk_events": 10000,
          "progress": False}
    qcd = generate_sample("dijet", config.qcd_events, config.seed, out / "samples" / "qcd", **kw)
    sim = generate_sample("dijet", config.sim_events, config.seed + 35, out / "samples" / f"sim_tune{config.sim_tune}",
                          pythia_settings=[f"Tune:pp = {config.sim_tune}"], **kw)
    sig = generate_sample("dijet", config.signal_events, config.seed + 1, out / "samples" / config.signal,
                          signal=config.signal, workers=max(config.workers, 1), chunk_events=2000, progress=False)
    files = sorted(qcd.files)
    per_event_pb = 1.0 / qcd.cross_section_pb  # luminosity of one QCD event
    data, mc = files[: config.data_files], files[config.data_files:]
    n_data = min(config.qcd_events, 10000 * len(data))
    fileset = {
        "background": {"files": {str(p): "Events" for p in data}, "metadata": {"luminosity_pb": n_data * per_event_pb}},
        "simulation": {"files": {str(p): "Events" for p in sorted(sim.files)}},
        config.signal: {"files": {str(p): "Events" for p in sorted(sig.files)}},
    }
    if mc:  # the QCD files beyond the pseudo-data: the MONTE CARLO validation sample
        fileset["mc"] = {"files": {str(p): "Events" for p in mc},
                         "metadata": {"luminosity_pb": (config.qcd_events - n_data) * per_event_pb}}
    (out / "fileset.yaml").write_text(yaml.safe_dump(fileset))
    return {"qcd_xsec_pb": qcd.cross_section_pb, "luminosity_pb": n_data * per_event_pb, "n_data_generated": n_data,
            "n_mc_generated": config.qcd_events - n_data, "n_sim_generated": config.sim_events,
            "sim_luminosity_pb": sim.luminosity_pb, "n_signal_generated": config.signal_events}


def injection_for(store: Any, config: Any, signal: str, s_over_sqrt_b: float) -> tuple[float, dict[str, float]]:
    """The cross-section (pb) that puts S = k sqrt(B) signal events into the first signal region."""
    from adsearch.searches.common.samples import dataset_luminosity_ipb, dataset_n_generated
    from adsearch.searches.weak.features import load_weak

    region = config.regions()[0]
    data = load_weak(store, config.data_dataset, "search", config.mjj_column)
    sig = load_weak(store, signal, "search", config.mjj_column)
    b = float(region.in_signal_region(data["mjj_gev"]).sum())
    f_sr = float(region.in_signal_region(sig["mjj_gev"]).mean())
    lumi = dataset_luminosity_ipb(store, config.data_dataset)
    n_total = s_over_sqrt_b * np.sqrt(b) / f_sr
    xsec = n_total * dataset_n_generated(store, signal) / (lumi * sig.n_events)
    return float(xsec), {"b_sr": b, "s_sr": s_over_sqrt_b * np.sqrt(b), "signal_fraction_in_sr": f_sr,
                         "n_injected_total": n_total}


def _sic_runs(store: Any, base: Any, config: WeakDemoConfig, client: Any) -> dict[str, Any]:
    """Scores of one window for every template x classifier type, and their SIC curves."""
    from adsearch.searches.common.samples import dataset_luminosity_ipb, inject_signals
    from adsearch.searches.weak.features import load_weak
    from adsearch.searches.weak.plots import sic_curve
    from adsearch.searches.weak.windows import run_window

    lumi = dataset_luminosity_ipb(store, base.data_dataset)
    load = lambda name: load_weak(store, name, "search", base.mjj_column)  # noqa: E731
    data, _ = inject_signals(store, load(base.data_dataset), {config.signal: load(config.signal)},
                             base.inject_xsec_pb, lumi, base.seed)
    simulation = load(base.simulation_dataset)
    curves, rows = {}, {}
    for template in ("salad", "curtains", "cathode"):
        for kind in ("dense", "hgb"):
            cfg = base.model_copy(update={"template": template, "classifier": base.classifier.model_copy(
                update={"kind": kind, "n_members": 1})})
            t0 = time.perf_counter()
            w = run_window(data, simulation, cfg.regions()[0], config.sic_feature_set, cfg, client, keep_scores=True)
            sr = w.is_signal_region
            score = np.mean(w.scores[sr], axis=1)
            eff, sic = sic_curve(score, w.injected[sr])
            curves[f"{template} / {kind}"] = (eff, sic)
            rows[f"{template} / {kind}"] = {
                "max_sic": float(np.nanmax(sic)), "z": {s.label: s.z for s in w.spectra},
                "seconds": time.perf_counter() - t0}
    return {"curves": curves, "rows": rows}


def run_weak_demo(out_dir: str | Path, config: WeakDemoConfig | None = None,
                  figures_dir: str | Path | None = None) -> dict[str, Any]:
    """Every stage into ``out_dir``; figures into ``figures_dir`` (default out_dir/figures)."""
    from adsearch.cluster import dask_client
    from adsearch.processors.run import run_processor
    from adsearch.provenance import write_json
    from adsearch.searches.weak.config import WeakSearchConfig
    from adsearch.searches.weak.pipeline import weak_search
    from adsearch.searches.weak.plots import plot_sic, plot_significances, plot_window_spectra
    from adsearch.store import open_store

    config = config or WeakDemoConfig()
    out = Path(out_dir).resolve()
    figs = Path(figures_dir) if figures_dir else out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    samples = _generate(out, config)
    timings["generate"] = time.perf_counter() - t0
    summary: dict[str, Any] = {"samples": samples, "config": config.model_dump()}
    base = WeakSearchConfig.model_validate({"signal_datasets": [config.signal], "seed": config.seed, **config.search})
    with dask_client(n_workers=config.workers) if config.workers else nullcontext() as client:
        t0 = time.perf_counter()
        if not (out / "store.zarr").exists():
            run_processor("dijet", out / "fileset.yaml", out / "store.zarr", client=client, progress=False)
        timings["process"] = time.perf_counter() - t0
        store = open_store(out / "store.zarr")
        xsec, injection = injection_for(store, base, config.signal, config.s_over_sqrt_b)
        summary["injection"] = {"xsec_pb": xsec, **injection}
        rows, results = [], {}
        for template in ("salad", "curtains"):
            null = None
            # background only first: its validation instances (signal-free by construction) serve
            # the injected run too
            for run, extra in (("null", {}), ("injected", {"inject_xsec_pb": {config.signal: xsec}})):
                t0 = time.perf_counter()
                cfg = base.model_copy(update={"template": template, **extra})
                res = weak_search(store, cfg, out / f"{template}_{run}", client=client, progress=False,
                                  validation_from=null)
                null = null or res
                timings[f"{template}_{run}"] = time.perf_counter() - t0
                results[f"{template}_{run}"] = {
                    "max_z": {s.label: res.max_z(s.label) for s in res.windows[0].spectra},
                    "max_reported_z": {s.label: res.max_z(s.label, reported=True) for s in res.windows[0].spectra},
                    "n_injected": res.n_injected, "timings_s": res.timings_s}
                for w in res.windows:
                    plot_window_spectra(w, figs / f"spectra_{template}_{run}_{w.feature_set}", res.luminosity_ipb,
                                        f"{template.upper()} {run}, {w.feature_set}")
                    for s in w.spectra:
                        rows.append({"run": f"{template} {run}", "feature_set": w.feature_set, "label": s.label,
                                     "z": s.z, "z_corrected": s.z_corrected, "validated": s.validated,
                                     "validation": s.validation})
        plot_significances(rows, figs / "significances", samples["luminosity_pb"])
        summary["results"], summary["rows"] = results, rows
        t0 = time.perf_counter()
        inj = base.model_copy(update={"inject_xsec_pb": {config.signal: xsec}})
        sic = _sic_runs(store, inj, config, client)
        timings["sic"] = time.perf_counter() - t0
        plot_sic(sic["curves"], figs / "sic", samples["luminosity_pb"])
        summary["sic"] = sic["rows"]
    summary["timings_s"] = timings
    write_json(out / "demo_summary.json", summary)
    return summary


def rerun_larger_injection(out_dir: str | Path, s_over_sqrt_b: float, config: WeakDemoConfig | None = None,
                     figures_dir: str | Path | None = None) -> dict[str, Any]:
    """After :func:`run_weak_demo`: inject S / sqrt(B) = ``s_over_sqrt_b`` and rerun both templates,
    with the background-only runs' validation verdicts and non-closure fits (read from their
    results.json: the same windows, signal-free instances); adds ``larger_injection`` to the summary."""
    import json

    from adsearch.cluster import dask_client
    from adsearch.provenance import write_json
    from adsearch.searches.weak.config import WeakSearchConfig
    from adsearch.searches.weak.pipeline import weak_search
    from adsearch.searches.weak.plots import plot_window_spectra
    from adsearch.stats.closure import NonClosureCorrection
    from adsearch.store import open_store

    config = config or WeakDemoConfig()
    out = Path(out_dir).resolve()
    figs = Path(figures_dir) if figures_dir else out / "figures"
    summary = json.loads((out / "demo_summary.json").read_text())
    base = WeakSearchConfig.model_validate({"signal_datasets": [config.signal], "seed": config.seed, **config.search})
    base = base.model_copy(update={"validation": base.validation.model_copy(update={"samples": []})})
    store = open_store(out / "store.zarr")
    xsec, injection = injection_for(store, base, config.signal, s_over_sqrt_b)
    extra: dict[str, Any] = {"s_over_sqrt_b": s_over_sqrt_b, "xsec_pb": xsec, **injection}
    with dask_client(n_workers=config.workers) if config.workers else nullcontext() as client:
        for template in ("salad", "curtains"):
            t0 = time.perf_counter()
            null = json.loads((out / f"{template}_null" / "results.json").read_text())
            cfg = base.model_copy(update={"template": template, "inject_xsec_pb": {config.signal: xsec}})
            res = weak_search(store, cfg, client=client, progress=False)
            rows = {}
            for w, w_null in zip(res.windows, null["windows"]):
                for spectrum, s_null in zip(w.spectra, w_null["spectra"]):
                    spectrum.validation, spectrum.validated = s_null["validation"], s_null["validated"]
                    corr = null["validation"]["nonclosure"].get("corrections", {}).get(f"{w.feature_set} / {spectrum.label}")
                    spectrum.z_corrected = (float(NonClosureCorrection(tuple(corr["mean_coeffs"]), tuple(corr["sd_coeffs"]))
                                                  .apply(spectrum.z, w.mass_gev)) if corr and corr["applied"] else spectrum.z)
                    rows[spectrum.label] = {"z": spectrum.z, "z_corrected": spectrum.z_corrected,
                                            "validated": spectrum.validated, "n_sr": spectrum.n_sr, "b_sr": spectrum.b_sr,
                                            "injected_selected": w.injected_selected.get(spectrum.label)}
                plot_window_spectra(w, figs / f"spectra_{template}_injected{s_over_sqrt_b:g}_{w.feature_set}",
                                    res.luminosity_ipb, f"{template.upper()} S/sqrt(B) = {s_over_sqrt_b:g}, {w.feature_set}")
            extra[template] = {"spectra": rows, "seconds": time.perf_counter() - t0, "n_injected": res.n_injected}
    summary["larger_injection"] = extra
    write_json(out / "demo_summary.json", summary)
    return extra


@click.command("demo")
@click.option("--out", "out_dir", default="weak-demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--figures", "figures_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for the figures (default OUT/figures).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), help="WeakDemoConfig YAML.")
@click.option("--larger-injection", type=float, default=None,
              help="After a completed demo: rerun the injected searches at this S/sqrt(B) (validation from the null runs).")
def demo(out_dir: str, figures_dir: str | None, config_path: str | None, larger_injection: float | None) -> None:
    """Generate, process, inject at S/sqrt(B) = 3 and search with SALAD and CURTAINS (injected, null)."""
    if larger_injection is not None:
        extra = rerun_larger_injection(out_dir, larger_injection, load_config(WeakDemoConfig, config_path), figures_dir)
        for template in ("salad", "curtains"):
            click.echo(f"{template}, S/sqrt(B) = {extra['s_over_sqrt_b']:g}: " + ", ".join(
                f"{k} Z {v['z']:.2f} (corrected {v['z_corrected']:.2f})" for k, v in extra[template]["spectra"].items()))
        return
    summary = run_weak_demo(out_dir, load_config(WeakDemoConfig, config_path), figures_dir)
    for name, r in summary["results"].items():
        click.echo(f"{name}: largest Z " + ", ".join(f"{k} {v:.2f}" for k, v in r["max_z"].items())
                   + "; reported " + ", ".join(f"{k} {v:.2f}" for k, v in r["max_reported_z"].items()))
    click.echo(f"outputs in {out_dir}; figures in {figures_dir or out_dir + '/figures'}")
