"""Dijet selection of the weakly supervised searches (2020 CWoLa; 2025 SALAD/CURTAINS).

Large-R jets with pT > 200 GeV and |eta| < 2.0; the two leading ones are kept when the leading
one has pT > 500 GeV and both masses lie in the configurable window (30-500 GeV in 2020,
30-3500 GeV in 2025). |Delta y| < 1.2 is the search region and |Delta y| > 1.2 the validation
region: both are stored, separated by the ``is_validation`` flag, never mixed. The pair is
reordered so that ``mj1_gev >= mj2_gev``; each jet's tau21 = tau2/tau1 and tau32 = tau3/tau2
follow it (0 where the denominator is 0: a jet with one constituent is perfectly one-prong).
mJJ is stored both as the invariant mass and as the 2025 massless-jet definition
mJJ^2 = 2(|p1||p2| - p1.p2).
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

from adsearch.config import StrictModel
from adsearch.processors.base import Selection, StoreProcessor
from adsearch.processors.cutflow import Cutflow
from adsearch.processors.objects import ObjectReader

__all__ = ["DijetConfig", "DijetProcessor", "dijet_columns", "CUTFLOW_STEPS", "safe_ratio"]

CUTFLOW_STEPS = ("input", "two_large_r_jets", "lead_pt", "mass_window")


class DijetConfig(StrictModel):
    """Cuts of the dijet selection (2020 CWoLa defaults; set jet_mass_max_gev=3500 for 2025)."""

    large_r_pt_min_gev: float = 200.0
    large_r_eta_max: float = 2.0
    lead_pt_min_gev: float = 500.0
    jet_mass_min_gev: float = 30.0
    jet_mass_max_gev: float = 500.0
    delta_y_max: float = Field(1.2, gt=0, description="|dy| below: search region; above: validation")

    @model_validator(mode="after")
    def _window(self) -> DijetConfig:
        if self.jet_mass_min_gev >= self.jet_mass_max_gev:
            raise ValueError(f"jet mass window [{self.jet_mass_min_gev}, {self.jet_mass_max_gev}] is empty")
        return self


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (tau_N ratios of one-constituent jets)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _four(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, ...]:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return px, py, pz, np.sqrt(px * px + py * py + pz * pz + mass * mass)


def dijet_columns(j1: dict[str, np.ndarray], j2: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pair observables of the two leading jets (dicts of pt, eta, phi, mass, tau1..3), m1 >= m2."""
    swap = j2["mass"] > j1["mass"]
    a = {k: np.where(swap, j2[k], j1[k]) for k in j1}
    b = {k: np.where(swap, j1[k], j2[k]) for k in j1}
    ax, ay, az, ae = _four(a["pt"], a["eta"], a["phi"], a["mass"])
    bx, by, bz, be = _four(b["pt"], b["eta"], b["phi"], b["mass"])
    mjj2 = (ae + be) ** 2 - (ax + bx) ** 2 - (ay + by) ** 2 - (az + bz) ** 2
    p_a, p_b = np.sqrt(ax * ax + ay * ay + az * az), np.sqrt(bx * bx + by * by + bz * bz)
    massless2 = 2.0 * (p_a * p_b - (ax * bx + ay * by + az * bz))
    y_a = 0.5 * np.log((ae + az) / (ae - az))
    y_b = 0.5 * np.log((be + bz) / (be - bz))
    return {
        "mjj_gev": np.sqrt(np.maximum(mjj2, 0.0)),
        "mjj_massless_gev": np.sqrt(np.maximum(massless2, 0.0)),
        "mj1_gev": a["mass"],
        "mj2_gev": b["mass"],
        "pt_j1_gev": a["pt"],
        "pt_j2_gev": b["pt"],
        "tau21_j1": safe_ratio(a["tau2"], a["tau1"]),
        "tau21_j2": safe_ratio(b["tau2"], b["tau1"]),
        "tau32_j1": safe_ratio(a["tau3"], a["tau2"]),
        "tau32_j2": safe_ratio(b["tau3"], b["tau2"]),
        "delta_y": np.abs(y_a - y_b),
    }


class DijetProcessor(StoreProcessor):
    """coffea processor: two leading large-R jets, mJJ (two definitions), masses, tau ratios."""

    kind = "dijet"

    def __init__(self, store_path: str, config: DijetConfig | None = None, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        self.config = config or DijetConfig()

    def select(self, reader: ObjectReader) -> Selection:
        c = self.config
        jets = reader.large_r_jets()
        jets = jets[(jets.pt > c.large_r_pt_min_gev) & (abs(jets.eta) < c.large_r_eta_max)]
        jets = jets[ak.argsort(jets.pt, axis=1, ascending=False)]
        weight = reader.weight()
        cutflow = Cutflow(CUTFLOW_STEPS)
        cutflow.fill("input", weight)
        mask = np.asarray(ak.num(jets, axis=1) >= 2)
        cutflow.fill("two_large_r_jets", weight[mask])
        lead = jets[mask][:, :2]
        fields = ("pt", "eta", "phi", "mass", "tau1", "tau2", "tau3")
        j1 = {f: np.asarray(lead[f][:, 0], dtype=np.float64) for f in fields}
        j2 = {f: np.asarray(lead[f][:, 1], dtype=np.float64) for f in fields}
        rows = np.flatnonzero(mask)
        keep = j1["pt"] > c.lead_pt_min_gev
        mask[rows[~keep]] = False
        cutflow.fill("lead_pt", weight[mask])
        in_window = np.ones_like(keep)
        for jet in (j1, j2):
            in_window &= (jet["mass"] > c.jet_mass_min_gev) & (jet["mass"] < c.jet_mass_max_gev)
        keep &= in_window
        mask[rows[~keep]] = False
        cutflow.fill("mass_window", weight[mask])
        columns = {k: v.astype(np.float32) for k, v in
                   dijet_columns({f: v[keep] for f, v in j1.items()}, {f: v[keep] for f, v in j2.items()}).items()}
        columns["is_validation"] = columns["delta_y"] > c.delta_y_max
        columns.update({name: values[mask] for name, values in reader.event_ids().items()})
        columns["weight"] = weight[mask]
        columns.update({name: values[mask] for name, values in reader.truth().items()})
        return Selection(columns, cutflow)
