"""The markdown summary of a CWoLa hunt: one row per region and selection, then the limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from adsearch.searches.cwola.pipeline import CWoLaResult

__all__ = ["markdown_summary"]


def _f(x: float, fmt: str = ".2f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt)


def markdown_summary(result: CWoLaResult) -> str:
    """Regions, selections, fitted functions, window counts and significances."""
    lines = [f"# CWoLa hunting ({result.region} region)", "",
             f"{result.n_data:,} events, L = {result.luminosity_ipb:g} pb^-1; injected: "
             + (", ".join(f"{k} {v}" for k, v in result.n_injected.items()) or "none"), "",
             "| region | SR [TeV] | SR events (injected) | selection | fit | fit-SB p | n (fit SR) | b (fit SR) | Z |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result.regions:
        for s in r.spectra:
            lines.append(
                f"| {r.index} | {r.signal_region_gev[0] / 1000:.2f}-{r.signal_region_gev[1] / 1000:.2f} | "
                f"{r.n_signal_region:,} ({r.n_injected_signal_region}) | {s.label} | {s.fit.function or 'failed'} | "
                f"{_f(s.fit.judge_p_value, '.3f')} | {s.n_window:.0f} | {_f(s.b_window, '.1f')} +- {_f(s.sigma_b_window, '.1f')} | "
                f"{_f(s.z)} |")
    for limit in result.limits:
        lines += ["", f"Limit on {limit['signal']} at efficiency {limit['efficiency']:g}: "
                  f"**{_f(limit['limit_pb'], '.3g')} pb** (smallest max(sigma_CL, sigma_inj) of the scan)"]
        for p in limit["points"]:
            lines.append(f"- injected {p['xsec_injected_pb']:g} pb ({p['n_injected']} events): sigma_CL "
                         f"{_f(p['observed_pb'], '.3g')} pb (expected {_f(p['expected_pb'], '.3g')}), excluded "
                         f"{_f(p['excluded_pb'], '.3g')} pb; region {p.get('region')}")
    return "\n".join(lines) + "\n"
