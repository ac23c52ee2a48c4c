"""The 2025 validation rule: a signal region is reported only if its signal-free instances close.

Each validation sample (LARGE |dY|, MONTE CARLO, DOWN-UP-SAMPLING) is run through the whole
chain in >= 10 instances; a (signal region, feature set, working point) passes when, over those
instances, the median Z < 1 and the spread (sd) of Z < 1. The instances themselves are drawn in
:mod:`adsearch.searches.weak.validation_samples`; :func:`apply_validation` applies the rule and
the non-closure correction to the search's spectra.

>>> passes_validation(np.full(10, 0.5) + np.linspace(-0.2, 0.2, 10))
True
>>> passes_validation(np.linspace(0.0, 4.0, 10))
False
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adsearch.stats.closure import fit_nonclosure

__all__ = ["MIN_INSTANCES", "apply_validation", "passes_validation", "validation_summary"]

MIN_INSTANCES = 10


def validation_summary(z_instances: np.ndarray) -> tuple[float, float]:
    """(median, sd) of the finite Z values of the instances; NaN for fewer than 10 of them."""
    z = np.asarray(z_instances, float)
    z = z[np.isfinite(z)]
    if z.size < MIN_INSTANCES:
        return float("nan"), float("nan")
    return float(np.median(z)), float(np.std(z, ddof=1))


def passes_validation(z_instances: np.ndarray, max_median: float = 1.0, max_spread: float = 1.0) -> bool:
    """True when >= 10 finite instances have median Z < ``max_median`` and sd < ``max_spread``."""
    median, spread = validation_summary(z_instances)
    return bool(np.isfinite(median) and median < max_median and spread < max_spread)


def _z_table(instances: list[list[Any]], j: int, label: str) -> np.ndarray:
    return np.array([inst[j].spectrum(label).z for inst in instances], float)


def apply_validation(
    windows: list[Any], instances: dict[str, list[list[Any]]], *, max_median: float = 1.0, max_spread: float = 1.0,
) -> dict[str, Any]:
    """Mark every spectrum of ``windows`` validated or not, and correct its Z for the non-closure.

    ``instances``: validation sample -> one scan (list of windows, same order) per instance.
    A spectrum is validated when every sample that ran passes :func:`passes_validation`; the
    non-closure correction (:func:`adsearch.stats.closure.fit_nonclosure`, linear in the SR
    centre) is fitted per (feature set, selection) on the DOWN-UP-SAMPLING instances and applied
    to the observed Z. Returns the fitted corrections (JSON-ready).
    """
    corrections: dict[str, Any] = {}
    dus = instances.get("down_up_sampling", [])
    for w_index, window in enumerate(windows):
        for spectrum in window.spectra:
            verdicts = {}
            for name, runs in instances.items():
                z = _z_table(runs, w_index, spectrum.label)
                median, spread = validation_summary(z)
                verdicts[name] = {"median_z": median, "spread_z": spread, "n_instances": int(np.isfinite(z).sum()),
                                  "passed": passes_validation(z, max_median, max_spread)}
            spectrum.validation = verdicts
            spectrum.validated = all(v["passed"] for v in verdicts.values()) if verdicts else None
            spectrum.z_corrected = spectrum.z
    if len(dus) < 2:
        return {"applied": False, "reason": f"{len(dus)} DOWN-UP-SAMPLING instances (need >= 2): Z uncorrected"}
    groups: dict[tuple[str, str], list[int]] = {}
    for w_index, window in enumerate(windows):
        for spectrum in window.spectra:
            groups.setdefault((window.feature_set, spectrum.label), []).append(w_index)
    for (feature_set, label), idx in groups.items():
        z = np.stack([_z_table(dus, j, label) for j in idx], axis=1)
        masses = np.array([windows[j].mass_gev for j in idx])
        try:
            corr = fit_nonclosure(z, masses)
        except ValueError as exc:
            corrections[f"{feature_set} / {label}"] = {"applied": False, "reason": str(exc)}
            continue
        corrections[f"{feature_set} / {label}"] = {"applied": True, "mean_coeffs": list(corr.mean_coeffs),
                                                   "sd_coeffs": list(corr.sd_coeffs)}
        for j in idx:
            s = windows[j].spectrum(label)
            if np.isfinite(s.z):
                s.z_corrected = float(corr.apply(s.z, windows[j].mass_gev))
    return {"applied": True, "corrections": corrections}
