"""Anomaly regions: the highest-scoring events, sized by a visible cross-section.

ATLAS defines three regions by the number of selected events, sigma_vis x L for
sigma_vis = 10, 1, 0.1 pb (at 140 fb^-1 the 10 pb region kept 1.4M events); the thresholds
are the anomaly scores that select exactly those counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["AnomalyRegion", "anomaly_regions", "region_label"]


@dataclass(frozen=True)
class AnomalyRegion:
    """Events with ``score > threshold``; ``xsec_pb`` is None for explicit thresholds."""

    label: str
    threshold: float
    n_selected: int
    xsec_pb: float | None
    saturated: bool = False

    def select(self, scores: np.ndarray) -> np.ndarray:
        """Boolean mask of the events in this region."""
        return np.asarray(scores) > self.threshold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def region_label(xsec_pb: float) -> str:
    """'10pb', '1pb', '0.1pb'."""
    return f"{xsec_pb:g}pb"


def anomaly_regions(
    scores: np.ndarray,
    luminosity_ipb: float | None = None,
    xsec_pb: tuple[float, ...] | list[float] = (10.0, 1.0, 0.1),
    thresholds: list[float] | None = None,
) -> list[AnomalyRegion]:
    """Regions from visible cross-sections (count = round(sigma x L)) or explicit thresholds.

    The threshold is placed halfway between the N-th and (N+1)-th highest score, so exactly N
    events pass (ties at the boundary are the only exception, and are reported by
    ``n_selected``). A region asking for more events than there are is ``saturated``.

    >>> regions = anomaly_regions(np.arange(100.0), luminosity_ipb=2.0, xsec_pb=[5.0])
    >>> regions[0].n_selected, regions[0].threshold
    (10, 89.5)
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{int(np.count_nonzero(~np.isfinite(s)))} anomaly scores are NaN or inf")
    if thresholds is not None:
        return [
            AnomalyRegion(f"lnL>{t:g}", float(t), int(np.count_nonzero(s > t)), None) for t in thresholds
        ]
    if luminosity_ipb is None or luminosity_ipb <= 0:
        raise ValueError("regions by visible cross-section need a positive luminosity_ipb")
    desc = np.sort(s)[::-1]
    regions = []
    for xs in xsec_pb:
        n_target = int(round(xs * luminosity_ipb))
        if n_target >= desc.size:
            regions.append(AnomalyRegion(region_label(xs), -np.inf, int(desc.size), float(xs), True))
            continue
        if n_target == 0:
            threshold = float(desc[0]) + 1.0
        else:
            threshold = 0.5 * (desc[n_target - 1] + desc[n_target])
        regions.append(
            AnomalyRegion(region_label(xs), float(threshold), int(np.count_nonzero(s > threshold)), float(xs))
        )
    return regions
