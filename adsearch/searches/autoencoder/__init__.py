"""The unsupervised autoencoder search (ATLAS, lepton-triggered events) as one pipeline.

It sits on top of the store, the model-training workers and the statistics layer:
scores -> anomaly regions -> nine invariant-mass spectra per region -> fits, BumpHunter,
limits, Delta-Z for BSM benchmarks -> plots and a results summary.
"""

from __future__ import annotations

from adsearch.searches.autoencoder.config import MASS_SPECTRA, AESearchConfig
from adsearch.searches.autoencoder.regions import AnomalyRegion, anomaly_regions

__all__ = ["MASS_SPECTRA", "AESearchConfig", "AnomalyRegion", "anomaly_regions"]
