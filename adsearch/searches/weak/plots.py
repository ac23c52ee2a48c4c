"""Figures of the 2025 weak search (like Figs. 3-5 of the paper): selected spectra with their
strategy-B fits, merged-bin significances per region / feature set / selection, SIC curves."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from adsearch.searches.weak.windows import WindowResult  # noqa: E402
from adsearch.stats.plots import experiment_label, plot_spectrum_fit, save_figure  # noqa: E402

__all__ = ["plot_window_spectra", "plot_significances", "plot_sic", "sic_curve"]


def plot_window_spectra(window: WindowResult, stem: str | Path, lumi_ipb: float, title: str) -> list[Path]:
    """One panel per selection: the median spectrum (ensemble + Poisson errors), the fit, the SR."""
    paths = []
    for spectrum in window.spectra:
        h, fit = spectrum.histogram, spectrum.fit
        err = np.sqrt(h.median + np.diag(h.covariance))
        fig = plot_spectrum_fit(
            h.edges_gev, h.median, fit.background if fit.success else None, fit.sigma if fit.success else None,
            fit_mask=fit.fit_mask, label=f"strategy B ({fit.function})" if fit.success else "fit",
            title=f"{title}: {spectrum.label}, Z = {spectrum.z:.2f}", xlabel=r"$m_{JJ}$ [TeV]", lumi_ipb=lumi_ipb,
            counts_sigma=err, window_gev=window.signal_region_gev, no_fit_reason=fit.message)
        slug = spectrum.label.replace(" ", "_")
        paths += save_figure(fig, f"{stem}_{slug}")
    return paths


def plot_significances(rows: list[dict[str, Any]], stem: str | Path, lumi_ipb: float) -> list[Path]:
    """Merged-SR Z of each (run, feature set, selection): raw and corrected; hatched: not validated.

    ``rows``: dicts with run, feature_set, label, z, z_corrected, validated.
    """
    fig, ax = plt.subplots(figsize=(9, 4.5))
    names = [f"{r['run']}\n{r['feature_set']}\n{r['label'].replace('efficiency ', 'eff ')}" for r in rows]
    x = np.arange(len(rows))
    z = np.array([r["z"] for r in rows], float)
    zc = np.array([r["z_corrected"] for r in rows], float)
    ok = np.array([bool(r["validated"]) for r in rows])
    ax.bar(x - 0.2, np.nan_to_num(z), 0.4, color="tab:gray", label="Z")
    ax.bar(x + 0.2, np.nan_to_num(zc), 0.4, color=np.where(ok, "tab:blue", "white"), edgecolor="tab:blue",
           hatch=None, label="Z corrected (blue: validated)")
    ax.axhline(3.0, color="tab:red", ls="--", lw=1)
    ax.axhline(2.0, color="tab:orange", ls=":", lw=1)
    ax.set_xticks(x, names, fontsize=6)
    ax.set_ylabel("merged signal-region Z")
    experiment_label(ax, lumi_ipb)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, stem)


def sic_curve(scores: np.ndarray, is_signal: np.ndarray, n_points: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """(signal efficiency, SIC = eps_S / sqrt(eps_B)) from scores and true labels.

    >>> e, s = sic_curve(np.array([0.9, 0.8, 0.1, 0.2, 0.3]), np.array([1, 1, 0, 0, 0], bool), 5)
    >>> float(np.nanmax(s)) > 1.0
    True
    """
    scores, is_signal = np.asarray(scores, float), np.asarray(is_signal, bool)
    cuts = np.quantile(scores, np.linspace(0.0, 0.999, n_points))
    eff_s = np.array([(scores[is_signal] >= c).mean() for c in cuts])
    eff_b = np.array([(scores[~is_signal] >= c).mean() for c in cuts])
    with np.errstate(divide="ignore", invalid="ignore"):
        sic = np.where(eff_b > 0, eff_s / np.sqrt(eff_b), np.nan)
    return eff_s, sic


def plot_sic(curves: dict[str, tuple[np.ndarray, np.ndarray]], stem: str | Path, lumi_ipb: float) -> list[Path]:
    """SIC against signal efficiency, one curve per (template, classifier)."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, (eff, sic) in curves.items():
        ax.plot(eff, sic, label=name)
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel(r"signal efficiency $\epsilon_S$ (signal region)")
    ax.set_ylabel(r"SIC = $\epsilon_S / \sqrt{\epsilon_B}$")
    experiment_label(ax, lumi_ipb)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, stem)
