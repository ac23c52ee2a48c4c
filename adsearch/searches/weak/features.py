"""Inputs of the 2025 search from a dijet store: jet masses and substructure, logit-preprocessed.

Feature sets as published, for both jets (mass-ordered, m1 >= m2, as the dijet processor stores
them): {M} = (m1, m2); {M, tau21} adds tau21 of both jets; {M, tau21, tau32} adds tau32. Masses
enter in TeV; the bounded ratios tau21, tau32 in [0, 1] are mapped by logit(x) (clipped to
[1e-4, 1 - 1e-4]) so the networks see unbounded, roughly Gaussian inputs instead of a pile-up at
the bounds. mJJ is the 2025 massless-jet definition (``mjj_massless_gev``) by default.
"""

from __future__ import annotations

import numpy as np

from adsearch.errors import ConfigError
from adsearch.searches.common.samples import Sample, load_sample
from adsearch.store import FeatureStore

__all__ = ["FEATURE_SETS", "ID_COLUMNS", "BOUNDED", "load_weak", "feature_matrix", "logit"]

ID_COLUMNS = ("run", "luminosityBlock", "event")
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "M": ("mj1_gev", "mj2_gev"),
    "M_tau21": ("mj1_gev", "mj2_gev", "tau21_j1", "tau21_j2"),
    "M_tau21_tau32": ("mj1_gev", "mj2_gev", "tau21_j1", "tau21_j2", "tau32_j1", "tau32_j2"),
}
BOUNDED = ("tau21_j1", "tau21_j2", "tau32_j1", "tau32_j2")
_EPS = 1e-4


def logit(x: np.ndarray) -> np.ndarray:
    """log(x / (1 - x)) with x clipped into [1e-4, 1 - 1e-4].

    >>> logit(np.array([0.5, 0.0, 1.0])).round(2).tolist()
    [0.0, -9.21, 9.21]
    """
    p = np.clip(np.asarray(x, float), _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


def load_weak(store: FeatureStore, dataset: str, region: str = "search", mjj_column: str = "mjj_massless_gev") -> Sample:
    """Every column the weak search reads, in the search (|dy| < 1.2) or validation region.

    The chosen mJJ definition is stored under ``mjj_gev`` of the returned sample.
    """
    columns = [mjj_column, *FEATURE_SETS["M_tau21_tau32"], *ID_COLUMNS, "is_validation"]
    sample = load_sample(store, dataset, list(dict.fromkeys(columns)))
    keep = sample["is_validation"].astype(bool)
    sample = sample.subset(keep if region == "validation" else ~keep)
    sample.columns["mjj_gev"] = np.asarray(sample.columns[mjj_column], float)
    return sample


def feature_matrix(sample: Sample, feature_set: str) -> np.ndarray:
    """(n, d) float32 inputs of ``feature_set``: masses in TeV, logit of the tau ratios.

    >>> s = Sample("x", {"mj1_gev": np.array([400.0]), "mj2_gev": np.array([80.0]),
    ...                  "tau21_j1": np.array([0.5]), "tau21_j2": np.array([0.5])})
    >>> feature_matrix(s, "M_tau21").tolist()
    [[0.4000000059604645, 0.07999999821186066, 0.0, 0.0]]
    """
    if feature_set not in FEATURE_SETS:
        raise ConfigError(f"unknown feature set {feature_set!r}; choose from {sorted(FEATURE_SETS)}")
    cols = []
    for name in FEATURE_SETS[feature_set]:
        v = np.asarray(sample[name], float)
        cols.append(logit(v) if name in BOUNDED else v / 1000.0)
    return np.stack(cols, axis=1).astype(np.float32)
