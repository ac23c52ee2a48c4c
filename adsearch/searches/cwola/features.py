"""CWoLa inputs from a dijet store: (m1, m2) mapped to their mJJ region's jet-mass ECDF.

The 2020 search maps each jet mass to the empirical CDF of the jet masses of its mJJ region,
pooled over both jets, so the features are ~uniform in every region and the classifier cannot
learn mJJ from them (no sculpting of the fitted spectrum). The ECDF needs the whole region,
so it runs on the loaded sample (after any injection), with the numba kernel of
:func:`adsearch.processors.ecdf.ecdf_in_regions`. Events outside the grid keep NaN.
"""

from __future__ import annotations

import numpy as np

from adsearch.processors.ecdf import ecdf_in_regions
from adsearch.searches.common.samples import Sample, load_sample
from adsearch.store import FeatureStore

__all__ = ["ID_COLUMNS", "DIJET_COLUMNS", "load_dijet", "ecdf_features"]

ID_COLUMNS = ("run", "luminosityBlock", "event")
DIJET_COLUMNS = ("mjj_gev", "mj1_gev", "mj2_gev", *ID_COLUMNS)


def load_dijet(store: FeatureStore, dataset: str, region: str = "search") -> Sample:
    """The dijet columns of ``dataset`` in the search (|dy| < 1.2) or validation region."""
    sample = load_sample(store, dataset, [*DIJET_COLUMNS, "is_validation"])
    keep = sample["is_validation"].astype(bool)
    return sample.subset(keep if region == "validation" else ~keep)


def ecdf_features(sample: Sample, edges_gev: list[float] | np.ndarray) -> np.ndarray:
    """(n, 2) float32: ECDF(m1), ECDF(m2) within each event's mJJ region (NaN outside).

    >>> s = Sample("x", {"mj1_gev": np.array([10.0, 30.0]), "mj2_gev": np.array([20.0, 40.0]),
    ...                  "mjj_gev": np.array([2000.0, 2100.0])})
    >>> ecdf_features(s, [1500.0, 2500.0]).tolist()
    [[0.25, 0.5], [0.75, 1.0]]
    """
    u1, u2 = ecdf_in_regions(sample["mj1_gev"], sample["mj2_gev"], sample["mjj_gev"], np.asarray(edges_gev, float))
    return np.stack([u1, u2], axis=1).astype(np.float32)
