"""Limits by signal injection for the Y -> X H search: inject, redo everything (the VRNN
ensemble's training included, since an injected signal changes what the unsupervised networks
learn), set a limit, as the dijet searches' injection limits (:mod:`adsearch.searches.cwola.limits`).

For each injected cross-section sigma_inj the signal is injected into the background-only data
(seeded choice of its simulated events), the VRNN ensemble is retrained on that data, and in
every region (J_X > threshold, tau21, inclusive) the CLs upper limit sigma_CL on the signal is
set in the signal's m_X row from the region's data, the fitted m_Y background with its
uncertainty, and the signal's (m_X, m_Y) template scored by the same networks (pyhf-equivalent
profile likelihood, :func:`adsearch.stats.limits.upper_limit`). sigma_excluded =
max(sigma_CL, sigma_inj): a signal larger than the one injected would have changed the training
and the selection. Per region the limit is the smallest sigma_excluded of the scan; its point
also gives the expected limit and its +-1 / 2 sigma band.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adsearch.searches.common.injection import excluded_pb, smallest_excluded
from adsearch.searches.common.samples import (
    Sample,
    dataset_n_generated,
    injection_count,
)
from adsearch.searches.hx.config import HxSearchConfig
from adsearch.store import FeatureStore

__all__ = ["injection_scan", "limit_summary"]


def injection_scan(fs: FeatureStore, background: Sample, signals: dict[str, Sample], cfg: HxSearchConfig,
                   luminosity_ipb: float, client: Any = None) -> list[dict[str, Any]]:
    """One entry per (injected cross-section, region): observed / expected limits and the band (pb).

    ``background`` and ``signals``: every stored row (:func:`.pipeline.load_hx_sample`); the
    injection draws preselected signal events, ``n_injected`` counts those passing the H-candidate step."""
    from adsearch.searches.hx.pipeline import analyse_regions, candidates, score_samples, training_jets

    scan = cfg.limits
    assert scan is not None
    sig_all = signals[scan.signal]
    sig = candidates(sig_all)
    n_gen = dataset_n_generated(fs, scan.signal)
    points: list[dict[str, Any]] = []
    for k, xsec in enumerate(scan.xsec_pb):
        n_inj = injection_count(xsec, luminosity_ipb, sig_all.n_events, n_gen)
        data_all = background.with_injection(sig_all, n_inj, seed=cfg.seed + 7919 * (k + 1)) if n_inj else background
        data = candidates(data_all)
        n_inj = int(data.injected.sum())
        scores, _ = score_samples(data, {scan.signal: sig}, cfg, client, training_jets(data_all, cfg))
        regions = analyse_regions(fs, data, {scan.signal: sig}, scores, cfg, luminosity_ipb, tuple(scan.regions),
                                  hunt=False)
        for name, region in regions.items():
            s = region.sensitivities[0]
            selected = _selected(name, scores[data.name], data, cfg)
            points.append({"region": name, "xsec_injected_pb": float(xsec), "n_injected": int(n_inj),
                           "observed_pb": s.limit_observed_pb, "expected_pb": s.limit_expected_pb,
                           "band_pb": list(s.limit_band_pb), "efficiency": s.efficiency,
                           "qcd_efficiency": float(np.mean(selected[~data.injected])),
                           "excluded_pb": excluded_pb(s.limit_observed_pb, xsec)})
    return points


def _selected(region: str, score: np.ndarray, data: Sample, cfg: HxSearchConfig) -> np.ndarray:
    from adsearch.searches.hx.pipeline import region_masks

    return region_masks(score, data["tau21_x"], cfg)[region]


def limit_summary(points: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per region: the limit (smallest sigma_excluded) and, from the point that sets it, the
    expected limit and band.

    >>> pts = [{"region": "a", "excluded_pb": 2.0, "expected_pb": 1.5, "band_pb": [1, 1.2, 2, 2.5], "xsec_injected_pb": 0.5},
    ...        {"region": "a", "excluded_pb": 1.0, "expected_pb": 1.4, "band_pb": [1, 1.1, 1.9, 2.4], "xsec_injected_pb": 1.0}]
    >>> limit_summary(pts)["a"]["observed_pb"], limit_summary(pts)["a"]["set_at_injected_pb"]
    (1.0, 1.0)
    """
    out: dict[str, dict[str, Any]] = {}
    for region in dict.fromkeys(p["region"] for p in points):
        best = smallest_excluded(p for p in points if p["region"] == region)
        if best is None:
            out[region] = {"observed_pb": float("nan"), "expected_pb": float("nan"), "band_pb": [float("nan")] * 4,
                           "set_at_injected_pb": float("nan")}
            continue
        out[region] = {"observed_pb": best["excluded_pb"], "expected_pb": best["expected_pb"],
                       "band_pb": best["band_pb"], "set_at_injected_pb": best["xsec_injected_pb"]}
    return out
