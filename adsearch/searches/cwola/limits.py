"""Limits by signal injection (2020): inject, redo everything (training included), set a limit.

For each injected cross-section sigma_inj the signal is injected ``n_samplings`` times (different
random choices of its events), the regions holding the signal are rerun and the sampling of median
performance (median fit-signal-region significance at the tightest efficiency) is kept. Its
selected spectrum gives a profile-likelihood CLs upper limit sigma_CL on the signal cross-section,
with the signal's mJJ template and selection efficiency from the simulated signal events scored by
the same networks; sigma_excluded = max(sigma_CL, sigma_inj), because a signal larger than the one
injected would have changed the selection. The limit is the smallest sigma_excluded of the scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adsearch.searches.common.injection import excluded_pb, smallest_excluded
from adsearch.searches.common.regions import MjjGrid
from adsearch.searches.common.samples import Sample, dataset_n_generated, injection_count
from adsearch.searches.common.spectrum import window_mask
from adsearch.searches.cwola.config import CWoLaSearchConfig
from adsearch.searches.cwola.hunt import RegionResult
from adsearch.stats.likelihood import LikelihoodInputs
from adsearch.stats.limits import upper_limit
from adsearch.store import FeatureStore

__all__ = ["cross_section_limit", "injection_scan", "signal_masses_gev", "signal_region_of"]


def signal_masses_gev(name: str) -> dict[str, float]:
    """(mA, mB, mC) from a benchmark name ``..._<mA>_<mB>_<mC>``; empty when it has none.

    >>> signal_masses_gev("wprime_3000_400_80")
    {'m_a_gev': 3000.0, 'm_b_gev': 400.0, 'm_c_gev': 80.0}
    """
    import re

    match = re.search(r"_(\d+)_(\d+)_(\d+)$", name)
    return {} if match is None else dict(zip(("m_a_gev", "m_b_gev", "m_c_gev"), map(float, match.groups())))


def signal_region_of(signal: Sample, grid: MjjGrid) -> int:
    """The searched region holding the signal's median mJJ."""
    index = int(grid.region_of(np.array([np.median(signal["mjj_gev"])]))[0])
    if index not in grid.searched:
        raise ValueError(f"the signal's median mJJ lies in region {index}, which is not searched {grid.searched}")
    return index


def cross_section_limit(region: RegionResult, signal: str, efficiency: float, pb_per_mc_event: float) -> dict[str, float]:
    """CLs 95% upper limit (pb) from one region's selected spectrum, in its fit signal region."""
    label = f"{efficiency:g}"
    spectrum = region.spectra[0] if efficiency >= 1.0 else region.spectrum(efficiency)
    fit = spectrum.fit
    template = region.signal_templates[signal][label] * pb_per_mc_event  # events per pb
    win = window_mask(spectrum.edges_gev, spectrum.window_gev)
    if not fit.success or fit.fit is None or template[win].sum() <= 0:
        return {"observed_pb": float("nan"), "expected_pb": float("nan"), "method": "none"}
    inputs = LikelihoodInputs.make(spectrum.counts, template, np.maximum(fit.background, 1e-3),
                                   fit.fit.count_covariance, select=win)
    res = upper_limit(inputs)
    return {"observed_pb": res.observed, "expected_pb": res.expected, "minus1_pb": res.minus1,
            "plus1_pb": res.plus1, "method": res.method}


def injection_scan(
    store: FeatureStore, background: Sample, signals: dict[str, Sample], config: CWoLaSearchConfig,
    luminosity_ipb: float, client: Any | None, *, progress: bool = True,
) -> list[dict[str, Any]]:
    """One entry per (efficiency) with the scan points and the resulting limit (pb)."""
    from adsearch.searches.cwola.pipeline import run_regions

    scan = config.limits
    assert scan is not None
    sig = signals[scan.signal]
    n_gen = dataset_n_generated(store, scan.signal)
    grid = MjjGrid(tuple(config.mjj_edges_gev), tuple(config.searched_regions))
    regions = scan.regions or [signal_region_of(sig, grid)]
    pb_per_mc_event = luminosity_ipb / n_gen
    tight = min(config.efficiencies)
    points: list[dict[str, Any]] = []
    for k, xsec in enumerate(scan.xsec_pb):
        n_inj = injection_count(xsec, luminosity_ipb, sig.n_events, n_gen)
        runs = []
        for s in range(scan.n_samplings):
            data = background.with_injection(sig, n_inj, seed=config.seed + 7919 * (k + 1) + 104729 * s)
            results = run_regions(data, {scan.signal: sig}, config, regions, client, progress=progress,
                                  description=f"injection {xsec:g} pb, sampling {s + 1}/{scan.n_samplings}")
            z = max(r.spectrum(tight).z if np.isfinite(r.spectrum(tight).z) else -1.0 for r in results)
            runs.append((z, s, results))
        runs.sort(key=lambda item: (item[0], item[1]))
        z_med, s_med, results = runs[len(runs) // 2]
        for eff in (1.0, *config.efficiencies):
            best = min((cross_section_limit(r, scan.signal, eff, pb_per_mc_event) | {"region": r.index} for r in results),
                       key=lambda d: d["observed_pb"] if np.isfinite(d["observed_pb"]) else np.inf)
            points.append({"xsec_injected_pb": xsec, "n_injected": n_inj, "efficiency": eff, "sampling": s_med,
                           "z_tight_samplings": [r[0] for r in runs], **best,
                           "excluded_pb": excluded_pb(best["observed_pb"], xsec)})
    out = []
    for eff in (1.0, *config.efficiencies):
        rows = [p for p in points if p["efficiency"] == eff]
        chosen = smallest_excluded(rows)
        out.append({"signal": scan.signal, **signal_masses_gev(scan.signal), "efficiency": eff,
                    "limit_pb": chosen["excluded_pb"] if chosen else float("nan"),
                    "points": rows})
    return out
