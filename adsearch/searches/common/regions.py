"""mJJ region grids: which events are signal region, sidebands, fit signal region or fit sidebands.

A grid is a list of mJJ boundaries. Region ``i`` is [edges[i], edges[i+1]); its sidebands are the
neighbouring regions i-1 and i+1 (2020 CWoLa) or fixed-width windows either side (2025), and its
fit signal region adds the adjacent halves of the neighbours (the 2020 fit's judged window).

>>> grid = MjjGrid.cwola_2020()
>>> grid.n_regions, grid.searched
(8, (1, 2, 3, 4, 5, 6))
>>> grid.signal_region_gev(1), grid.fit_signal_region_gev(1)
((2280.0, 2740.0), (2090.0, 3010.0))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CWOLA_2020_EDGES_GEV", "MjjGrid", "RegionMasks"]

#: mJJ boundaries of the 2020 CWoLa search (TeV in the paper): regions 1-6 are searched.
CWOLA_2020_EDGES_GEV: tuple[float, ...] = (1900.0, 2280.0, 2740.0, 3280.0, 3940.0, 4730.0, 5680.0, 6810.0, 8170.0)


@dataclass(frozen=True)
class RegionMasks:
    """Per-event masks of one searched region (``low``/``high``: the two sidebands)."""

    signal: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def sidebands(self) -> np.ndarray:
        return self.low | self.high

    @property
    def training(self) -> np.ndarray:
        """Events the region's classifiers see: signal region and both sidebands."""
        return self.signal | self.low | self.high

    def labels(self) -> np.ndarray:
        """CWoLa labels: 1 for signal-region events, 0 for sideband events (others: 0)."""
        return self.signal.astype(np.int8)

    def weights(self) -> np.ndarray:
        """Training weights: signal-region events 1; each sideband scaled to half the signal
        region's count, so the two sidebands weigh the same and together balance the SR.

        >>> m = RegionMasks(np.array([1, 1, 0, 0, 0], bool), np.array([0, 0, 1, 0, 0], bool),
        ...                 np.array([0, 0, 0, 1, 1], bool))
        >>> m.weights().tolist()
        [1.0, 1.0, 1.0, 0.5, 0.5]
        """
        w = self.signal.astype(np.float64)
        n_sr = float(self.signal.sum())
        for side in (self.low, self.high):
            if side.any():
                w[side] = 0.5 * n_sr / float(side.sum())
        return w


@dataclass(frozen=True)
class MjjGrid:
    """Contiguous mJJ regions with neighbour sidebands; ``searched``: the region indices tested."""

    edges_gev: tuple[float, ...]
    searched: tuple[int, ...]

    def __post_init__(self) -> None:
        e = np.asarray(self.edges_gev, dtype=float)
        if e.ndim != 1 or e.size < 4 or not np.all(np.diff(e) > 0):
            raise ValueError(f"mJJ edges must be >= 4 increasing values, got {self.edges_gev}")
        bad = [i for i in self.searched if not 1 <= i <= e.size - 3]
        if bad:
            raise ValueError(f"searched regions {bad} need a neighbour on both sides (1..{e.size - 3})")

    @classmethod
    def cwola_2020(cls) -> MjjGrid:
        """The 2020 grid: nine boundaries 1.90-8.17 TeV, regions 1-6 searched."""
        return cls(CWOLA_2020_EDGES_GEV, tuple(range(1, len(CWOLA_2020_EDGES_GEV) - 2)))

    @property
    def n_regions(self) -> int:
        return len(self.edges_gev) - 1

    def signal_region_gev(self, index: int) -> tuple[float, float]:
        return float(self.edges_gev[index]), float(self.edges_gev[index + 1])

    def fit_signal_region_gev(self, index: int) -> tuple[float, float]:
        """The signal region plus the adjacent halves of its two neighbours."""
        e = self.edges_gev
        lo = e[index] - 0.5 * (e[index] - e[index - 1])
        hi = e[index + 1] + 0.5 * (e[index + 2] - e[index + 1])
        return float(lo), float(hi)

    def region_of(self, mjj_gev: np.ndarray) -> np.ndarray:
        """Region index of each event; -1 outside the grid."""
        m = np.asarray(mjj_gev, dtype=float)
        idx = np.searchsorted(np.asarray(self.edges_gev), m, side="right") - 1
        idx[(idx < 0) | (idx >= self.n_regions) | ~np.isfinite(m)] = -1
        return idx

    def masks(self, index: int, mjj_gev: np.ndarray) -> RegionMasks:
        """Signal-region and sideband masks of region ``index`` for every event."""
        if index not in self.searched:
            raise ValueError(f"region {index} is not searched (searched: {self.searched})")
        r = self.region_of(mjj_gev)
        return RegionMasks(r == index, r == index - 1, r == index + 1)
