"""The report's figures, all drawn by :mod:`adsearch.stats.plots`: one spectrum figure per
spectrum (fitted or not: an unfitted one says why) and one Brazil band per limit scan."""

from __future__ import annotations

from pathlib import Path

from adsearch.report.records import LimitRecord, SearchRecords
from adsearch.stats.limits import LimitPoint
from adsearch.stats.plots import plot_limits, plot_spectrum_fit, save_figure

__all__ = ["write_figures", "limit_points"]


def limit_points(limit: LimitRecord) -> list[LimitPoint]:
    """The scan as :class:`~adsearch.stats.limits.LimitPoint` objects (what plot_limits draws)."""
    return [LimitPoint(float(m), float(s), limit.width_fraction, float(o), float(e), float(m1), float(p1), float(m2),
                       float(p2), "report", float(w[0]), float(w[1]), 1.0)
            for m, s, o, e, m1, p1, m2, p2, w in zip(limit.mass_gev, limit.sigma_gev, limit.observed, limit.expected,
                                                      limit.minus1, limit.plus1, limit.minus2, limit.plus2,
                                                      limit.window_gev)]


def write_figures(records: SearchRecords, report_dir: str | Path, dpi: int = 150) -> dict[str, str]:
    """Write ``figures/<key>.png`` (and ``.pdf`` for fitted spectra and limits); returns {key: png path}."""
    root = Path(report_dir)
    out: dict[str, str] = {}
    for spec in records.spectra:
        z = "" if spec.z is None else f", {spec.z_label} = {spec.z:.2f}"
        fig = plot_spectrum_fit(
            spec.edges_gev, spec.counts, spec.background if spec.fitted else None, spec.background_sigma,
            background_alt=spec.background_alt, fit_mask=spec.fit_mask, label=f"{spec.fit_function} fit",
            title=spec.title + z, xlabel=f"${spec.observable}$ [TeV]", lumi_ipb=records.luminosity_ipb,
            counts_sigma=spec.counts_sigma, window_gev=spec.window_gev if spec.fitted else None,
            no_fit_reason=f"no fit: {spec.status}")
        # PDFs (for papers and talks) of the fitted spectra; an unfitted one is a PNG that says why
        save_figure(fig, root / "figures" / spec.key, dpi=dpi, formats=("png", "pdf") if spec.fitted else ("png",))
        out[spec.key] = f"figures/{spec.key}.png"
    for limit in records.limits:
        fig = plot_limits(limit_points(limit), title=limit.title, lumi_ipb=records.luminosity_ipb,
                          ylabel="95% CL upper limit on signal events")
        save_figure(fig, root / "figures" / limit.key, dpi=dpi)
        out[limit.key] = f"figures/{limit.key}.png"
    return out
