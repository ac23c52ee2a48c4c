"""Figures like Figs. 1 and 2 of the 2020 paper: efficiency maps over (m1, m2) per region, and
selected mJJ spectra with their fits and significance panels."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
# mplhep's sqrt(s) label asks mathtext for a glyph the bundled fonts lack: one warning per figure
logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)

import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402

from adsearch.searches.cwola.hunt import MAP_EDGES_GEV, RegionResult  # noqa: E402
from adsearch.stats.plots import experiment_label, plot_spectrum_fit, save_figure  # noqa: E402

if TYPE_CHECKING:
    from adsearch.searches.cwola.pipeline import CWoLaResult

__all__ = ["plot_efficiency_map", "save_all"]


def plot_efficiency_map(region: RegionResult, lumi_ipb: float) -> plt.Figure:
    """Mean CWoLa efficiency of the signal-region events per (m1, m2) bin: where the selection looks."""
    plt.style.use(hep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    emap = np.ma.masked_invalid(region.efficiency_map.T)
    mesh = ax.pcolormesh(MAP_EDGES_GEV, MAP_EDGES_GEV, emap, cmap="viridis_r", norm=matplotlib.colors.LogNorm(1e-3, 1.0))
    fig.colorbar(mesh, ax=ax, label="mean selection efficiency")
    lo, hi = region.signal_region_gev
    ax.set_xlabel(r"$m_{J1}$ [GeV]")
    ax.set_ylabel(r"$m_{J2}$ [GeV]")
    ax.set_title(f"region {region.index}: {lo / 1000:.2f}-{hi / 1000:.2f} TeV", fontsize=11, loc="right")
    experiment_label(ax, lumi_ipb)
    return fig


def save_all(result: CWoLaResult, out: Path, lumi_ipb: float) -> list[Path]:
    """One efficiency map per region and one spectrum figure per (region, selection)."""
    written = []
    for region in result.regions:
        fig = plot_efficiency_map(region, lumi_ipb)
        written.append(save_figure(fig, out / f"efficiency_map_region{region.index}")[0])  # PNG + PDF, 150 dpi
        for spectrum in region.spectra:
            if spectrum.fit.fit is None or not spectrum.fit.fit.converged:
                continue
            z = "n/a" if not np.isfinite(spectrum.z) else f"{spectrum.z:.2f}"
            fig = plot_spectrum_fit(
                spectrum.edges_gev, spectrum.counts, spectrum.fit.background, spectrum.fit.sigma,
                fit_mask=spectrum.fit.judge_mask,
                label=f"{spectrum.fit.function} fit" if spectrum.fit.success else
                f"{spectrum.fit.attempts[-1].function} fit (rejected: fit-SB p < 0.05)",
                title=f"region {region.index}, {spectrum.label}: fit SR (shaded) Z = {z}",
                xlabel=r"$m_{JJ}$ [TeV]", lumi_ipb=lumi_ipb)
            tag = spectrum.label.replace(" ", "_")
            written.append(save_figure(fig, out / f"mjj_region{region.index}_{tag}")[0])
    return written
