"""Every report spectrum as ``hist`` objects (pickled) and as TH1s in a ROOT file (uproot).

Per spectrum: ``data`` (observed counts, Weight storage so the variance carries the counts'
uncertainty, e.g. an ensemble median's) and, where fitted, ``background`` (the fit, variance =
the fit uncertainty squared). Axes are in GeV, named after the observable.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import hist
import numpy as np
import uproot

from adsearch.report.records import SearchRecords, SpectrumRecord

__all__ = ["spectrum_histograms", "write_histograms"]


def _hist(edges: np.ndarray, values: np.ndarray, variances: np.ndarray | None, name: str, label: str) -> hist.Hist:
    h = hist.Hist(hist.axis.Variable(edges, name="mass_gev", label=f"{label} [GeV]"), storage=hist.storage.Weight(),
                  name=name, label=label)
    view = h.view()
    view["value"] = values
    view["variance"] = values if variances is None else variances
    return h


def spectrum_histograms(spec: SpectrumRecord) -> dict[str, hist.Hist]:
    """{"data": ..., "background": ...} (background only where the spectrum was fitted).

    >>> from adsearch.report.records import SpectrumRecord
    >>> s = SpectrumRecord("k", "t", "m_{jj}", np.array([1000.0, 1100.0, 1300.0]), np.array([9.0, 4.0]))
    >>> h = spectrum_histograms(s)["data"]
    >>> h.values().tolist(), h.axes[0].edges.tolist()
    ([9.0, 4.0], [1000.0, 1100.0, 1300.0])
    """
    sigma = None if spec.counts_sigma is None else np.asarray(spec.counts_sigma) ** 2
    out = {"data": _hist(spec.edges_gev, spec.counts, sigma, f"{spec.key}_data", spec.observable)}
    if spec.fitted:
        var = None if spec.background_sigma is None else np.asarray(spec.background_sigma) ** 2
        out["background"] = _hist(spec.edges_gev, spec.background, var if var is not None else np.zeros_like(spec.background),
                                  f"{spec.key}_background", spec.observable)
    return out


def write_histograms(records: SearchRecords, report_dir: str | Path) -> tuple[str, str]:
    """Write ``histograms/spectra.pkl`` ({key: {"data", "background"}}) and ``histograms/spectra.root``
    (one directory per spectrum); returns both paths relative to ``report_dir``."""
    root = Path(report_dir) / "histograms"
    root.mkdir(parents=True, exist_ok=True)
    hists = {spec.key: spectrum_histograms(spec) for spec in records.spectra}
    (root / "spectra.pkl").write_bytes(pickle.dumps(hists))
    with uproot.recreate(root / "spectra.root") as f:
        for key, pair in hists.items():
            for name, h in pair.items():
                f[f"{key}/{name}"] = h
    return "histograms/spectra.pkl", "histograms/spectra.root"
