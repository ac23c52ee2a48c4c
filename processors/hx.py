"""Y -> X H selection (ATLAS arXiv:2306.03637): two large-R jets, an H -> bb candidate, the X jet.

Steps (each a cutflow entry): the two leading large-R jets with |eta| < 2.0 both have
pT > 500 GeV; their invariant mass m_JJ > 1.3 TeV; at least one of them is an H candidate,
i.e. passes the Hbb tag (``FatJet_particleNetMD_Xbb`` > ``hbb_score_min``) and
75 < m_J < 145 GeV. **Tie rule**: when both jets are H candidates, the one with the higher Hbb
score is H (the paper takes the jet the tagger prefers); exactly equal scores give H to the
leading-pT jet. The other jet is X. Per event: m_X = X-jet mass, m_Y = m_JJ, the H and X
kinematics and scores, tau21/tau32 of both jets (the two-prong comparison), and the X jet's
leading ``n_constituents`` constituents (pT-ordered, zero-padded, (pt, eta, phi, mass)) as the
(n, N, 4) column ``x_constituents`` with their true multiplicity ``n_constituents_x``.

**Training jets** (``training_jets``, on by default): the rows are then every event passing the
m_JJ step, flagged ``h_candidate`` (passes the H-candidate step: the search's events); the others
carry NaN in the H/X columns and zero X constituents. Every row stores both leading jets'
constituents (``j1_constituents``, ``j2_constituents``, pT order of the jets) with their pT, mass
and multiplicity: the unsupervised VRNN trains on these jets of the data (as the method paper and
ATLAS train on a large sample of jets, not only the few thousand X candidates), folded by the
event's id like the X jets, so no X jet is scored by a network that saw it.

Inputs: NanoAOD with the PFNano constituent layout (generated files and real CMS PFNano).
PHYSLITE has no stored large-R constituents: such a file is reported bad with that reason.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

from adsearch.config import StrictModel
from adsearch.errors import BadInputError
from adsearch.processors.base import Selection, StoreProcessor
from adsearch.processors.constituents import padded_constituents, physlite_constituents_error
from adsearch.processors.cutflow import Cutflow
from adsearch.processors.dijet import safe_ratio
from adsearch.processors.objects import ObjectReader

__all__ = ["HxConfig", "HxProcessor", "CUTFLOW_STEPS", "choose_h"]

CUTFLOW_STEPS = ("input", "two_large_r_jets", "mjj", "h_candidate")


class HxConfig(StrictModel):
    """Cuts of the Y -> X H selection (published values by default)."""

    large_r_pt_min_gev: float = Field(500.0, gt=0, description="both leading large-R jets above this pT")
    large_r_eta_max: float = Field(2.0, gt=0)
    mjj_min_gev: float = Field(1300.0, ge=0)
    hbb_branch: str = Field("particleNetMD_Xbb", description="FatJet Hbb score branch")
    hbb_score_min: float = Field(0.9, description="Hbb tag: score above (generator: 60% of H -> bb jets)")
    h_mass_min_gev: float = 75.0
    h_mass_max_gev: float = 145.0
    n_constituents: int = Field(20, ge=1, le=200, description="leading X-jet constituents stored")
    training_jets: bool = Field(True, description="also keep events failing the H-candidate step (h_candidate "
                                "False) and both leading jets' constituents: the VRNN's training jets")

    @model_validator(mode="after")
    def _window(self) -> HxConfig:
        if self.h_mass_min_gev >= self.h_mass_max_gev:
            raise ValueError(f"H mass window [{self.h_mass_min_gev}, {self.h_mass_max_gev}] is empty")
        return self


def choose_h(tag1: np.ndarray, tag2: np.ndarray, score1: np.ndarray, score2: np.ndarray) -> np.ndarray:
    """Which of the two leading jets is H: 0, 1, or -1 (neither is an H candidate).

    Both candidates: the higher Hbb score; equal scores: the leading jet (index 0).

    >>> choose_h(np.array([1, 1, 0, 1]), np.array([1, 1, 1, 0]), np.array([.9, .95, .1, .2]),
    ...          np.array([.99, .95, .99, .9])).tolist()
    [1, 0, 1, 0]
    """
    tag1, tag2 = np.asarray(tag1, bool), np.asarray(tag2, bool)
    second = tag2 & (~tag1 | (np.asarray(score2) > np.asarray(score1)))
    return np.where(tag1 | tag2, second.astype(np.int64), -1)


def _four(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, mass: np.ndarray) -> np.ndarray:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.stack([np.sqrt(px * px + py * py + pz * pz + mass * mass), px, py, pz])


class HxProcessor(StoreProcessor):
    """coffea processor: H and X candidates, m_X, m_Y, and the X jet's padded constituents."""

    kind = "hx"

    def __init__(self, store_path: str, config: HxConfig | None = None, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        self.config = config or HxConfig()

    def select(self, reader: ObjectReader) -> Selection:
        c = self.config
        if reader.kind == "physlite":
            raise BadInputError(reader.filename, physlite_constituents_error())
        fat = reader._collection("FatJet")
        if c.hbb_branch not in fat.fields:
            raise BadInputError(reader.filename, f"missing branch FatJet_{c.hbb_branch} (the Hbb tag score)")
        for name in ("PFCands", "FatJetPFCands"):
            if name not in reader.events.fields:
                raise BadInputError(reader.filename, f"missing collection {name} (PFNano jet constituents)")
        jets = ak.zip({**{f: reader.large_r_jets()[f] for f in ("pt", "eta", "phi", "mass", "tau1", "tau2", "tau3")},
                       "hbb": fat[c.hbb_branch], "index": ak.local_index(fat["pt"], axis=1)})
        jets = jets[abs(jets.eta) < c.large_r_eta_max]
        jets = jets[ak.argsort(jets.pt, axis=1, ascending=False)]
        weight = reader.weight()
        cutflow = Cutflow(CUTFLOW_STEPS)
        cutflow.fill("input", weight)
        padded = ak.pad_none(jets, 2, axis=1, clip=True)
        lead = {f: np.asarray(ak.fill_none(padded[f], 0), dtype=np.float64) for f in jets.fields}
        mask = np.asarray(ak.num(jets, axis=1) >= 2) & np.all(lead["pt"] > c.large_r_pt_min_gev, axis=1)
        cutflow.fill("two_large_r_jets", weight[mask])
        p4 = _four(lead["pt"], lead["eta"], lead["phi"], lead["mass"]).sum(axis=2)
        mjj = np.sqrt(np.maximum(p4[0] ** 2 - p4[1] ** 2 - p4[2] ** 2 - p4[3] ** 2, 0.0))
        mask &= mjj > c.mjj_min_gev
        cutflow.fill("mjj", weight[mask])
        tags = (lead["hbb"] > c.hbb_score_min) & (lead["mass"] > c.h_mass_min_gev) & (lead["mass"] < c.h_mass_max_gev)
        h = choose_h(tags[:, 0], tags[:, 1], lead["hbb"][:, 0], lead["hbb"][:, 1])
        preselected = mask.copy()
        mask &= h >= 0
        cutflow.fill("h_candidate", weight[mask])
        if c.training_jets:
            mask = preselected
        rows = np.flatnonzero(mask)
        is_h = h[rows] >= 0
        h_col = np.where(is_h, h[rows], 0)
        x_col = 1 - h_col

        def pick(field: str, col: np.ndarray) -> np.ndarray:
            return np.where(is_h, lead[field][rows, col], np.nan)

        links = reader.events["FatJetPFCands"]
        cands = reader.events["PFCands"]
        fields = {f: cands[f] for f in ("pt", "eta", "phi", "mass")}

        def constituents_of(jet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            index = np.full(len(mask), -1, dtype=np.int64)
            index[rows] = jet
            values, counts = padded_constituents(links["jetIdx"], links["pFCandsIdx"], fields, index, c.n_constituents)
            return values[rows], counts[rows]

        x_values, x_counts = constituents_of(np.where(is_h, lead["index"][rows, x_col], -1).astype(np.int64))
        columns: dict[str, np.ndarray] = {
            "mx_gev": pick("mass", x_col), "my_gev": np.where(is_h, mjj[rows], np.nan), "mh_gev": pick("mass", h_col),
            "pt_x_gev": pick("pt", x_col), "pt_h_gev": pick("pt", h_col),
            "eta_x": pick("eta", x_col), "eta_h": pick("eta", h_col),
            "hbb_score_h": pick("hbb", h_col), "hbb_score_x": pick("hbb", x_col),
            "tau21_x": safe_ratio(pick("tau2", x_col), pick("tau1", x_col)),
            "tau32_x": safe_ratio(pick("tau3", x_col), pick("tau2", x_col)),
            "tau21_h": safe_ratio(pick("tau2", h_col), pick("tau1", h_col)),
        }
        if c.training_jets:
            columns["mjj_gev"] = mjj[rows]
            for j in (0, 1):
                columns[f"pt_j{j + 1}_gev"] = lead["pt"][rows, j]
                columns[f"m_j{j + 1}_gev"] = lead["mass"][rows, j]
        columns = {k: v.astype(np.float32) for k, v in columns.items()}
        columns["x_is_leading"] = is_h & (x_col == 0)
        columns["x_constituents"] = x_values
        columns["n_constituents_x"] = x_counts
        if c.training_jets:
            columns["h_candidate"] = is_h
            for j in (0, 1):
                values, counts = constituents_of(lead["index"][rows, j].astype(np.int64))
                columns[f"j{j + 1}_constituents"] = values
                columns[f"n_constituents_j{j + 1}"] = counts
        columns.update({name: values_[mask] for name, values_ in reader.event_ids().items()})
        columns["weight"] = weight[mask]
        columns.update({name: values_[mask] for name, values_ in reader.truth().items()})
        return Selection(columns, cutflow)
