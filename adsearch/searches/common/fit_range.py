"""The fitted range of a search spectrum: resolution binning from the spectrum's maximum.

The 5-parameter function describes the falling part of a mass spectrum, not its kinematic
turn-on; the range therefore starts at the bin of highest density and ends one bin past the
last populated bin. Shared by the spectrum analysis and the Delta-Z background fit.
"""

from __future__ import annotations

import numpy as np

from adsearch.stats.binning import resolution_binning

__all__ = ["fit_range_edges"]


def fit_range_edges(masses_gev: np.ndarray, lo_gev: float, hi_gev: float) -> np.ndarray:
    """Resolution binning cut to [spectrum maximum, one bin past the highest mass].

    >>> m = np.array([400.0, 410.0, 420.0, 900.0])
    >>> e = fit_range_edges(m, 300.0, 8000.0)
    >>> bool(e[0] <= 400.0 < e[1]) and bool(e[-2] > 900.0)
    True
    """
    edges = resolution_binning(lo_gev, hi_gev)
    counts, _ = np.histogram(masses_gev, bins=edges)
    if counts.sum() == 0:
        return edges
    density = counts / np.diff(edges)
    first = int(np.argmax(density))
    last = int(np.nonzero(counts)[0][-1]) + 2
    return edges[first : min(last, edges.size - 1) + 1]
