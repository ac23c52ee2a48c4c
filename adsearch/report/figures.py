"""The report's figures, all drawn by :mod:`adsearch.stats.plots`: one spectrum figure per
spectrum (fitted or not: an unfitted one says why) and one Brazil band per limit scan.

A report holds tens of figures (the autoencoder's 27 spectra per pass, hx's 30) at ~1 s each, so
with a client they are drawn as Dask tasks (:func:`adsearch.cluster.run_tasks`); the workers
return the files' bytes and this process writes them, so the workers need no shared disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adsearch.report.records import LimitRecord, SearchRecords, SpectrumRecord
from adsearch.stats.limits import LimitPoint

__all__ = ["write_figures", "limit_points"]


def limit_points(limit: LimitRecord) -> list[LimitPoint]:
    """The scan as :class:`~adsearch.stats.limits.LimitPoint` objects (what plot_limits draws)."""
    return [LimitPoint(float(m), float(s), limit.width_fraction, float(o), float(e), float(m1), float(p1), float(m2),
                       float(p2), "report", float(w[0]), float(w[1]), 1.0)
            for m, s, o, e, m1, p1, m2, p2, w in zip(limit.mass_gev, limit.sigma_gev, limit.observed, limit.expected,
                                                      limit.minus1, limit.plus1, limit.minus2, limit.plus2,
                                                      limit.window_gev)]


def _spectrum_figure(spec: SpectrumRecord, lumi_ipb: float, dpi: int) -> dict[str, bytes]:
    """PNG (and PDF for a fitted spectrum: for papers and talks; an unfitted one says why) bytes."""
    from adsearch.stats.plots import plot_spectrum_fit, render_figure

    z = "" if spec.z is None else f", {spec.z_label} = {spec.z:.2f}"
    fig = plot_spectrum_fit(
        spec.edges_gev, spec.counts, spec.background if spec.fitted else None, spec.background_sigma,
        background_alt=spec.background_alt, fit_mask=spec.fit_mask, label=f"{spec.fit_function} fit",
        title=spec.title + z, xlabel=f"${spec.observable}$ [TeV]", lumi_ipb=lumi_ipb,
        counts_sigma=spec.counts_sigma, window_gev=spec.window_gev if spec.fitted else None,
        no_fit_reason=f"no fit: {spec.status}")
    return render_figure(fig, dpi, ("png", "pdf") if spec.fitted else ("png",))


def _limit_figure(limit: LimitRecord, lumi_ipb: float, dpi: int) -> dict[str, bytes]:
    from adsearch.stats.plots import plot_limits, render_figure

    fig = plot_limits(limit_points(limit), title=limit.title, lumi_ipb=lumi_ipb,
                      ylabel="95% CL upper limit on signal events")
    return render_figure(fig, dpi)


def _figure_task(kind: str, item: Any, lumi_ipb: float, dpi: int) -> dict[str, bytes]:
    return (_spectrum_figure if kind == "spectrum" else _limit_figure)(item, lumi_ipb, dpi)


def write_figures(records: SearchRecords, report_dir: str | Path, dpi: int = 150, client: Any = None) -> dict[str, str]:
    """Write ``figures/<key>.png`` (and ``.pdf`` for fitted spectra and limits); returns {key: png path}.
    ``client``: draw them on its workers (default: here)."""
    from adsearch.cluster import run_tasks

    root = Path(report_dir) / "figures"
    root.mkdir(parents=True, exist_ok=True)
    items = [("spectrum", s.key, s) for s in records.spectra] + [("limit", lim.key, lim) for lim in records.limits]
    rendered = run_tasks(_figure_task, [(kind, item, records.luminosity_ipb, dpi) for kind, _, item in items], client)
    out: dict[str, str] = {}
    for (_, key, _), files in zip(items, rendered):
        for ext, data in files.items():
            (root / f"{key}.{ext}").write_bytes(data)
        out[key] = f"figures/{key}.png"
    return out
