"""CLs limits of the 2025 search by signal injection: inject, rerun the whole chain, set a limit.

For each injected cross-section sigma_inj the signal is injected into the data and the chain runs
again, template and classifiers included (validation samples are not rerun per injection: stated
cost saving). In the signal region holding the signal, the merged bin at each working point gives
a CLs 95% upper limit (observed, expected, +-1 and +-2 sigma) on the signal cross-section: the
signal's expected yield per pb is the injected signal-region events per pb times the fraction of
them the members select (median over members; every event scored out of fold), the background and
its fit and ensemble uncertainties (Gaussian nuisances) are the merged bin's. As for the 2020
CWoLa limits, sigma_excluded = max(sigma_CL, sigma_inj) (a larger signal would have changed the
selection), and the limit is the smallest sigma_excluded of the scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from adsearch.config import StrictModel
from adsearch.errors import ConfigError
from adsearch.provenance import write_json
from adsearch.searches.common.injection import excluded_pb, smallest_excluded
from adsearch.searches.weak.analysis import merged_bin_inputs
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.stats.limits import upper_limit
from adsearch.store import FeatureStore, open_store

__all__ = ["WeakLimitsConfig", "injection_limits"]


class WeakLimitsConfig(StrictModel):
    """The injection scan: which signal, which cross-sections (pb)."""

    signal: str
    xsec_pb: list[float] = Field(min_length=1)


def _point(window: Any, label: str, xsec: float) -> dict[str, Any]:
    spectrum = window.spectrum(label)
    eff = window.injected_selected.get(label, 1.0) if label != "no selection" else 1.0
    s_per_pb = window.n_injected_sr * eff / xsec
    if not np.isfinite(spectrum.b_sr) or s_per_pb <= 0:
        return {"label": label, "observed_pb": float("nan"), "excluded_pb": float("nan"), "reason": "no fit or no signal"}
    inputs = merged_bin_inputs(spectrum.n_sr, s_per_pb, spectrum.b_sr, spectrum.sigma_fit_sr,
                               spectrum.sigma_ensemble_sr)
    res = upper_limit(inputs)
    return {"label": label, "signal_efficiency": eff, "signal_events_per_pb": s_per_pb, "observed_pb": res.observed,
            "expected_pb": res.expected, "minus1_pb": res.minus1, "plus1_pb": res.plus1, "minus2_pb": res.minus2,
            "plus2_pb": res.plus2, "method": res.method, "excluded_pb": excluded_pb(res.observed, xsec)}


def injection_limits(
    store: str | Path | FeatureStore, config: WeakSearchConfig, scan: WeakLimitsConfig,
    out_dir: str | Path | None = None, *, client: Any | None = None, progress: bool = True,
) -> list[dict[str, Any]]:
    """One entry per selection: the scan points and the limit (pb); ``out_dir``: limits.json."""
    from adsearch.searches.weak.pipeline import weak_search

    if scan.signal not in config.signal_datasets:
        raise ConfigError(f"limits signal {scan.signal!r} is not in signal_datasets {config.signal_datasets}")
    if any(x <= 0 for x in scan.xsec_pb):
        raise ConfigError("every injected cross-section must be > 0 pb")
    fs = store if isinstance(store, FeatureStore) else open_store(store)
    labels = ["no selection", *(f"efficiency {wp:g}" for wp in config.classifier.working_points)]
    points: list[dict[str, Any]] = []
    for xsec in scan.xsec_pb:
        run_config = config.model_copy(update={"inject_xsec_pb": {scan.signal: xsec},
                                               "validation": config.validation.model_copy(update={"samples": []})})
        result = weak_search(fs, run_config, client=client, progress=progress)
        holding = [w for w in result.windows if w.n_injected_sr > 0]
        if not holding:
            raise ConfigError(f"no searched signal region holds injected {scan.signal} events")
        for label in labels:
            # per feature set, the region holding most of the injected signal; the best feature set's limit
            best: dict[str, Any] | None = None
            for fset in config.feature_sets:
                windows = [w for w in holding if w.feature_set == fset]
                w = max(windows, key=lambda w: w.n_injected_sr)
                p = {"xsec_injected_pb": xsec, "n_injected": result.n_injected[scan.signal],
                     "signal_region_gev": list(w.signal_region_gev), "feature_set": fset, **_point(w, label, xsec)}
                if best is None or (np.nan_to_num(p["excluded_pb"], nan=np.inf) < np.nan_to_num(best["excluded_pb"], nan=np.inf)):
                    best = p
            assert best is not None
            points.append(best)
    out = []
    for label in labels:
        rows = [p for p in points if p["label"] == label]
        chosen = smallest_excluded(rows)
        out.append({"signal": scan.signal, "label": label, "limit_pb": chosen["excluded_pb"] if chosen else float("nan"),
                    "expected_pb": chosen["expected_pb"] if chosen else float("nan"),
                    "band_pb": [chosen[k] for k in ("minus2_pb", "minus1_pb", "expected_pb", "plus1_pb", "plus2_pb")]
                    if chosen else [], "points": rows})
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        write_json(Path(out_dir) / "limits.json", {"limits": out, "scan": scan.model_dump()})
    return out
