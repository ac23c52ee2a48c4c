"""The 2025 validation rule: a signal region is reported only if its signal-free instances close.

Each validation sample (LARGE |dY|, MONTE CARLO, DOWN-UP-SAMPLING) is run through the whole
chain in >= 10 instances; a (signal region, feature set, working point) passes when, over those
instances, the median Z < 1 and the spread (sd) of Z < 1. The instances' generation (the
DOWN-UP-SAMPLING flow-matching model in particular) is not part of this module.

>>> passes_validation(np.full(10, 0.5) + np.linspace(-0.2, 0.2, 10))
True
>>> passes_validation(np.linspace(0.0, 4.0, 10))
False
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_INSTANCES", "passes_validation", "validation_summary"]

MIN_INSTANCES = 10


def validation_summary(z_instances: np.ndarray) -> tuple[float, float]:
    """(median, sd) of the finite Z values of the instances; NaN for fewer than 10 of them."""
    z = np.asarray(z_instances, float)
    z = z[np.isfinite(z)]
    if z.size < MIN_INSTANCES:
        return float("nan"), float("nan")
    return float(np.median(z)), float(np.std(z, ddof=1))


def passes_validation(z_instances: np.ndarray, max_median: float = 1.0, max_spread: float = 1.0) -> bool:
    """True when >= 10 finite instances have median Z < ``max_median`` and sd < ``max_spread``."""
    median, spread = validation_summary(z_instances)
    return bool(np.isfinite(median) and median < max_median and spread < max_spread)
