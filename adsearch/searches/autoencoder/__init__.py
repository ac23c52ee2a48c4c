"""The unsupervised autoencoder search (ATLAS, lepton-triggered events) as one pipeline.

It sits on top of the store, the model-training workers and the statistics layer:
scores -> anomaly regions -> nine invariant-mass spectra per region -> fits, BumpHunter,
limits, Delta-Z for BSM benchmarks -> plots and a results summary.
"""

from __future__ import annotations

from typing import Any

from adsearch.searches.autoencoder.config import MASS_SPECTRA, AESearchConfig
from adsearch.searches.autoencoder.regions import AnomalyRegion, anomaly_regions

__all__ = ["MASS_SPECTRA", "AESearchConfig", "AnomalyRegion", "anomaly_regions", "run_ae_search", "SearchSummary"]


def __getattr__(name: str) -> Any:
    """``run_ae_search`` (the twin of ``adsearch ae search``) and ``SearchSummary``, imported on
    first use: the pipeline loads the statistics and plotting stack."""
    if name in ("run_ae_search", "SearchSummary"):
        from adsearch.searches.autoencoder import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'adsearch.searches.autoencoder' has no attribute {name!r}")
