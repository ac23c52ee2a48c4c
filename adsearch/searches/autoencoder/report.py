"""A results summary a physicist reads first: regions, the largest excesses, Delta-Z."""

from __future__ import annotations

from typing import Any

__all__ = ["markdown_summary"]


def markdown_summary(summary: Any) -> str:
    """Markdown tables of a :class:`~adsearch.searches.autoencoder.pipeline.SearchSummary`."""
    lines = [
        "# Autoencoder search: results",
        "",
        f"Luminosity {summary.luminosity_ipb:.4g} pb^-1, {summary.n_data} preselected data events"
        + (f", injected: {summary.n_injected}" if summary.n_injected else ", no injected signal") + ".",
        "",
        "## Anomaly regions",
        "",
        "| region | ln(MSE) threshold | events |",
        "|---|---|---|",
    ]
    lines += [f"| {r.label} | {r.threshold:.3f} | {r.n_selected} |" for r in summary.regions]
    lines += ["", "## Spectra (BumpHunter with look-elsewhere effect)", "",
              "| region | spectrum | events | fit p-value | window [GeV] | local Z | global Z | status |",
              "|---|---|---|---|---|---|---|---|"]
    for s in summary.spectra:
        bh, fit = s.bumphunt, s.fit
        window = f"{bh.lo_gev:.0f}-{bh.hi_gev:.0f}" if bh else "-"
        lines.append(
            f"| {s.region} | {s.spectrum} | {s.n_events} | {fit.p_value:.3f} | {window} | "
            f"{bh.local_z:.2f} | {bh.global_z:.2f}{'+' if bh.global_p_is_bound else ''} | {s.status} |"
            if bh and fit else f"| {s.region} | {s.spectrum} | {s.n_events} | - | - | - | - | {s.status} |"
        )
    lines += ["", f"Largest global significance: {summary.max_global_z:.2f} sigma.", ""]
    if summary.sensitivity:
        lines += ["## Benchmark sensitivity (Delta-Z)", "",
                  "| benchmark | spectrum | peak [GeV] | region | s, b (presel) | Z presel | s, b (region) | Z region | Delta-Z |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in summary.sensitivity:
            lines.append(
                f"| {p.benchmark} | {p.spectrum} | {p.mean_gev:.0f} +- {p.sigma_gev:.0f} | {p.region} | "
                f"{p.s_presel:.1f}, {p.b_presel:.0f} | {p.z_presel:.2f} | {p.s_region:.1f}, {p.b_region:.0f} | "
                f"{p.z_region:.2f} | {p.delta_z_percent:+.0f}% |"
            )
    lines += ["", "## Timings (s)", ""] + [f"- {k}: {v:.1f}" for k, v in summary.timings_s.items()]
    return "\n".join(lines) + "\n"
