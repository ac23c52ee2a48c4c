"""One selected spectrum of the 2025 search: ensemble median, strategy-B fit, merged-SR significance.

As published: each member's selection is histogrammed in the 30-bin window, the bin-wise median
is the spectrum and the standard error of the median (bin correlations kept) its ensemble
uncertainty; strategy B fits the sidebands with the signal region masked; the signal-region bins
are merged into one bin, whose observed count (median over members of each member's merged
count) is tested against the fitted background by a pyhf profile likelihood with the fit
uncertainty and the ensemble uncertainty as two Gaussian-constrained nuisance parameters.

The strategy-B fit weights each bin's Poisson deviance by n / (n + v) with v the ensemble's
variance of that bin (:func:`adsearch.stats.fitting.fit_spectrum` ``extra_variance``): the
ensemble uncertainty is added in quadrature to the Poisson one inside the fit, as published.
Bin correlations of the ensemble enter the merged bin's ensemble uncertainty (the spread of the
members' merged counts), not the fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyhf
from scipy import stats as sps

from adsearch.models.weak import EnsembleHistogram, summarise_members
from adsearch.searches.weak.regions import SlidingRegion
from adsearch.stats.likelihood import LikelihoodInputs, build_model
from adsearch.stats.strategies import StrategyResult, fit_strategy_b

__all__ = ["MergedSpectrum", "analyse_members", "merged_bin_inputs", "merged_bin_significance"]


@dataclass
class MergedSpectrum:
    """A selection's window spectrum, its fit, and the merged signal-region bin's test."""

    label: str
    histogram: EnsembleHistogram
    fit: StrategyResult
    n_sr: float
    b_sr: float
    sigma_fit_sr: float
    sigma_ensemble_sr: float
    z: float
    p0: float
    #: per validation sample: median and spread of Z over its instances, and whether it passed
    validation: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: None: no validation sample ran; True only if every sample that ran passed
    validated: bool | None = None
    #: Z after the non-closure correction (NaN where none could be fitted)
    z_corrected: float = float("nan")

    @property
    def reported_z(self) -> float:
        """The Z the search reports: corrected, and only for a validated region (else NaN)."""
        return self.z_corrected if self.validated else float("nan")

    def to_dict(self) -> dict[str, Any]:
        f = self.fit
        return {"label": self.label, "histogram": self.histogram.to_dict(), "n_sr": self.n_sr, "b_sr": self.b_sr,
                "sigma_fit_sr": self.sigma_fit_sr, "sigma_ensemble_sr": self.sigma_ensemble_sr, "z": self.z,
                "p0": self.p0, "validation": self.validation, "validated": self.validated,
                "z_corrected": self.z_corrected, "reported_z": self.reported_z, "fit": {"success": f.success, "function": f.function, "iteration": f.iteration,
                                       "message": f.message, "n_fit_bins": int(f.fit_mask.sum()),
                                       "background": None if f.background is None else f.background.tolist()}}


def merged_bin_inputs(
    n_sr: float, s_sr: float, b_sr: float, sigma_fit: float, sigma_ensemble: float,
) -> LikelihoodInputs:
    """The merged bin's likelihood inputs: observed n, signal s for mu = 1, background b, and the
    fit and ensemble uncertainties as two Gaussian-constrained, additive nuisance parameters
    (``histosys``). A nuisance whose width is negligible is left out: a constraint far narrower
    than the Poisson width only makes the minimiser stiff."""
    tiny = 1e-4 * np.sqrt(max(b_sr, 1.0))
    return LikelihoodInputs.make(
        [n_sr], [s_sr], [max(b_sr, 1e-6)],
        np.array([[sigma_fit**2]]) if sigma_fit > tiny else None,
        background_shapes={"ensemble": np.array([sigma_ensemble])} if sigma_ensemble > tiny else None)


def merged_bin_significance(n_sr: float, b_sr: float, sigma_fit: float, sigma_ensemble: float) -> tuple[float, float]:
    """(Z, p0) of one merged bin by pyhf (q0, asymptotic), uncertainties as in :func:`merged_bin_inputs`.

    >>> z, _ = merged_bin_significance(1100.0, 1000.0, 0.0, 0.0)
    >>> round(z, 2)
    3.11
    """
    inputs = merged_bin_inputs(n_sr, max(np.sqrt(b_sr), 1.0), b_sr, sigma_fit, sigma_ensemble)
    poi_max = max(10.0, 20.0 * (np.sqrt(b_sr) + n_sr) / max(np.sqrt(b_sr), 1.0))
    model, data = build_model(inputs, poi_max=poi_max)
    p0 = float(pyhf.infer.hypotest(0.0, data, model, test_stat="q0"))
    z = float(sps.norm.isf(p0)) if np.isfinite(p0) else float("nan")
    return (max(z, 0.0) if n_sr > b_sr else 0.0), p0


def analyse_members(per_member: np.ndarray, region: SlidingRegion, label: str, *, min_sideband_bins: int = 6) -> MergedSpectrum:
    """``per_member``: (N, 30) selected window counts of each member."""
    counts = np.atleast_2d(np.asarray(per_member, float))
    edges, sr = region.edges_gev, region.sr_bins
    hist = summarise_members(counts, edges)
    fit = fit_strategy_b(hist.median, edges, sr, min_sideband_bins=min_sideband_bins,
                         extra_variance=np.diag(hist.covariance) if counts.shape[0] > 1 else None)
    merged = counts[:, sr].sum(axis=1)
    n_sr = float(np.median(merged))
    sigma_ens = float(np.sqrt(np.pi / 2 * merged.var(ddof=1) / merged.size)) if merged.size > 1 else 0.0
    if not fit.success or fit.fit is None:
        return MergedSpectrum(label, hist, fit, n_sr, float("nan"), float("nan"), sigma_ens, float("nan"), float("nan"))
    b_sr = float(fit.background[sr].sum())
    sigma_fit = float(np.sqrt(max(fit.fit.count_covariance[np.ix_(sr, sr)].sum(), 0.0)))
    z, p0 = merged_bin_significance(n_sr, b_sr, sigma_fit, sigma_ens)
    return MergedSpectrum(label, hist, fit, n_sr, b_sr, sigma_fit, sigma_ens, z, p0)
