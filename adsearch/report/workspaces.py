"""pyhf JSON workspaces: one per fitted spectrum and one per limit point, readable by ``pyhf cls``.

A spectrum's workspace is the full fitted spectrum as one channel: the observed counts, the
fitted background with the fit's uncertainty as nuisance parameters (the count covariance's
eigenmodes where the search kept it, else per-bin), the alternative function as a shape
nuisance, and a unit-yield Gaussian signal at the tested window's centre (width: the detector
resolution, at least ``signal_width_floor`` of the mass), so ``pyhf cls`` answers "is a signal
of mu events excluded there?". A limit point's workspace is the likelihood its limit was
computed from (see :func:`adsearch.report.records._ae_limit_inputs` for what it carries).

Where a search tests another likelihood than the whole spectrum, its workspace is that one: the
weak search's is its merged signal-region bin (observed median count, fitted background, the
fit and ensemble uncertainties as two Gaussian-constrained nuisances, a unit signal), so
``pyhf`` on the file gives the search's own Z and CLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adsearch.report.records import SearchRecords, SpectrumRecord
from adsearch.stats.binning import mass_resolution_gev
from adsearch.stats.likelihood import LikelihoodInputs, build_workspace, export_workspace
from adsearch.stats.limits import gaussian_template

__all__ = ["WorkspaceFile", "spectrum_inputs", "write_workspaces"]


@dataclass(frozen=True)
class WorkspaceFile:
    """One written workspace: what it describes and where it is (relative to the report folder)."""

    key: str
    kind: str  # "spectrum" or "limit"
    path: str
    signal_mass_gev: float
    signal_sigma_gev: float


def _signal(spec: SpectrumRecord) -> tuple[float, float]:
    lo, hi = spec.window_gev if spec.window_gev else (spec.edges_gev[0], spec.edges_gev[-1])
    mass = 0.5 * (lo + hi)
    return mass, max(float(mass_resolution_gev(mass)), spec.signal_width_floor * mass)


def spectrum_inputs(spec: SpectrumRecord) -> LikelihoodInputs:
    """The likelihood of a fitted spectrum with a Gaussian signal at its window (see module doc)."""
    if not spec.fitted:
        raise ValueError(f"{spec.key}: no fitted background ({spec.status})")
    if spec.likelihood is not None:
        return spec.likelihood
    mass, sigma = _signal(spec)
    sigma_b = spec.covariance if spec.covariance is not None else spec.background_sigma
    return LikelihoodInputs.make(spec.counts, gaussian_template(spec.edges_gev, mass, sigma), spec.background,
                                 sigma_b, spec.extra_sigma, spec.background_alt)


def write_workspaces(records: SearchRecords, report_dir: str | Path) -> list[WorkspaceFile]:
    """Write ``workspaces/<key>.json`` for every fitted spectrum and limit point; list them."""
    root = Path(report_dir)
    written = []
    for spec in records.spectra:
        if not spec.fitted:
            continue
        mass, sigma = _signal(spec)
        rel = f"workspaces/{spec.key}.json"
        inputs = spectrum_inputs(spec)
        # the POI (signal events) must reach past any limit: well beyond the observed count
        poi_max = float(max(10.0, 20.0 * (inputs.counts.sum() + np.sqrt(inputs.background.sum())) / inputs.signal.sum()))
        export_workspace(build_workspace(inputs, channel=spec.likelihood_channel or spec.key, poi_max=poi_max,
                                         uncorrelated_constraint=spec.uncorrelated_constraint), root / rel)
        written.append(WorkspaceFile(spec.key, "spectrum", rel, mass, sigma))
    for limit in records.limits:
        for inputs, mass, sigma in zip(limit.inputs, limit.mass_gev, limit.sigma_gev):
            key = f"{limit.key}_m{mass:.0f}"
            rel = f"workspaces/limits/{key}.json"
            # the POI range must reach past the limit (events) for pyhf's scans
            poi_max = float(max(10.0, 20.0 * np.nanmax([limit.plus2.max(), limit.observed.max()])))
            export_workspace(build_workspace(inputs, channel=limit.spectrum_key, poi_max=poi_max), root / rel)
            written.append(WorkspaceFile(key, "limit", rel, float(mass), float(sigma)))
    return written
