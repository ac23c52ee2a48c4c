"""Figures of the Y -> X H search: anomaly-score distributions and the (m_X, m_Y) significance map."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402

from adsearch.searches.hx.grid import GridBackground, GridHunt  # noqa: E402
from adsearch.stats.plots import experiment_label, save_figure  # noqa: E402

__all__ = ["plot_scores", "plot_significance_map", "plot_best_row"]


def plot_scores(scores: dict[str, np.ndarray], threshold: float, stem: Path, lumi_ipb: float | None) -> list[Path]:
    """Normalised J_X distributions, one line per sample (QCD data, each X topology)."""
    plt.style.use(hep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(8, 6))
    edges = np.linspace(0.0, 1.0, 41)
    for name, values in scores.items():
        if len(values):
            ax.hist(values, bins=edges, histtype="step", density=True, lw=1.8,
                    label=f"{name} ({np.mean(values > threshold):.1%} > {threshold:g})")
    ax.axvline(threshold, color="k", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("VRNN anomaly score $J_X$")
    ax.set_ylabel("normalised")
    ax.legend(fontsize=9, loc="upper right")
    experiment_label(ax, lumi_ipb)
    return save_figure(fig, stem)


def plot_significance_map(grid: GridBackground, hunt: GridHunt, title: str, stem: Path,
                          lumi_ipb: float | None) -> list[Path]:
    """Signed local significance per (m_X, m_Y) cell against the per-row fits; the best window boxed."""
    plt.style.use(hep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(9, 6))
    z = np.ma.masked_where(~grid.fitted[:, None] | (grid.counts + grid.background == 0), hunt.z_map)
    mesh = ax.pcolormesh(grid.my_edges_gev, grid.mx_edges_gev, z, cmap="RdBu_r", vmin=-4, vmax=4)
    fig.colorbar(mesh, ax=ax, label="local significance per cell")
    if np.isfinite(hunt.mx_lo_gev):
        ax.add_patch(plt.Rectangle((hunt.my_lo_gev, hunt.mx_lo_gev), hunt.my_hi_gev - hunt.my_lo_gev,
                                   hunt.mx_hi_gev - hunt.mx_lo_gev, fill=False, ec="k", lw=2))
    ax.set_xlabel("$m_Y = m_{JJ}$ [GeV]")
    ax.set_ylabel("$m_X$ [GeV]")
    ax.set_title(f"{title}: local {hunt.local_z:.2f}$\\sigma$, global {hunt.global_z:.2f}$\\sigma$", fontsize=11)
    experiment_label(ax, lumi_ipb)
    return save_figure(fig, stem)


def plot_best_row(grid: GridBackground, hunt: GridHunt, stem: Path, lumi_ipb: float | None) -> list[Path]:
    """m_Y spectrum of the m_X bin holding the best window, with its fit."""
    plt.style.use(hep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(8, 6))
    if np.isfinite(hunt.mx_lo_gev):
        row = int(np.searchsorted(grid.mx_edges_gev, hunt.mx_lo_gev))
        centres = 0.5 * (grid.my_edges_gev[1:] + grid.my_edges_gev[:-1])
        ax.errorbar(centres, grid.counts[row], yerr=np.sqrt(grid.counts[row]), fmt="ko", ms=3, label="data")
        ax.stairs(grid.background[row], grid.my_edges_gev, color="C0", lw=2, label="fit")
        ax.axvspan(hunt.my_lo_gev, hunt.my_hi_gev, color="C1", alpha=0.2, label="best window")
        ax.set_yscale("log")
        ax.set_title(f"$m_X$ {hunt.mx_lo_gev:g}-{hunt.mx_hi_gev:g} GeV", fontsize=11)
        ax.legend(fontsize=9)
    ax.set_xlabel("$m_Y$ [GeV]")
    ax.set_ylabel("events / bin")
    experiment_label(ax, lumi_ipb)
    return save_figure(fig, stem)
