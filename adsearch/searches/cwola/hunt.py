"""One CWoLa region: train the 60 networks, select at each efficiency, fit and test the spectra.

Inputs are whole-sample arrays: ECDF features of every event, mJJ, folds and which rows are
data (trainable) or signal simulation (scored only, for templates and maps). The region's
networks see only its signal region (label 1) and its two sidebands (label 0, each weighted to
half the signal region); every event of the fit range is scored by networks of its own test
fold, so no event is selected by a network that saw it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adsearch.models.cwola import CWoLaConfig, cwola_efficiencies
from adsearch.searches.common.regions import MjjGrid
from adsearch.searches.common.spectrum import WindowSpectrum, analyse_window

__all__ = ["RegionInputs", "RegionResult", "hunt_region", "MAP_EDGES_GEV"]

#: (m1, m2) binning of the efficiency maps (GeV).
MAP_EDGES_GEV = np.arange(0.0, 525.0, 25.0)


@dataclass
class RegionInputs:
    """Arrays over all rows (data first, then signal simulation rows that are only scored)."""

    features: np.ndarray
    mjj_gev: np.ndarray
    mj1_gev: np.ndarray
    mj2_gev: np.ndarray
    fold: np.ndarray
    is_data: np.ndarray
    injected: np.ndarray
    fit_edges_gev: np.ndarray
    source: np.ndarray  # -1 for data rows, else the index into signal_names
    signal_names: list[str] = field(default_factory=list)


@dataclass
class RegionResult:
    """What one searched region produced; ``spectra[0]`` is the spectrum without selection."""

    index: int
    signal_region_gev: tuple[float, float]
    fit_signal_region_gev: tuple[float, float]
    n_signal_region: int
    n_sidebands: tuple[int, int]
    n_injected_signal_region: int
    spectra: list[WindowSpectrum]
    efficiencies: list[float]
    n_networks: int
    train_seconds: float
    mean_epochs: float
    efficiency_map: np.ndarray
    signal_efficiency: dict[str, dict[str, float]] = field(default_factory=dict)
    signal_templates: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def spectrum(self, efficiency: float) -> WindowSpectrum:
        return self.spectra[1 + self.efficiencies.index(efficiency)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "signal_region_gev": list(self.signal_region_gev),
            "fit_signal_region_gev": list(self.fit_signal_region_gev), "n_signal_region": self.n_signal_region,
            "n_sidebands": list(self.n_sidebands), "n_injected_signal_region": self.n_injected_signal_region,
            "efficiencies": self.efficiencies, "n_networks": self.n_networks, "train_seconds": self.train_seconds,
            "mean_epochs": self.mean_epochs, "spectra": [s.to_dict() for s in self.spectra],
            "signal_efficiency": self.signal_efficiency,
            "efficiency_map": {"m_edges_gev": MAP_EDGES_GEV.tolist(),
                               "mean_efficiency": np.where(np.isfinite(self.efficiency_map), self.efficiency_map, -1).tolist()},
        }


def efficiency_map(m1: np.ndarray, m2: np.ndarray, eff: np.ndarray) -> np.ndarray:
    """Mean efficiency per (m1, m2) bin (NaN where empty): low values mark what was selected."""
    total, _, _ = np.histogram2d(m1, m2, bins=[MAP_EDGES_GEV, MAP_EDGES_GEV], weights=eff)
    count, _, _ = np.histogram2d(m1, m2, bins=[MAP_EDGES_GEV, MAP_EDGES_GEV])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def hunt_region(
    inputs: RegionInputs, grid: MjjGrid, index: int, efficiencies: list[float], config: CWoLaConfig,
    client: Any | None = None,
) -> RegionResult:
    """Train region ``index``'s ensemble, then analyse the spectra without and with each selection."""
    start = time.perf_counter()
    edges = inputs.fit_edges_gev
    masks = grid.masks(index, inputs.mjj_gev)
    in_fit = (inputs.mjj_gev >= edges[0]) & (inputs.mjj_gev < edges[-1]) & np.all(np.isfinite(inputs.features), axis=1)
    trainable = masks.training & inputs.is_data & in_fit
    rows = np.flatnonzero(in_fit)
    weights = np.where(trainable, masks.weights(), 0.0)
    eff_rows, members = cwola_efficiencies(
        inputs.features[rows], masks.labels()[rows], inputs.fold[rows], weights=weights[rows],
        trainable=trainable[rows], config=config, client=client)
    eff = np.full(inputs.mjj_gev.size, np.nan)
    eff[rows] = eff_rows
    seconds = time.perf_counter() - start
    fit_sr = grid.fit_signal_region_gev(index)
    data = inputs.is_data & in_fit
    centre = 0.5 * sum(grid.signal_region_gev(index))
    spectra = [analyse_window(inputs.mjj_gev[data], edges, fit_sr, label="no selection", centre_gev=centre)]
    for cut in efficiencies:
        chosen = data & (eff < cut)
        spectra.append(analyse_window(inputs.mjj_gev[chosen], edges, fit_sr, label=f"efficiency {cut:g}",
                                      centre_gev=centre))
    signal_eff: dict[str, dict[str, float]] = {}
    templates: dict[str, dict[str, np.ndarray]] = {}
    for i, name in enumerate(inputs.signal_names):
        rows_i = (inputs.source == i) & in_fit
        signal_eff[name] = {f"{c:g}": float(np.mean(eff[rows_i] < c)) if rows_i.any() else 0.0 for c in efficiencies}
        templates[name] = {f"{c:g}": np.histogram(inputs.mjj_gev[rows_i & (eff < c)], bins=edges)[0].astype(float)
                           for c in (1.0, *efficiencies)}
    sr_data = masks.signal & data
    return RegionResult(
        index=index, signal_region_gev=grid.signal_region_gev(index), fit_signal_region_gev=fit_sr,
        n_signal_region=int(sr_data.sum()), n_sidebands=(int((masks.low & data).sum()), int((masks.high & data).sum())),
        n_injected_signal_region=int((sr_data & inputs.injected).sum()), spectra=spectra,
        efficiencies=list(efficiencies), n_networks=len(members), train_seconds=seconds,
        mean_epochs=float(np.mean([m.epochs for m in members])),
        efficiency_map=efficiency_map(inputs.mj1_gev[sr_data], inputs.mj2_gev[sr_data], eff[sr_data]),
        signal_efficiency=signal_eff, signal_templates=templates,
    )
