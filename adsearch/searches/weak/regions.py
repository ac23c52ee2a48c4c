"""Sliding signal regions of the 2025 search: 600 GeV wide in 300 GeV steps, 600 GeV sidebands.

Each region is analysed in its own window of 30 bins of 60 GeV (sideband + signal region +
sideband, :func:`adsearch.stats.binning.window_edges`); neighbouring signal regions overlap by
half, so a resonance between two region centres is still fully contained in one.

>>> [r.signal_region_gev for r in sliding_regions()][:2]
[(2600.0, 3200.0), (2900.0, 3500.0)]
>>> len(sliding_regions()), sliding_regions()[-1].signal_region_gev
(7, (4400.0, 5000.0))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adsearch.stats.binning import window_edges

__all__ = ["SlidingRegion", "sliding_regions"]


@dataclass(frozen=True)
class SlidingRegion:
    """One signal region [lo, hi) with sidebands of ``sideband_gev`` on each side."""

    lo_gev: float
    hi_gev: float
    sideband_gev: float = 600.0
    bin_gev: float = 60.0

    def __post_init__(self) -> None:
        for width in (self.hi_gev - self.lo_gev, self.sideband_gev):
            if width <= 0 or abs(width / self.bin_gev - round(width / self.bin_gev)) > 1e-9:
                raise ValueError(f"signal region and sidebands must be positive multiples of {self.bin_gev} GeV")

    @property
    def signal_region_gev(self) -> tuple[float, float]:
        return float(self.lo_gev), float(self.hi_gev)

    @property
    def name(self) -> str:
        return f"SR {self.lo_gev / 1000:.1f}-{self.hi_gev / 1000:.1f} TeV"

    @property
    def edges_gev(self) -> np.ndarray:
        """The analysis window's bins: sideband + signal region + sideband."""
        n = int(round((self.hi_gev - self.lo_gev + 2 * self.sideband_gev) / self.bin_gev))
        return window_edges(self.lo_gev, self.hi_gev, n_bins=n, width_gev=self.bin_gev)

    @property
    def sr_bins(self) -> np.ndarray:
        """True for the bins of the signal region."""
        c = 0.5 * (self.edges_gev[1:] + self.edges_gev[:-1])
        return (c > self.lo_gev) & (c < self.hi_gev)

    def in_window(self, mjj_gev: np.ndarray) -> np.ndarray:
        e = self.edges_gev
        m = np.asarray(mjj_gev, float)
        return (m >= e[0]) & (m < e[-1])

    def in_signal_region(self, mjj_gev: np.ndarray) -> np.ndarray:
        m = np.asarray(mjj_gev, float)
        return (m >= self.lo_gev) & (m < self.hi_gev)

    def in_sidebands(self, mjj_gev: np.ndarray) -> np.ndarray:
        return self.in_window(mjj_gev) & ~self.in_signal_region(mjj_gev)


def sliding_regions(first_lo_gev: float = 2600.0, last_hi_gev: float = 5000.0, width_gev: float = 600.0,
                    step_gev: float = 300.0, sideband_gev: float = 600.0, bin_gev: float = 60.0) -> list[SlidingRegion]:
    """The published grid: [2.6, 3.2], [2.9, 3.5], ..., [4.4, 5.0] TeV."""
    n = int(np.floor((last_hi_gev - width_gev - first_lo_gev) / step_gev + 1e-9)) + 1
    return [SlidingRegion(first_lo_gev + i * step_gev, first_lo_gev + i * step_gev + width_gev, sideband_gev, bin_gev)
            for i in range(n)]
