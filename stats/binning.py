"""Mass binnings of the three searches and the detector mass-resolution model behind them.

The autoencoder search bins the invariant mass with widths that follow the mass resolution,
so a narrow resonance always spans about the same number of bins. The resolution model is
``sigma(m) = sqrt(S^2 m + C^2 m^2)`` (stochastic and constant terms, GeV); by default S and C
are solved so that sigma is 16 GeV at 0.3 TeV and 150 GeV at 8 TeV.

>>> edges = resolution_binning()
>>> float(edges[0]), float(edges[-1])
(300.0, 8000.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ResolutionModel",
    "DEFAULT_RESOLUTION",
    "mass_resolution_gev",
    "resolution_binning",
    "cwola_2020_edges",
    "window_edges",
    "mass_points",
    "validate_edges",
    "from_hist",
]


@dataclass(frozen=True)
class ResolutionModel:
    """sigma(m) = sqrt(stochastic^2 * m + constant^2 * m^2), m and sigma in GeV."""

    stochastic_sqrt_gev: float
    constant: float

    @classmethod
    def from_widths(
        cls, m_lo_gev: float, sigma_lo_gev: float, m_hi_gev: float, sigma_hi_gev: float
    ) -> ResolutionModel:
        """Solve S and C so sigma passes through the two given (mass, width) points."""
        a = np.array([[m_lo_gev, m_lo_gev**2], [m_hi_gev, m_hi_gev**2]])
        s2, c2 = np.linalg.solve(a, [sigma_lo_gev**2, sigma_hi_gev**2])
        if s2 < 0 or c2 < 0:
            raise ValueError(
                f"no resolution model sqrt(S^2 m + C^2 m^2) passes through "
                f"({m_lo_gev}, {sigma_lo_gev}) and ({m_hi_gev}, {sigma_hi_gev})"
            )
        return cls(float(np.sqrt(s2)), float(np.sqrt(c2)))

    def __call__(self, m_gev: np.ndarray | float) -> np.ndarray:
        m = np.asarray(m_gev, dtype=float)
        return np.sqrt(self.stochastic_sqrt_gev**2 * m + (self.constant * m) ** 2)


#: 16 GeV at 0.3 TeV growing to 150 GeV at 8 TeV (the AE search's binning).
DEFAULT_RESOLUTION = ResolutionModel.from_widths(300.0, 16.0, 8000.0, 150.0)


def mass_resolution_gev(m_gev: np.ndarray | float) -> np.ndarray:
    """Detector mass resolution (one sigma, GeV) of the default model."""
    return DEFAULT_RESOLUTION(m_gev)


def resolution_binning(
    lo_gev: float = 300.0,
    hi_gev: float = 8000.0,
    model: ResolutionModel = DEFAULT_RESOLUTION,
    bins_per_sigma: float = 1.0,
) -> np.ndarray:
    """Bin edges (GeV) whose widths follow the resolution ``model`` between ``lo`` and ``hi``.

    Edges are equally spaced in u(m) = integral dm / sigma(m), so every bin is
    ``1 / bins_per_sigma`` resolutions wide; the bin count is rounded so the last edge is
    exactly ``hi_gev`` (widths differ from the model by under a percent). With the default
    model and range the widths grow from 16 GeV to 150 GeV (119 bins).
    """
    if not 0 < lo_gev < hi_gev:
        raise ValueError(f"need 0 < lo_gev < hi_gev, got {lo_gev}, {hi_gev}")
    grid = np.geomspace(lo_gev, hi_gev, 20001)
    inv = 1.0 / model(grid)
    u = np.concatenate([[0.0], np.cumsum(0.5 * (inv[1:] + inv[:-1]) * np.diff(grid))])
    n_bins = max(1, int(round(u[-1] * bins_per_sigma)))
    edges = np.interp(np.linspace(0.0, u[-1], n_bins + 1), u, grid)
    edges[0], edges[-1] = lo_gev, hi_gev
    return edges


def cwola_2020_edges(lo_gev: float = 1800.0, hi_gev: float = 8200.0, width_gev: float = 100.0) -> np.ndarray:
    """Strategy A binning: 100 GeV bins over 1.8-8.2 TeV."""
    n = int(round((hi_gev - lo_gev) / width_gev))
    return lo_gev + width_gev * np.arange(n + 1, dtype=float)


def window_edges(sr_lo_gev: float, sr_hi_gev: float, n_bins: int = 30, width_gev: float = 60.0) -> np.ndarray:
    """Strategy B binning: ``n_bins`` bins of ``width_gev`` centred on the signal region.

    The signal region boundaries are moved to the nearest bin edge by the caller's choice of
    ``sr_lo_gev``/``sr_hi_gev``; the window is centred on their midpoint.
    """
    centre = 0.5 * (sr_lo_gev + sr_hi_gev)
    lo = centre - 0.5 * n_bins * width_gev
    return lo + width_gev * np.arange(n_bins + 1, dtype=float)


def mass_points(lo_gev: float = 300.0, hi_gev: float = 8000.0, spacing: float = 0.05) -> np.ndarray:
    """Signal mass hypotheses spaced ``spacing`` (5%) apart, starting at ``lo_gev``."""
    n = int(np.floor(np.log(hi_gev / lo_gev) / np.log1p(spacing) + 1e-9))
    return lo_gev * (1.0 + spacing) ** np.arange(n + 1)


def validate_edges(edges_gev: np.ndarray, n_counts: int | None = None) -> np.ndarray:
    """Return edges as float array, or raise naming the problem (shape, order, x >= 1)."""
    edges = np.asarray(edges_gev, dtype=float)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"edges_gev must be 1-D with >= 2 entries, got shape {edges.shape}")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("edges_gev must be finite and strictly increasing")
    if edges[0] <= 0 or edges[-1] >= 13000.0:
        raise ValueError(f"edges_gev must lie inside (0, 13000) GeV, got [{edges[0]}, {edges[-1]}]")
    if n_counts is not None and edges.size != n_counts + 1:
        raise ValueError(f"{edges.size} edges do not match {n_counts} bins of counts")
    return edges


def from_hist(h: object) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of a 1-D ``hist.Hist`` / boost-histogram (flow bins dropped)."""
    axes = getattr(h, "axes", None)
    if axes is None or len(axes) != 1:
        raise ValueError("from_hist needs a 1-D hist.Hist or boost_histogram.Histogram")
    return np.asarray(h.values(), dtype=float), np.asarray(axes[0].edges, dtype=float)
