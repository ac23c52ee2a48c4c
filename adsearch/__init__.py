"""adsearch: ATLAS-style anomaly-detection resonance searches end to end.

The package is one import namespace whose subpackages mirror the repository's folders:
``adsearch.generator`` (Pythia 8 + FastJet samples), ``adsearch.processors`` (coffea selections
and numba kernels), ``adsearch.models`` (Keras training workers), ``adsearch.stats`` (fits,
BumpHunter, pyhf). Data flows one way: processors -> store -> models -> store -> stats.
"""

from __future__ import annotations

__all__ = ["SQRT_S_GEV", "__version__"]

__version__ = "0.1.0"

#: Centre-of-mass energy of the LHC Run 2 in GeV; every ``x = m / sqrt(s)`` uses it.
SQRT_S_GEV: float = 13000.0
