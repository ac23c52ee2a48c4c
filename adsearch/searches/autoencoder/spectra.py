"""One invariant-mass spectrum of one anomaly region: histogram, fits, BumpHunter, limits.

The fit range starts at the spectrum's maximum (the 5-parameter function describes the
falling part, not the kinematic turn-on) and ends one bin past the last populated bin
beyond which the resolution binning has nothing to say. The alternative 5-parameter
function gives the shape uncertainty used by BumpHunter's pseudo-experiments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from adsearch.searches.common.fit_range import fit_range_edges
from adsearch.stats.bumphunter import BumpHuntResult, bump_hunt
from adsearch.stats.calibration import refitted_null
from adsearch.stats.binning import mass_points
from adsearch.stats.fitting import FitResult, fit_spectrum
from adsearch.stats.closure import spurious_signal, spurious_signal_function
from adsearch.stats.limits import gaussian_limits
from adsearch.stats.systematics import SignalUncertainties

__all__ = ["SpectrumResult", "fit_range_edges", "analyse_spectrum"]

NOMINAL_FUNCTION = "five_param"
ALTERNATIVE_FUNCTION = "five_param_alt"


@dataclass
class SpectrumResult:
    """Everything one (region, spectrum) pair produced; ``status`` says why parts are missing."""

    region: str
    spectrum: str
    n_events: int
    status: str
    edges_gev: np.ndarray
    counts: np.ndarray
    fit: FitResult | None = None
    fit_alt: FitResult | None = None
    bumphunt: BumpHuntResult | None = None
    limits: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    systematics: dict[str, Any] = field(default_factory=dict)

    @property
    def global_z(self) -> float | None:
        return None if self.bumphunt is None else self.bumphunt.global_z

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "spectrum": self.spectrum,
            "n_events": self.n_events,
            "status": self.status,
            "edges_gev": self.edges_gev.tolist(),
            "counts": self.counts.tolist(),
            "fit": None if self.fit is None else _fit_summary(self.fit, with_covariance=True),
            "fit_alt": None if self.fit_alt is None else _fit_summary(self.fit_alt),
            "bumphunt": None if self.bumphunt is None else self.bumphunt.to_dict(),
            "limits": self.limits,
            "systematics": self.systematics,
        }


def _fit_summary(fit: FitResult, with_covariance: bool = False) -> dict[str, Any]:
    """The fit's parameters, quality and prediction (events per bin); ``with_covariance`` (the
    nominal fit) also its count covariance (events^2, bins x bins): the limits' likelihood, and the
    report's pyhf workspaces, are built from them, so results.json alone reproduces it."""
    keep = ("function", "params", "param_errors", "chi2", "ndf", "p_value", "converged", "message")
    out = {k: v for k, v in fit.to_dict().items() if k in keep}
    if fit.converged:
        out["expected"] = fit.expected.tolist()
        if with_covariance:
            out["count_covariance"] = fit.count_covariance.tolist()
    return out


def analyse_spectrum(
    masses_gev: np.ndarray,
    *,
    region: str,
    spectrum: str,
    lo_gev: float = 300.0,
    hi_gev: float = 8000.0,
    min_events: int = 30,
    n_pseudo: int = 10000,
    seed: int = 0,
    limit_widths: tuple[float, ...] = (),
    limit_mass_spacing: float = 0.05,
    global_p: str = "refit",
    background_only_masses: np.ndarray | None = None,
    retrain_masses: Sequence[np.ndarray] = (),
    signal_uncertainties: SignalUncertainties | None = None,
    breakdown_every: int = 0,
) -> SpectrumResult:
    """Histogram, nominal and alternative fit, BumpHunter with the look-elsewhere effect, and
    CLs limits (in events) on Gaussian signals of each relative width in ``limit_widths``.

    The limits' background uncertainty is the fit's count covariance; the alternative
    function enters as a shape nuisance.

    ``global_p``: ``"refit"`` (default, calibrated) scans every pseudo-experiment against its own
    refit of the nominal function, as the data are scanned against theirs
    (:func:`adsearch.stats.calibration.refitted_null`); ``"fixed"`` scans them against the data's
    fit, smeared by the alternative function (conservative: the fit to the data absorbs part of
    any fluctuation, a fixed curve does not).

    Systematics of the limits (the paper's), each a nuisance parameter of the pyhf model:
    the fit-function choice (the alternative function); the spurious signal, fitted at every
    mass on ``background_only_masses`` (the background-only spectrum of the same region) with the
    nominal function plus a Gaussian of the limit's width; the autoencoder-retraining spread, the
    per-bin standard deviation of the nominal fits to ``retrain_masses`` (the region's spectrum
    selected by each kept retrain's own scores; needs two or more); ``signal_uncertainties``.
    ``breakdown_every``: see :func:`adsearch.stats.limits.gaussian_limits`.
    """
    m = np.asarray(masses_gev, dtype=float)
    m = m[np.isfinite(m) & (m >= lo_gev) & (m < hi_gev)]
    edges = fit_range_edges(m, lo_gev, hi_gev)
    counts = np.histogram(m, bins=edges)[0].astype(float)
    n_in_range = int(counts.sum())
    result = SpectrumResult(region, spectrum, n_in_range, "ok", edges, counts)
    n_bins = counts.size
    if n_in_range < min_events or n_bins < 8:
        result.status = f"too few events for a 5-parameter fit ({n_in_range} in {n_bins} bins)"
        return result
    result.fit = fit_spectrum(counts, edges, NOMINAL_FUNCTION)
    result.fit_alt = fit_spectrum(counts, edges, ALTERNATIVE_FUNCTION)
    if not result.fit.converged:
        result.status = f"nominal fit failed: {result.fit.message}"
        return result
    alt = result.fit_alt.expected if result.fit_alt.converged else None
    if global_p not in ("refit", "fixed"):
        raise ValueError(f"global_p must be 'refit' or 'fixed', got {global_p!r}")
    null_t = refitted_null(result.fit, n_pseudo=n_pseudo, seed=seed) if global_p == "refit" else None
    result.bumphunt = bump_hunt(
        counts, result.fit.expected, background_alt=alt, edges_gev=edges, n_pseudo=n_pseudo, seed=seed,
        null_t=null_t,
    )
    if not limit_widths:
        return result
    masses = mass_points(max(lo_gev, edges[0]), edges[-1], limit_mass_spacing)
    shapes = _retraining_spread(retrain_masses, edges)
    if shapes:
        rel = shapes["ae_retraining"] / np.maximum(result.fit.expected, 1e-9)
        # the per-bin shift enters the limits as one correlated shape nuisance (histosys)
        result.systematics["ae_retraining"] = {"n_retrains": len(retrain_masses), "max_relative": float(rel.max()),
                                               "mean_relative": float(rel.mean()),
                                               "sigma_events": shapes["ae_retraining"].tolist()}
    bkg_only = None
    if background_only_masses is not None:
        bkg_only = np.histogram(np.asarray(background_only_masses, dtype=float), bins=edges)[0].astype(float)
    for width in limit_widths:
        spur_fn = None
        if bkg_only is not None and bkg_only.sum() >= min_events:
            spur = spurious_signal(bkg_only, edges, masses, width, NOMINAL_FUNCTION)
            spur_fn = spurious_signal_function(spur)
            result.systematics[f"spurious_signal_w{width:g}"] = [
                {"mass_gev": p.mass_gev, "events": p.signal_yield, "error": p.signal_error} for p in spur
            ]
        points = gaussian_limits(
            counts, result.fit.expected, result.fit.count_covariance, edges, masses, width,
            background_alt=alt, seed=seed, spurious_events=spur_fn, background_shapes=shapes or None,
            signal_uncertainties=signal_uncertainties, breakdown_every=breakdown_every,
        )
        result.limits[f"{width:g}"] = [p.to_dict() for p in points]
    return result


def _retraining_spread(retrain_masses: Sequence[np.ndarray], edges: np.ndarray) -> dict[str, np.ndarray]:
    """{"ae_retraining": per-bin sd of the nominal fits to each retrain's spectrum}, or {}."""
    curves = []
    for m in retrain_masses:
        fit = fit_spectrum(np.histogram(np.asarray(m, dtype=float), bins=edges)[0].astype(float), edges, NOMINAL_FUNCTION)
        if fit.converged:
            curves.append(fit.expected)
    return {"ae_retraining": np.std(curves, axis=0, ddof=1)} if len(curves) >= 2 else {}
