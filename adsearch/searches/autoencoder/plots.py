"""Figures of the autoencoder search: scores with region lines, spectra with fits and pulls,
Delta-Z versus mass. Everything returns a matplotlib Figure (Agg) for the caller to save."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402

from adsearch.searches.autoencoder.regions import AnomalyRegion  # noqa: E402
from adsearch.searches.common.sensitivity import BenchmarkSensitivity  # noqa: E402
from adsearch.searches.autoencoder.spectra import SpectrumResult  # noqa: E402
from adsearch.stats.limits import LimitPoint  # noqa: E402
from adsearch.stats.plots import experiment_label, per_bin_scale, plot_limits, save_figure  # noqa: E402

if TYPE_CHECKING:
    from adsearch.searches.autoencoder.data import SampleColumns
    from adsearch.searches.autoencoder.pipeline import SearchSummary

__all__ = ["save_all", "plot_scores", "plot_region_spectra", "plot_delta_z"]

_SPECTRUM_LABELS = {
    "jj": r"$m_{jj}$", "jb": r"$m_{jb}$", "bb": r"$m_{bb}$", "je": r"$m_{je}$", "jmu": r"$m_{j\mu}$",
    "jgamma": r"$m_{j\gamma}$", "be": r"$m_{be}$", "bmu": r"$m_{b\mu}$", "bgamma": r"$m_{b\gamma}$",
}


def plot_scores(
    data_scores: np.ndarray,
    benchmarks: dict[str, np.ndarray],
    regions: Sequence[AnomalyRegion],
    luminosity_ipb: float,
) -> plt.Figure:
    """Anomaly-score distribution of the data with the benchmarks' shapes (scaled to the data's
    count) overlaid, and the region thresholds."""
    plt.style.use(hep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(8, 6))
    lo = float(np.percentile(data_scores, 0.01))
    hi = max(float(np.max(data_scores)), *(float(np.max(s)) for s in benchmarks.values() if len(s)))
    edges = np.linspace(lo, hi + 0.05 * (hi - lo), 61)
    hep.histplot(np.histogram(data_scores, edges)[0], edges, ax=ax, histtype="errorbar", color="black",
                 label=f"data ({data_scores.size} events)")
    for name, scores in benchmarks.items():
        counts = np.histogram(scores, edges)[0] * (data_scores.size / max(len(scores), 1))
        hep.histplot(counts, edges, ax=ax, label=f"{name} (shape)")
    for region in regions:
        if np.isfinite(region.threshold):
            ax.axvline(region.threshold, ls="--", color="grey")
            ax.text(region.threshold, 0.03, f" {region.label}", transform=ax.get_xaxis_transform(),
                    rotation=90, va="bottom", ha="right", fontsize=11)
    ax.set_yscale("log")
    ax.set_ylim(0.5, 300.0 * max(1, data_scores.size / 20))  # headroom for the legend
    ax.set_xlabel("anomaly score ln(MSE)")
    ax.set_ylabel("events")
    ax.legend(fontsize=10, loc="upper right", ncol=2)
    experiment_label(ax, luminosity_ipb)
    return fig


def plot_region_spectra(results: Sequence[SpectrumResult], region: str, luminosity_ipb: float | None = None) -> plt.Figure:
    """Grid of up to 3x3 spectra: each with its 5-parameter fit, BumpHunter window, and pulls;
    events per GeV (the resolution binning varies); a spectrum without a fit says why in its pull
    panel. Only as many panels as spectra."""
    plt.style.use(hep.style.ATLAS)
    shown = list(results[:9])
    n_rows = max(1, -(-len(shown) // 3))
    fig = plt.figure(figsize=(18, 16 * n_rows / 3))
    outer = fig.add_gridspec(n_rows, 3, hspace=0.35, wspace=0.3)
    for idx, res in enumerate(shown):
        inner = outer[idx // 3, idx % 3].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
        ax, rax = fig.add_subplot(inner[0]), fig.add_subplot(inner[1])
        edges, counts = res.edges_gev / 1000.0, res.counts
        scale, ylabel = per_bin_scale(res.edges_gev)
        hep.histplot(counts / scale, edges, ax=ax, histtype="errorbar", color="black", label="data",
                     yerr=np.sqrt(counts) / scale)
        if res.fit is not None and res.fit.converged:
            exp, sig = res.fit.expected, res.fit.sigma
            hep.histplot(exp / scale, edges, ax=ax, color="tab:red", label="5-par fit")
            ax.stairs((exp + sig) / scale, edges, baseline=(exp - sig) / scale, fill=True, alpha=0.3, color="tab:red")
            with np.errstate(divide="ignore", invalid="ignore"):
                pull = np.where(exp > 0, (counts - exp) / np.sqrt(exp), 0.0)
            rax.stairs(pull, edges, fill=True, color="tab:blue")
        else:
            rax.text(0.5, 0.75, f"no fit: {res.status}", transform=rax.transAxes, ha="center", va="center",
                     fontsize=9, color="tab:red", wrap=True)
        ax.set_ylabel(ylabel, fontsize=11)
        if res.bumphunt is not None:
            bh = res.bumphunt
            ax.axvspan(bh.lo_gev / 1000.0, bh.hi_gev / 1000.0, color="tab:green", alpha=0.2,
                       label=f"BH: global {bh.global_z:.1f}$\\sigma$")
        density = counts / scale
        if (density > 0).any():  # an empty spectrum stays linear
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.5 * density[density > 0].min())
        ax.set_title(f"{_SPECTRUM_LABELS.get(res.spectrum, res.spectrum)} [{res.status if res.status != 'ok' else region}]",
                     fontsize=12)
        ax.legend(fontsize=9)
        ax.tick_params(labelbottom=False, labelsize=10)
        rax.axhline(0, color="black", lw=0.8)
        rax.set_ylim(-4, 4)
        rax.set_xlim(edges[0], edges[-1])
        ax.set_xlim(edges[0], edges[-1])
        rax.set_xlabel("mass [TeV]", fontsize=11)
        rax.set_ylabel("pull", fontsize=10)
        rax.tick_params(labelsize=10)
    lumi = "" if luminosity_ipb is None else f", $\\sqrt{{s}}$ = 13 TeV, {luminosity_ipb / 1000.0:.3g} fb$^{{-1}}$"
    fig.suptitle(f"Anomaly region {region}{lumi}", fontsize=16)
    return fig


def plot_delta_z(points: Sequence[BenchmarkSensitivity], luminosity_ipb: float | None = None) -> plt.Figure:
    """Delta-Z (%) versus signal mass, a line per (benchmark model, region)."""
    plt.style.use(hep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(8, 6))
    groups: dict[tuple[str, str], list[BenchmarkSensitivity]] = {}
    for p in points:
        model = p.benchmark.rsplit("_", 1)[0]
        groups.setdefault((model, p.region), []).append(p)
    for (model, region), pts in sorted(groups.items()):
        pts = sorted(pts, key=lambda q: q.mean_gev)
        ax.plot([q.mean_gev / 1000 for q in pts], [q.delta_z_percent for q in pts], "o-",
                label=f"{model}, {region} ({pts[0].spectrum})")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("signal peak mass [TeV]")
    ax.set_ylabel(r"$\Delta Z$ [%]")
    ax.legend(fontsize=10)
    experiment_label(ax, luminosity_ipb)
    return fig


def save_all(
    summary: SearchSummary, data: SampleColumns, signals: dict[str, SampleColumns], plot_dir: str | Path
) -> list[str]:
    """Write every figure of a finished search into ``plot_dir`` (PNG + PDF, 150 dpi); return the
    PNG file names."""
    plot_dir = Path(plot_dir)
    written = []
    lumi = summary.luminosity_ipb

    def _save(fig: plt.Figure, name: str) -> None:
        save_figure(fig, plot_dir / name.removesuffix(".png"))
        written.append(name)

    bench = {name: sig.scores for name, sig in signals.items()}
    _save(plot_scores(data.scores, bench, summary.regions, lumi), "anomaly_scores.png")
    for region in summary.regions:
        results = [s for s in summary.spectra if s.region == region.label]
        _save(plot_region_spectra(results, region.label, lumi), f"spectra_{region.label}.png")
    if summary.sensitivity:
        _save(plot_delta_z(summary.sensitivity, lumi), "delta_z.png")
    for res in summary.spectra:
        for width, points in res.limits.items():
            if not points:
                continue
            fig = plot_limits(
                [LimitPoint(**p) for p in points], scale=1.0 / summary.luminosity_ipb,
                ylabel=r"95% CL limit on $\sigma_{vis}$ [pb]",
                title=f"Gaussian signal, width {float(width):.0%} + resolution: {res.spectrum}, region {res.region}",
                lumi_ipb=lumi,
            )
            _save(fig, f"limits_{res.region}_{res.spectrum}_w{width}.png")
    return written
