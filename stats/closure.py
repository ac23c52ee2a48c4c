"""How well the background model closes on signal-free spectra.

- Spurious signal: a signal-plus-background fit (free, possibly negative, Gaussian yield) on a
  background-only spectrum at every mass point; the fitted yield is signal the background
  function invents.
- 2025 non-closure correction, as published: significances Z measured on signal-free test
  samples (the DOWN-UP-SAMPLING instances) are fitted as linear functions of mJJ,
  mean(m) = a + b m and sd(m) = c + d m; the fitted mean is *subtracted* from an observed Z,
  Z - mean(m), only where that lowers Z and never below 0. Z is not divided by sd(m): the sd
  fit is reported (it is the spread the validation rule judges), never used to rescale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from adsearch.stats.binning import mass_points, mass_resolution_gev, validate_edges
from adsearch.stats.fitting import fit_spectrum
from adsearch.stats.limits import gaussian_template

__all__ = ["SpuriousSignalPoint", "spurious_signal", "spurious_signal_function", "NonClosureCorrection", "fit_nonclosure"]


@dataclass(frozen=True)
class SpuriousSignalPoint:
    """Fitted yield of a Gaussian signal on a background-only spectrum (events, full Gaussian).

    ``b_window`` is the background in the +-1 sigma window; ``yield_over_sqrt_b`` compares the
    spurious signal with the statistical precision there.
    """

    mass_gev: float
    sigma_gev: float
    signal_yield: float
    signal_error: float
    significance: float
    b_window: float
    yield_over_sqrt_b: float
    converged: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spurious_signal(
    counts: np.ndarray,
    edges_gev: np.ndarray,
    masses_gev: np.ndarray | None = None,
    width_fraction: float = 0.0,
    function: str = "five_param",
    resolution_fn: Callable[[float], float] | None = None,
    mask: np.ndarray | None = None,
) -> list[SpuriousSignalPoint]:
    """S+B fits of ``function`` plus a unit Gaussian at each mass on a background-only spectrum."""
    edges = validate_edges(edges_gev, np.asarray(counts).size)
    res_fn = mass_resolution_gev if resolution_fn is None else resolution_fn
    if masses_gev is None:
        masses_gev = mass_points(max(300.0, edges[0]), edges[-1])
    bkg_only = fit_spectrum(counts, edges, function, mask=mask)
    if not bkg_only.converged:  # no background description to measure a bias of
        return []
    centres = 0.5 * (edges[1:] + edges[:-1])
    out = []
    for mass in np.asarray(masses_gev, dtype=float):
        sigma = float(np.hypot(width_fraction * mass, res_fn(mass)))
        if mass - 2 * sigma < edges[0] or mass + 2 * sigma > edges[-1]:
            continue
        template = gaussian_template(edges, mass, sigma)
        try:
            fit = fit_spectrum(counts, edges, function, mask=mask, signal_template=template, start_params=bkg_only.params)
        except ValueError:  # parameters that do not map back (e.g. an underflowed normalisation)
            fit = fit_spectrum(counts, edges, function, mask=mask, signal_template=template)
        window = np.abs(centres - mass) <= sigma
        b_win = float(bkg_only.expected[window].sum()) if window.any() else float("nan")
        s, err = float(fit.signal_yield), float(fit.signal_error)
        out.append(SpuriousSignalPoint(
            mass_gev=float(mass), sigma_gev=sigma, signal_yield=s, signal_error=err,
            significance=s / err if err > 0 else float("nan"), b_window=b_win,
            yield_over_sqrt_b=s * float(template[window].sum()) / np.sqrt(b_win) if b_win > 0 else float("nan"),
            converged=fit.converged,
        ))
    return out


def spurious_signal_function(points: list[SpuriousSignalPoint]) -> Callable[[float, float], float]:
    """|spurious signal| (events) at any mass, linear between the measured mass points (constant
    beyond them; points whose fit did not converge are left out). The second argument (the
    signal width) is accepted for :func:`adsearch.stats.limits.gaussian_limits` and unused: the
    points were measured for one width.

    >>> pts = [SpuriousSignalPoint(1000.0, 50.0, -4.0, 2.0, -2.0, 100.0, -0.4, True),
    ...        SpuriousSignalPoint(2000.0, 80.0, 2.0, 1.0, 2.0, 10.0, 0.6, True)]
    >>> spurious_signal_function(pts)(1500.0, 60.0)
    3.0
    """
    good = [p for p in points if p.converged and np.isfinite(p.signal_yield)]
    if not good:
        return lambda mass, sigma: 0.0
    m = np.array([p.mass_gev for p in good])
    s = np.abs([p.signal_yield for p in good])
    return lambda mass, sigma: float(np.interp(mass, m, s))


@dataclass(frozen=True)
class NonClosureCorrection:
    """Linear models of the mean and sd of Z versus mass on signal-free test samples."""

    mean_coeffs: tuple[float, float]
    sd_coeffs: tuple[float, float]

    def mean(self, m_gev: np.ndarray | float) -> np.ndarray:
        return self.mean_coeffs[0] + self.mean_coeffs[1] * np.asarray(m_gev, dtype=float)

    def sd(self, m_gev: np.ndarray | float) -> np.ndarray:
        return np.maximum(self.sd_coeffs[0] + self.sd_coeffs[1] * np.asarray(m_gev, dtype=float), 1e-6)

    def apply(self, z: np.ndarray | float, m_gev: np.ndarray | float) -> np.ndarray:
        """Corrected Z = Z - mean(m), only ever lowering Z, never below 0; Z <= 0 is kept.

        >>> c = NonClosureCorrection((0.5, 0.0), (2.0, 0.0))
        >>> c.apply(np.array([3.0, 0.3, -1.0]), 3000.0).tolist()
        [2.5, 0.0, -1.0]
        """
        z = np.asarray(z, dtype=float)
        corrected = z - self.mean(m_gev)
        return np.where(z > 0, np.clip(corrected, 0.0, z), z)


def fit_nonclosure(z_values: np.ndarray, masses_gev: np.ndarray) -> NonClosureCorrection:
    """Fit mean and sd of Z over test samples (rows) at each mass (columns) linearly in mass.

    ``z_values``: (n_samples, n_masses) significances from signal-free test samples. Non-finite
    entries (failed fits) are left out; a mass with fewer than 2 finite values is dropped; with a
    single mass left the models are constants (no slope can be fitted).

    >>> c = fit_nonclosure(np.array([[0.2, np.nan], [0.4, 1.0]]), np.array([3000.0, 4000.0]))
    >>> [round(float(v), 6) for v in c.mean_coeffs], [round(float(v), 6) for v in c.sd_coeffs]
    ([0.3, 0.0], [0.141421, 0.0])
    """
    z = np.asarray(z_values, dtype=float)
    m = np.asarray(masses_gev, dtype=float)
    if z.ndim != 2 or z.shape[1] != m.size or z.shape[0] < 2:
        raise ValueError(f"z_values must be (n_samples >= 2, {m.size}), got {z.shape}")
    finite = np.isfinite(z)
    usable = finite.sum(axis=0) >= 2
    if not usable.any():
        raise ValueError("no mass has two finite Z values to fit the non-closure")
    z, m, finite = z[:, usable], m[usable], finite[:, usable]
    mean = np.array([z[finite[:, j], j].mean() for j in range(m.size)])
    sd = np.array([z[finite[:, j], j].std(ddof=1) for j in range(m.size)])
    if m.size == 1:
        return NonClosureCorrection((float(mean[0]), 0.0), (float(sd[0]), 0.0))
    slope_m, icpt_m = np.polyfit(m, mean, 1)
    slope_s, icpt_s = np.polyfit(m, sd, 1)
    return NonClosureCorrection((float(icpt_m), float(slope_m)), (float(icpt_s), float(slope_s)))
