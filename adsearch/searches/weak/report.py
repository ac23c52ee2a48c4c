"""summary.md of the weak search: one row per (signal region, feature set, selection)."""

from __future__ import annotations

import math

from adsearch.searches.weak.pipeline import WeakResult

__all__ = ["markdown_summary"]


def _f(x: float, fmt: str = ".1f") -> str:
    return "-" if not math.isfinite(x) else format(x, fmt)


def markdown_summary(result: WeakResult) -> str:
    """A markdown table of every window's merged signal-region bin: observed, fitted, Z."""
    lines = [f"# Weak search ({result.template} template, {result.region} region)", "",
             f"{result.n_data} data events, L = {result.luminosity_ipb:.4g} pb^-1; injected: "
             + (", ".join(f"{k} {v}" for k, v in result.n_injected.items()) or "none"), "",
             "| SR (TeV) | features | selection | N_SR | B_SR | fit sd | ensemble sd | Z | validated | Z corrected | fit |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for w in result.windows:
        lo, hi = w.signal_region_gev
        for s in w.spectra:
            fit = f"{s.fit.function} ({int(s.fit.fit_mask.sum())} bins)" if s.fit.success else "rejected"
            lines.append(f"| {lo / 1000:.1f}-{hi / 1000:.1f} | {w.feature_set} | {s.label} | {_f(s.n_sr)} | "
                         f"{_f(s.b_sr)} | {_f(s.sigma_fit_sr)} | {_f(s.sigma_ensemble_sr)} | {_f(s.z, '.2f')} | "
                         f"{_validated(s.validation, s.validated)} | {_f(s.z_corrected, '.2f')} | {fit} |")
    lines += ["", "A region's Z is reported only where every validation sample closes (median Z < 1 and "
              "spread < 1 over >= 10 instances); Z corrected = Z minus the fitted DOWN-UP-SAMPLING mean."]
    for name, note in result.validation.get("samples", {}).items():
        lines.append(f"- {name}: " + (f"{note['instances']} instances" if note.get("instances") else note.get("reason", "")))
    closure = result.validation.get("nonclosure", {})
    if closure and not closure.get("applied"):
        lines.append(f"- non-closure: {closure.get('reason')}")
    return "\n".join(lines) + "\n"


def _validated(verdicts: dict[str, dict[str, object]], validated: bool | None) -> str:
    if validated is None:
        return "not run"
    detail = ", ".join(f"{k} {_f(float(v['median_z']), '.2f')}/{_f(float(v['spread_z']), '.2f')}"  # type: ignore[arg-type]
                       for k, v in verdicts.items())
    return ("yes" if validated else "no") + (f" ({detail})" if detail else "")
