"""The injection-limit rule the CWoLa, weak and Y -> X H searches share.

A limit from injecting sigma_inj and rerunning the chain (training included) excludes
sigma_excluded = max(sigma_CL, sigma_inj): a signal larger than the one injected would have
changed what the networks learned and selected. The limit of a scan is its smallest
sigma_excluded; a point without a finite CLs limit excludes nothing.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

__all__ = ["excluded_pb", "smallest_excluded"]


def excluded_pb(observed_pb: float, injected_pb: float) -> float:
    """sigma_excluded of one scan point (NaN when the CLs limit is not finite).

    >>> excluded_pb(0.4, 1.0), excluded_pb(2.5, 1.0), math.isnan(excluded_pb(float("inf"), 1.0))
    (1.0, 2.5, True)
    """
    return max(float(observed_pb), float(injected_pb)) if math.isfinite(observed_pb) else float("nan")


def smallest_excluded(points: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The point with the smallest finite ``excluded_pb`` (None when no point has one).

    >>> smallest_excluded([{"excluded_pb": 2.0}, {"excluded_pb": float("nan")}, {"excluded_pb": 1.0}])
    {'excluded_pb': 1.0}
    """
    finite = [p for p in points if math.isfinite(p["excluded_pb"])]
    return min(finite, key=lambda p: p["excluded_pb"]) if finite else None
