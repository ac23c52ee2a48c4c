"""Seeded initial weights for the hand-built networks (dense classifiers, flows, flow matching, VRNN).

Keras draws an unseeded initializer's seed from Python's global ``random`` (OS entropy per
process), so the same config gave other weights in every Dask worker; drawing the kernels from an
explicit numpy generator makes a run reproducible from its seed alone.

>>> w = glorot_uniform(np.random.default_rng(0), 3, 5)
>>> w.shape, w.dtype, bool(np.abs(w).max() <= np.sqrt(6.0 / 8))
((3, 5), dtype('float32'), True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["glorot_uniform"]


def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """A (fan_in, fan_out) kernel, uniform in +-sqrt(6 / (fan_in + fan_out)): Keras' default."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
