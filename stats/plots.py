"""mplhep figures: spectrum with fit, band and significance panel; BumpHunter window; Brazil band.

Figures are returned (Agg backend, nothing is shown) so callers save them where they like.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
# the PDF backend warns once per glyph about the sqrt(s) label's radical sign; the PDFs are right
logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)

import matplotlib.pyplot as plt  # noqa: E402
import mplhep as hep  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from adsearch.stats.bumphunter import BumpHuntResult  # noqa: E402
from adsearch.stats.limits import LimitPoint  # noqa: E402
from adsearch.stats.significance import z_observed  # noqa: E402

__all__ = ["plot_spectrum_fit", "plot_bumphunt", "plot_limits", "render_figure", "save_figure", "per_bin_scale",
           "experiment_label"]


def _ratio_axes(title: str | None) -> tuple[Figure, plt.Axes, plt.Axes]:
    plt.style.use(hep.style.ATLAS)
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    if title:
        ax.set_title(title, fontsize=12)
    return fig, ax, rax


def experiment_label(ax: plt.Axes, lumi_ipb: float | None) -> None:
    """The sqrt(s) = 13 TeV and luminosity label every adsearch figure carries (fb^-1), in the
    ATLAS style (bold italic "ATLAS", then the status, the energy and luminosity below).

    Placed relative to the "ATLAS" text by annotations, which matplotlib resolves when it draws:
    mplhep's ``atlas.label`` measures its texts by drawing the whole figure twice, which made it
    ~90% of a spectrum figure's build time (~0.4 s of ~0.45 s) and reports of 60 spectra slow.
    """
    if lumi_ipb is None:
        return
    atlas = ax.text(0.04, 0.96, "ATLAS", transform=ax.transAxes, ha="left", va="top", fontsize=13,
                    fontweight="bold", fontstyle="italic")
    ax.annotate(" Simulation Internal", xy=(1.0, 0.0), xycoords=atlas, ha="left", va="bottom", fontsize=13)
    ax.annotate(rf"$\sqrt{{s}}$ = 13 TeV, {lumi_ipb / 1000.0:.3g} fb$^{{-1}}$", xy=(0.0, -0.25), xycoords=atlas,
                ha="left", va="top", fontsize=11)


def per_bin_scale(edges_gev: np.ndarray) -> tuple[np.ndarray, str]:
    """(divisor per bin, y-axis label): events per GeV for variable bins, per bin of width w else.

    >>> per_bin_scale(np.array([0.0, 10.0, 30.0]))[1]
    'events / GeV'
    >>> per_bin_scale(np.array([0.0, 100.0, 200.0]))[1]
    'events / 100 GeV'
    """
    widths = np.diff(np.asarray(edges_gev, dtype=float))
    if widths.size and np.allclose(widths, widths[0], rtol=1e-6):
        return np.ones_like(widths), f"events / {widths[0]:.3g} GeV"
    return widths, "events / GeV"


def render_figure(fig: Figure, dpi: int = 150, formats: Sequence[str] = ("png", "pdf")) -> dict[str, bytes]:
    """{format: file bytes} of ``fig`` (``dpi`` >= 150 for print), the figure closed: for figures
    drawn on cluster workers, whose files the client writes.

    >>> fig, ax = plt.subplots()
    >>> sorted((k, v[:4]) for k, v in render_figure(fig).items())
    [('pdf', b'%PDF'), ('png', b'\x89PNG')]
    """
    import io

    if dpi < 150:
        raise ValueError(f"figures are written at >= 150 dpi, got {dpi}")
    # the tight box once for every format (bbox_inches="tight" draws the figure again per file)
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)  # 0.1 inch: savefig's own padding
    out = {}
    for ext in formats:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=dpi, bbox_inches=bbox)
        out[ext] = buffer.getvalue()
    plt.close(fig)
    return out


def save_figure(fig: Figure, stem: str | Path, dpi: int = 150, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write ``stem``.png (``dpi``, >= 150 for print) and ``stem``.pdf, close the figure, return the paths."""
    stem = Path(stem)
    rendered = render_figure(fig, dpi, formats)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, data in rendered.items():
        paths.append(stem.parent / f"{stem.name}.{ext}")  # stems may hold dots
        paths[-1].write_bytes(data)
    return paths


def plot_spectrum_fit(
    edges_gev: np.ndarray,
    counts: np.ndarray,
    background: np.ndarray | None,
    background_sigma: np.ndarray | None = None,
    *,
    background_alt: np.ndarray | None = None,
    fit_mask: np.ndarray | None = None,
    label: str = "fit",
    title: str | None = None,
    log: bool = True,
    xlabel: str = r"$m$ [TeV]",
    lumi_ipb: float | None = None,
    counts_sigma: np.ndarray | None = None,
    window_gev: tuple[float, float] | None = None,
    no_fit_reason: str = "no background fit",
) -> Figure:
    """Data points, fitted background with its band, and a per-bin significance panel.

    ``lumi_ipb``: adds the experiment label with sqrt(s) = 13 TeV and the luminosity. Counts are
    drawn per GeV when the bins vary in width (resolution binning), else per bin. ``background``
    None: the data alone, and ``no_fit_reason`` written in both panels (never an empty panel).

    The panel shows the signed Poisson significance of each bin (with the band's uncertainty);
    bins left out of the fit (``fit_mask`` False) are shaded; ``window_gev`` (the tested window)
    is shaded blue in the upper panel.
    """
    edges = np.asarray(edges_gev, dtype=float) / 1000.0
    n = np.asarray(counts, dtype=float)
    scale, ylabel = per_bin_scale(edges_gev)
    err = np.sqrt(n) if counts_sigma is None else np.asarray(counts_sigma, dtype=float)
    fig, ax, rax = _ratio_axes(title)
    hep.histplot(n / scale, edges, ax=ax, histtype="errorbar", yerr=err / scale, color="k", label="data")
    if background is None:
        reason = textwrap.fill(no_fit_reason, 60)
        for a in (ax, rax):
            a.text(0.5, 0.5, reason, transform=a.transAxes, ha="center", va="center", fontsize=11, color="tab:red")
    else:
        b = np.asarray(background, dtype=float)
        hep.histplot(b / scale, edges, ax=ax, color="tab:red", label=label)
        if background_sigma is not None:
            sig = np.asarray(background_sigma, dtype=float)
            ax.stairs((b + sig) / scale, edges, baseline=np.clip((b - sig) / scale, 1e-6, None), fill=True,
                      color="tab:red", alpha=0.3, label="fit uncertainty")
        if background_alt is not None:
            hep.histplot(np.asarray(background_alt) / scale, edges, ax=ax, color="tab:blue", ls="--", label="alternative")
        z = np.zeros_like(n)
        ok = b > 0
        z[ok] = z_observed(n[ok], b[ok], None if background_sigma is None else np.asarray(background_sigma)[ok])
        rax.stairs(z, edges, fill=True, color="tab:gray")
        rax.axhline(0.0, color="k", lw=0.8)
    if fit_mask is not None:
        for i in np.flatnonzero(~np.asarray(fit_mask, dtype=bool)):
            for a in (ax, rax):
                a.axvspan(edges[i], edges[i + 1], color="gold", alpha=0.2, lw=0)
    if window_gev is not None:
        ax.axvspan(window_gev[0] / 1000.0, window_gev[1] / 1000.0, color="tab:blue", alpha=0.15, lw=0,
                   label="tested window")
    d = n / scale
    if log and (d > 0).any():  # an empty spectrum stays linear (its panel says why it has no fit)
        ax.set_yscale("log")
        ax.set_ylim(0.5 * d[d > 0].min(), None)
    ax.set_ylabel(ylabel)
    rax.set_ylabel("significance")
    rax.set_xlabel(xlabel)
    experiment_label(ax, lumi_ipb)
    rax.set_ylim(-4, 4)
    ax.legend()
    return fig


def plot_bumphunt(
    edges_gev: np.ndarray,
    counts: np.ndarray,
    background: np.ndarray,
    result: BumpHuntResult,
    *,
    title: str | None = None,
    log: bool = True,
    xlabel: str = r"$m$ [TeV]",
    lumi_ipb: float | None = None,
) -> Figure:
    """Data over background with BumpHunter's most significant window and its significances."""
    edges = np.asarray(edges_gev, dtype=float) / 1000.0
    n = np.asarray(counts, dtype=float)
    b = np.asarray(background, dtype=float)
    scale, ylabel = per_bin_scale(edges_gev)
    fig, ax, rax = _ratio_axes(title)
    hep.histplot(n / scale, edges, ax=ax, histtype="errorbar", yerr=np.sqrt(n) / scale, color="k", label="data")
    hep.histplot(b / scale, edges, ax=ax, color="tab:red", label="background")
    lo, hi = edges[result.lo_bin], edges[result.hi_bin]
    label = f"window: local Z = {result.local_z:.2f}, global Z {'>' if result.global_p_is_bound else '='} {result.global_z:.2f}"
    for a in (ax, rax):
        a.axvspan(lo, hi, color="tab:blue", alpha=0.25, lw=0, label=label if a is ax else None)
    ok = b > 0
    z = np.zeros_like(n)
    z[ok] = z_observed(n[ok], b[ok])
    rax.stairs(z, edges, fill=True, color="tab:gray")
    rax.axhline(0.0, color="k", lw=0.8)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    rax.set_ylabel("significance")
    rax.set_xlabel(xlabel)
    experiment_label(ax, lumi_ipb)
    ax.legend()
    return fig


def plot_limits(
    points: Sequence[LimitPoint],
    *,
    scale: float = 1.0,
    ylabel: str = "95% CL upper limit [events]",
    title: str | None = None,
    xlabel: str = r"$m$ [TeV]",
    lumi_ipb: float | None = None,
) -> Figure:
    """Brazil band: observed and expected limits with +-1 and +-2 sigma bands versus mass.

    ``scale`` multiplies every limit (e.g. 1 / (luminosity x efficiency) for a cross section).
    """
    if not points:
        raise ValueError("plot_limits needs at least one LimitPoint")
    plt.style.use(hep.style.ATLAS)
    fig, ax = plt.subplots(figsize=(8, 6))
    m = np.array([p.mass_gev for p in points]) / 1000.0
    get = lambda name: scale * np.array([getattr(p, name) for p in points])  # noqa: E731
    ax.fill_between(m, get("minus2"), get("plus2"), color="#FFDF00", label=r"expected $\pm 2\sigma$")
    ax.fill_between(m, get("minus1"), get("plus1"), color="#00CC00", label=r"expected $\pm 1\sigma$")
    ax.plot(m, get("expected"), "k--", label="expected")
    ax.plot(m, get("observed"), "k-", marker="o", ms=3, label="observed")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    experiment_label(ax, lumi_ipb)
    if title:
        ax.set_title(title, fontsize=12)
    ax.legend()
    return fig
