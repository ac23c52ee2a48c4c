"""Signal-region target masses for the flow templates: drawn from the sideband mJJ fit.

As published for CURTAINS: the sideband mJJ spectrum of the window is fitted with
p1 (1 - z)^p2 z^p3 (z = mJJ / sqrt(s); the ``three_param`` function, p3 with the opposite sign
convention), the signal region masked, and the target masses are drawn from the fitted density
inside the signal region (inverse CDF on a fine grid). The fitted signal-region yield is
returned as well: the CATHODE-style template samples m times that many events.

>>> from adsearch.searches.weak.regions import SlidingRegion
>>> rng = np.random.default_rng(0)
>>> m = 1900.0 * (1.0 - rng.random(200000)) ** (-1.0 / 5.0)
>>> r = SlidingRegion(2600.0, 3200.0)
>>> t = target_masses(m[r.in_sidebands(m)], r, 1000, seed=1)
>>> bool(t.masses_gev.min() >= 2600.0 and t.masses_gev.max() < 3200.0)
True
>>> bool(abs(t.expected_sr / r.in_signal_region(m).sum() - 1.0) < 0.05)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adsearch import SQRT_S_GEV
from adsearch.errors import AdsearchError
from adsearch.searches.weak.regions import SlidingRegion
from adsearch.stats.fitting import FitResult, fit_spectrum
from adsearch.stats.functions import get_function, x_of_mass

__all__ = ["TargetMasses", "target_masses"]

MASS_FUNCTION = "three_param"


@dataclass
class TargetMasses:
    """Drawn masses, the fitted signal-region yield and the sideband fit itself."""

    masses_gev: np.ndarray
    expected_sr: float
    fit: FitResult


def target_masses(mjj_sb_gev: np.ndarray, region: SlidingRegion, n: int, seed: int) -> TargetMasses:
    """``n`` masses in the signal region from the p1 (1-z)^p2 z^p3 fit of the sideband spectrum."""
    edges = region.edges_gev
    counts = np.histogram(np.asarray(mjj_sb_gev, float), bins=edges)[0].astype(float)
    fit = fit_spectrum(counts, edges, MASS_FUNCTION, mask=~region.sr_bins)
    if not fit.converged:
        raise AdsearchError(f"{region.name}: the sideband mJJ fit for the template masses failed ({fit.message})")
    grid = np.linspace(x_of_mass(region.lo_gev), x_of_mass(region.hi_gev), 2049)
    density = get_function(MASS_FUNCTION).density(grid, fit.params)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    u = np.random.default_rng(seed).random(int(n)) * cdf[-1]
    masses = np.interp(u, cdf, grid) * SQRT_S_GEV
    masses = np.clip(masses, region.lo_gev, np.nextafter(region.hi_gev, region.lo_gev))
    return TargetMasses(masses, float(fit.expected[region.sr_bins].sum()), fit)
