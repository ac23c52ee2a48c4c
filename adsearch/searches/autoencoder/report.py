"""A results summary a physicist reads first: regions, the largest excesses, systematics, Delta-Z."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["markdown_summary", "systematics_table"]


def systematics_table(spectra: list[Any]) -> list[str]:
    """Markdown rows: per limit spectrum and width, the median over the measured mass points of
    each systematic's rise of the expected limit alone, and of all together."""
    rows: list[str] = []
    names: list[str] = []
    entries = []
    for s in spectra:
        for width, points in s.limits.items():
            measured = [p for p in points if p.get("expected_no_systematics")]
            if not measured:
                continue
            impact = {k: float(np.median([p["impact"][k] for p in measured if k in p["impact"]]))
                      for k in measured[0]["impact"]}
            total = float(np.median([p["expected"] / p["expected_no_systematics"] - 1.0 for p in measured]))
            names += [k for k in impact if k not in names]
            entries.append((s.region, s.spectrum, width, len(measured), impact, total))
    if not entries:
        return rows
    rows += ["## Systematic uncertainties: rise of the expected limit (median over mass points)", "",
             "| region | spectrum | width | masses | " + " | ".join(names) + " | all |",
             "|---|---|---|---|" + "---|" * (len(names) + 1)]
    for region, spectrum, width, n, impact, total in entries:
        cells = [f"{100 * impact[k]:+.1f}%" if k in impact else "-" for k in names]
        rows.append(f"| {region} | {spectrum} | {width} | {n} | " + " | ".join(cells) + f" | {100 * total:+.1f}% |")
    return rows + [""]


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
    lines += ["", f"Largest global significance: {summary.max_global_z:.2f} sigma (BumpHunter null: every "
              "pseudo-experiment refitted, as the data).", ""]
    lines += systematics_table(summary.spectra)
    if summary.sensitivity:
        lines += ["## Benchmark sensitivity (Delta-Z)", "",
                  "b: the background fit's integral over the +-1 sigma window (function in brackets where "
                  "the 5-parameter fit was impossible).", "",
                  "| benchmark | spectrum | peak [GeV] | region | s, b (presel) | Z presel | s, b (region) | Z region | Delta-Z |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in summary.sensitivity:
            lines.append(
                f"| {p.benchmark} | {p.spectrum} | {p.mean_gev:.0f} +- {p.sigma_gev:.0f} | {p.region} | "
                f"{p.s_presel:.1f}, {p.b_presel:.1f} | {p.z_presel:.2f} | {p.s_region:.1f}, {p.b_region:.1f}"
                f"{'' if p.b_function_region == 'five_param' else f' ({p.b_function_region})'} | "
                f"{p.z_region:.2f} | {p.delta_z_percent:+.0f}% |"
            )
    lines += ["", "## Timings (s)", ""] + [f"- {k}: {v:.1f}" for k, v in summary.timings_s.items()]
    return "\n".join(lines) + "\n"
