"""pyhf likelihoods for a binned signal-plus-background search, and discovery significance.

One builder serves discovery, limits and JSON export: a ``signal`` sample (unit-yield
template times the free normalisation ``mu``) on a ``background`` prediction whose
uncertainties are constrained nuisance parameters:

- ``background_sigma`` 2-D (a count covariance, e.g. ``FitResult.count_covariance``): each
  eigenmode of the covariance becomes a Gaussian-constrained ``histosys`` (keeps the fit's
  bin-to-bin correlations); 1-D: uncorrelated per-bin uncertainty;
- ``extra_sigma`` (e.g. a classifier-ensemble spread): uncorrelated per-bin uncertainty;
  all uncorrelated per-bin terms are added in quadrature into one Poisson-constrained
  ``shapesys`` ("bkg_uncorrelated"), or with ``uncorrelated_constraint="gaussian"`` (the 2025
  weakly supervised search) into one Gaussian-constrained ``staterror``;
- ``background_alt`` (the alternative fit function): one ``histosys``, alt as +1 sigma;
- ``spurious_signal`` (events): the fit function's bias on a background-only shape, as a
  signal-shaped ``histosys`` of the background, b +- S_spur x template ("spurious_signal");
- ``background_shapes`` (name -> per-bin one-sigma shift, e.g. the autoencoder-retraining
  spread): one correlated ``histosys`` each;
- ``signal_norm`` (name -> (hi, lo) factors, e.g. luminosity, object efficiencies): a
  ``normsys`` of the signal each; ``signal_shapes`` (name -> (up, down) templates, e.g. jet
  energy scale and resolution): a ``histosys`` of the signal each.

Every likelihood can be written as a pyhf JSON workspace (:func:`export_workspace`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyhf
from scipy import stats as sps

from adsearch.stats.fitting import check_counts

__all__ = [
    "LikelihoodInputs",
    "DiscoveryResult",
    "build_workspace",
    "build_model",
    "discovery_significance",
    "export_workspace",
    "total_covariance",
]

pyhf.set_backend("numpy")

#: Background floor (events): pyhf's Poisson term is undefined for a zero rate.
B_FLOOR = 1e-6
#: Covariance eigenmodes below this fraction of the largest are dropped.
EIGEN_CUTOFF = 1e-6


@dataclass
class LikelihoodInputs:
    """Validated per-bin inputs of one likelihood (all arrays have one entry per bin)."""

    counts: np.ndarray
    signal: np.ndarray
    background: np.ndarray
    background_sigma: np.ndarray | None = None
    extra_sigma: np.ndarray | None = None
    background_alt: np.ndarray | None = None
    spurious_signal: float | None = None
    background_shapes: dict[str, np.ndarray] = field(default_factory=dict)
    signal_norm: dict[str, tuple[float, float]] = field(default_factory=dict)
    signal_shapes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        counts: np.ndarray,
        signal: np.ndarray,
        background: np.ndarray,
        background_sigma: np.ndarray | None = None,
        extra_sigma: np.ndarray | None = None,
        background_alt: np.ndarray | None = None,
        select: np.ndarray | slice | None = None,
        *,
        spurious_signal: float | None = None,
        background_shapes: dict[str, np.ndarray] | None = None,
        signal_norm: dict[str, tuple[float, float]] | None = None,
        signal_shapes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> LikelihoodInputs:
        """Check shapes and values; ``select`` keeps a subset of bins (a window).

        Per-bin systematic inputs (``background_shapes``, ``signal_shapes``) cover all bins and
        are cut by ``select`` like the counts.
        """
        sel = slice(None) if select is None else select
        n = check_counts(counts)
        b = check_counts(background, "background")
        s = check_counts(signal, "signal")
        if not n.shape == b.shape == s.shape:
            raise ValueError(f"counts {n.shape}, signal {s.shape} and background {b.shape} must match")
        sig = None
        if background_sigma is not None:
            sig = np.asarray(background_sigma, dtype=float)
            if sig.shape not in (b.shape, (b.size, b.size)):
                raise ValueError(f"background_sigma must be ({b.size},) or ({b.size}, {b.size}), got {sig.shape}")
            sig = sig[sel] if sig.ndim == 1 else sig[np.ix_(np.arange(b.size)[sel], np.arange(b.size)[sel])]
        extra = None if extra_sigma is None else check_counts(extra_sigma, "extra_sigma")[sel]
        alt = None if background_alt is None else check_counts(background_alt, "background_alt")[sel]
        if spurious_signal is not None and not (np.isfinite(spurious_signal) and spurious_signal >= 0):
            raise ValueError(f"spurious_signal must be finite and >= 0 events, got {spurious_signal}")
        shapes = {}
        for name, shift in (background_shapes or {}).items():
            arr = np.asarray(shift, dtype=float)
            if arr.shape != b.shape or not np.all(np.isfinite(arr)):
                raise ValueError(f"background shape {name!r} must be finite with one entry per bin")
            shapes[name] = arr[sel]
        norms = {}
        for name, (hi, lo) in (signal_norm or {}).items():
            if not (hi > 0 and lo > 0):
                raise ValueError(f"signal normalisation {name!r} needs positive factors, got ({hi}, {lo})")
            norms[name] = (float(hi), float(lo))
        sig_shapes = {
            name: (check_counts(up, f"{name} up")[sel], check_counts(down, f"{name} down")[sel])
            for name, (up, down) in (signal_shapes or {}).items()
        }
        return cls(n[sel], s[sel], b[sel], sig, extra, alt, spurious_signal, shapes, norms, sig_shapes)

    def without(self, *names: str) -> LikelihoodInputs:
        """The same inputs with the named systematic groups removed: "spurious_signal",
        "background_alt", or a key of ``background_shapes``/``signal_norm``/``signal_shapes``."""
        return LikelihoodInputs(
            self.counts, self.signal, self.background, self.background_sigma, self.extra_sigma,
            None if "background_alt" in names else self.background_alt,
            None if "spurious_signal" in names else self.spurious_signal,
            {k: v for k, v in self.background_shapes.items() if k not in names},
            {k: v for k, v in self.signal_norm.items() if k not in names},
            {k: v for k, v in self.signal_shapes.items() if k not in names},
        )

    @property
    def systematics(self) -> list[str]:
        """Names of the systematic groups these inputs carry (the fit covariance excluded)."""
        return (
            (["background_alt"] if self.background_alt is not None else [])
            + (["spurious_signal"] if self.spurious_signal else [])
            + list(self.background_shapes) + list(self.signal_norm) + list(self.signal_shapes)
        )


def total_covariance(inputs: LikelihoodInputs) -> np.ndarray:
    """All background uncertainties as one covariance (used by the toy calculator)."""
    b = inputs.background
    cov = np.zeros((b.size, b.size))
    if inputs.background_sigma is not None:
        sig = inputs.background_sigma
        cov += sig if sig.ndim == 2 else np.diag(sig**2)
    if inputs.extra_sigma is not None:
        cov += np.diag(inputs.extra_sigma**2)
    if inputs.background_alt is not None:
        shift = inputs.background_alt - b
        cov += np.outer(shift, shift)
    if inputs.spurious_signal:
        cov += np.outer(inputs.spurious_signal * inputs.signal, inputs.spurious_signal * inputs.signal)
    for shift in inputs.background_shapes.values():
        cov += np.outer(shift, shift)
    return cov


def _shapesys(name: str, sigma: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    return {"name": name, "type": "shapesys", "data": np.maximum(sigma, 1e-6 * b).tolist()}


def build_workspace(
    inputs: LikelihoodInputs, *, poi_max: float = 1e6, channel: str = "mass_window",
    uncorrelated_constraint: str = "poisson",
) -> dict[str, Any]:
    """pyhf workspace spec (JSON-ready dict) of ``inputs`` with POI ``mu`` in [0, poi_max].

    ``uncorrelated_constraint``: "poisson" (``shapesys``) or "gaussian" (``staterror``) for the
    uncorrelated per-bin background uncertainty.
    """
    if uncorrelated_constraint not in ("poisson", "gaussian"):
        raise ValueError(f"uncorrelated_constraint must be 'poisson' or 'gaussian', got {uncorrelated_constraint!r}")
    b = np.maximum(inputs.background, B_FLOOR)
    modifiers: list[dict[str, Any]] = []
    sig = inputs.background_sigma
    if sig is not None and sig.ndim == 2:
        evals, evecs = np.linalg.eigh(0.5 * (sig + sig.T))
        keep = evals > EIGEN_CUTOFF * max(evals.max(), 0.0)
        for i, idx in enumerate(np.flatnonzero(keep)[::-1]):
            mode = np.sqrt(evals[idx]) * evecs[:, idx]
            modifiers.append({
                "name": f"bkg_fit_eig{i}",
                "type": "histosys",
                "data": {"hi_data": (b + mode).tolist(), "lo_data": np.maximum(b - mode, 0.0).tolist()},
            })
    uncorrelated = np.zeros_like(b)
    if sig is not None and sig.ndim == 1:
        uncorrelated += sig**2
    if inputs.extra_sigma is not None:
        uncorrelated += inputs.extra_sigma**2
    if np.any(uncorrelated > 0) and uncorrelated_constraint == "gaussian":
        modifiers.append({"name": "bkg_uncorrelated", "type": "staterror",
                          "data": np.maximum(np.sqrt(uncorrelated), 1e-6 * b).tolist()})
    elif np.any(uncorrelated > 0):
        modifiers.append(_shapesys("bkg_uncorrelated", np.sqrt(uncorrelated), b))
    if inputs.background_alt is not None:
        alt = np.maximum(inputs.background_alt, B_FLOOR)
        modifiers.append({
            "name": "bkg_shape_alt",
            "type": "histosys",
            "data": {"hi_data": alt.tolist(), "lo_data": np.maximum(2 * b - alt, 0.0).tolist()},
        })
    if inputs.spurious_signal:
        spur = inputs.spurious_signal * inputs.signal
        modifiers.append({
            "name": "spurious_signal",
            "type": "histosys",
            "data": {"hi_data": (b + spur).tolist(), "lo_data": np.maximum(b - spur, 0.0).tolist()},
        })
    for name, shift in inputs.background_shapes.items():
        modifiers.append({
            "name": name,
            "type": "histosys",
            "data": {"hi_data": (b + shift).tolist(), "lo_data": np.maximum(b - shift, 0.0).tolist()},
        })
    signal_modifiers: list[dict[str, Any]] = [{"name": "mu", "type": "normfactor", "data": None}]
    for name, (hi, lo) in inputs.signal_norm.items():
        signal_modifiers.append({"name": name, "type": "normsys", "data": {"hi": hi, "lo": lo}})
    for name, (up, down) in inputs.signal_shapes.items():
        signal_modifiers.append({"name": name, "type": "histosys", "data": {"hi_data": up.tolist(), "lo_data": down.tolist()}})
    samples = [
        {"name": "signal", "data": inputs.signal.tolist(), "modifiers": signal_modifiers},
        {"name": "background", "data": b.tolist(), "modifiers": modifiers},
    ]
    return {
        "channels": [{"name": channel, "samples": samples}],
        "observations": [{"name": channel, "data": inputs.counts.tolist()}],
        "measurements": [
            {
                "name": "search",
                "config": {"poi": "mu", "parameters": [{"name": "mu", "bounds": [[0.0, float(poi_max)]], "inits": [min(1.0, poi_max / 2)]}]},
            }
        ],
        "version": "1.0.0",
    }


def build_model(
    inputs: LikelihoodInputs, *, poi_max: float = 1e6, uncorrelated_constraint: str = "poisson"
) -> tuple[pyhf.pdf.Model, np.ndarray]:
    """(model, data incl. auxiliary data) ready for ``pyhf.infer``."""
    ws = pyhf.Workspace(build_workspace(inputs, poi_max=poi_max, uncorrelated_constraint=uncorrelated_constraint))
    model = ws.model()
    return model, np.asarray(ws.data(model), dtype=float)


def export_workspace(spec: dict[str, Any], path: str | Path) -> Path:
    """Validate ``spec`` with pyhf and write it as JSON; returns the path."""
    pyhf.Workspace(spec)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(spec, indent=1))
    return out


@dataclass(frozen=True)
class DiscoveryResult:
    """Discovery test (q0): observed p0 and Z, and the median expected Z for ``mu = 1``."""

    p0: float
    z: float
    p0_expected: float
    z_expected: float


def discovery_significance(
    counts: np.ndarray,
    signal: np.ndarray,
    background: np.ndarray,
    background_sigma: np.ndarray | None = None,
    *,
    extra_sigma: np.ndarray | None = None,
    background_alt: np.ndarray | None = None,
    select: np.ndarray | slice | None = None,
    engine: str = "pyhf",
    uncorrelated_constraint: str = "poisson",
) -> DiscoveryResult:
    """p0 -> Z of ``counts`` over the background with its uncertainties as nuisances (asymptotic).

    ``signal`` is the expected signal per bin for ``mu = 1`` (its size sets the expected Z);
    ``select`` restricts the likelihood to a window of bins. ``engine="fast"`` evaluates the
    same likelihood with :mod:`adsearch.stats.profile` (ms instead of seconds with many
    nuisances; observed Z only, ``z_expected`` is NaN). ``uncorrelated_constraint``: see
    :func:`build_workspace`.

    >>> r = discovery_significance([1100.0], [100.0], [1000.0])
    >>> round(r.z, 2)
    3.11
    """
    inputs = LikelihoodInputs.make(counts, signal, background, background_sigma, extra_sigma, background_alt, select)
    scale = max(float(inputs.signal.sum()), 1e-12)
    poi_max = max(10.0, 20.0 * (np.sqrt(inputs.background.sum()) + inputs.counts.sum()) / scale)
    if engine == "fast":
        from adsearch.stats.profile import ProfileModel, discovery_z

        p0_fast, z_fast = discovery_z(ProfileModel(build_workspace(
            inputs, poi_max=poi_max, uncorrelated_constraint=uncorrelated_constraint)))
        return DiscoveryResult(p0_fast, z_fast, float("nan"), float("nan"))
    model, data = build_model(inputs, poi_max=poi_max, uncorrelated_constraint=uncorrelated_constraint)
    p0, p0_exp = pyhf.infer.hypotest(0.0, data, model, test_stat="q0", return_expected=True)
    p0, p0_exp = float(p0), float(p0_exp)
    return DiscoveryResult(p0, float(sps.norm.isf(p0)), p0_exp, float(sps.norm.isf(p0_exp)))
