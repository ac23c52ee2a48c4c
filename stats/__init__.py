"""adsearch.stats: histograms in, plain typed results out.

One statistics layer for the three searches; modules follow the analysis' steps:

- :mod:`~adsearch.stats.functions`   the five background functions, by name (x = m / 13 TeV)
- :mod:`~adsearch.stats.binning`     resolution binning, fixed binnings, signal mass points
- :mod:`~adsearch.stats.fitting`     binned Poisson likelihood fits (iminuit), ``fit_spectrum``
- :mod:`~adsearch.stats.strategies`  fit strategies A (2020 CWoLa), B (2025), C (AE search)
- :mod:`~adsearch.stats.bumphunter`  BumpHunter with look-elsewhere effect, ``bump_hunt``
- :mod:`~adsearch.stats.significance` Asimov / observed Z, window Z, Delta-Z
- :mod:`~adsearch.stats.likelihood`  pyhf models and workspaces, ``discovery_significance``
- :mod:`~adsearch.stats.profile`     the same likelihood with exact gradients (fast asymptotic CLs)
- :mod:`~adsearch.stats.limits`      CLs upper limits (asymptotic and toys), ``gaussian_limits``
- :mod:`~adsearch.stats.closure`     spurious signal and the 2025 non-closure correction
- :mod:`~adsearch.stats.plots`       mplhep figures (spectrum + fit, BumpHunter, Brazil band)

Submodules are imported on use (``from adsearch.stats import fitting``), so importing the
package does not pull in pyhf or matplotlib.
"""

from __future__ import annotations

__all__ = [
    "binning",
    "bumphunter",
    "closure",
    "fitting",
    "functions",
    "likelihood",
    "limits",
    "plots",
    "profile",
    "significance",
    "strategies",
]
