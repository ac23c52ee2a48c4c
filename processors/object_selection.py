"""The paper's object selection as named steps: each cut is one step of the object cutflow.

ATLAS, PRL 132 (2024) 081801, objects (left) and what adsearch applies per format (right);
:class:`adsearch.processors.objects.ObjectReader` provides the fields:

| step | paper | NanoAOD | PHYSLITE |
|---|---|---|---|
| electron_et | E_T > 20 GeV | pt > 20 | pt > 20 |
| electron_eta | abs(eta_cluster) < 2.47 | abs(eta + deltaEtaSC) < 2.47 | abs(eta) < 2.47 (calo-cluster eta not in PHYSLITE) |
| electron_crack | outside 1.37-1.52 | same | same |
| electron_id | Tight likelihood | cutBased == 4 (tight) | DFCommonElectronsLHTight |
| electron_isolation | FCTight | pfRelIso03_all < 0.06 | max(ptvarcone30, topoetcone20) / pt < 0.06 |
| electron_d0sig | abs(d0 / sigma(d0)) < 5 | abs(dxy / dxyErr) < 5 | not applied (track links not read) |
| electron_z0 | abs(z0 sin theta) < 0.5 mm | abs(dz) x 10 mm / cosh(eta) < 0.5 | not applied (track links not read) |
| muon_pt | pT > 20 GeV | pt > 20 | pt > 20 |
| muon_eta | abs(eta) < 2.5 | same | same |
| muon_id | Medium | mediumId | quality <= 1 (Medium or Tight) |
| muon_isolation | PflowTight | pfRelIso04_all < 0.15 (CMS tight PF isolation) | (ptcone20_pt500 + 0.4 neflowisol20) / pt < 0.045 |
| muon_d0sig | abs(d0 / sigma(d0)) < 3 | abs(dxy / dxyErr) < 3 | not applied |
| muon_z0 | abs(z0 sin theta) < 0.5 mm | abs(dz) x 10 / cosh(eta) < 0.5 | not applied |
| photon_pt | pT > 20 GeV | pt > 20 | pt > 20 |
| photon_eta | abs(eta) < 2.37 | same | same |
| photon_crack | outside 1.37-1.52 | same | same |
| photon_id | tight | cutBased >= 3 | DFCommonPhotonsIsEMTight |
| photon_isolation | tight (FixedCutTight) | pfRelIso03_all (v15: _quadratic) < 0.05 | topoetcone40 < 0.022 pt + 2.45 GeV and ptcone20 / pt < 0.05 |
| jet_pt | pT > 30 GeV | pt > 30 | pt > 30 |
| jet_eta | abs(eta) < 2.4 | same | same |
| jet_jvt | JVT for pT < 60 GeV | puId medium bit (puId & 2) for pt < 50 where the file has Jet_puId (CHS, Run 2); none for PUPPI (Run 3, no puId) | NNJvtPass for pt < 60 |

A cut whose input the file does not have passes every object, and :func:`object_steps` reports
the step as not applied (``ObjectReader.missing``), so a cutflow never claims a cut it did not make.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["OBJECT_STEPS", "object_steps", "object_masks"]

Fields = dict[str, np.ndarray]
Step = tuple[str, Callable[[Fields, Any], np.ndarray]]


def _outside_crack(eta: np.ndarray, crack: tuple[float, float]) -> np.ndarray:
    a = np.abs(eta)
    return (a < crack[0]) | (a > crack[1])


def _below(values: np.ndarray, cut: float) -> np.ndarray:
    """|values| < cut, with NaN (the format has no such field) passing."""
    return ~(np.abs(values) >= cut)


#: kind -> ordered (step name, cut(fields, config) -> mask); ``config`` is a LeptonConfig.
OBJECT_STEPS: dict[str, list[Step]] = {
    "electron": [
        ("electron_et", lambda f, c: f["pt"] > c.electron_pt_min_gev),
        ("electron_eta", lambda f, c: np.abs(f["eta_cluster"]) < c.electron_eta_max),
        ("electron_crack", lambda f, c: _outside_crack(f["eta_cluster"], c.crack_eta)),
        ("electron_id", lambda f, c: f["tight"]),
        ("electron_isolation", lambda f, c: f["iso_tight"]),
        ("electron_d0sig", lambda f, c: _below(f["d0sig"], c.electron_d0sig_max)),
        ("electron_z0", lambda f, c: _below(f["z0sintheta_mm"], c.z0sintheta_max_mm)),
    ],
    "muon": [
        ("muon_pt", lambda f, c: f["pt"] > c.muon_pt_min_gev),
        ("muon_eta", lambda f, c: np.abs(f["eta"]) < c.muon_eta_max),
        ("muon_id", lambda f, c: f["medium"]),
        ("muon_isolation", lambda f, c: f["iso_tight"]),
        ("muon_d0sig", lambda f, c: _below(f["d0sig"], c.muon_d0sig_max)),
        ("muon_z0", lambda f, c: _below(f["z0sintheta_mm"], c.z0sintheta_max_mm)),
    ],
    "photon": [
        ("photon_pt", lambda f, c: f["pt"] > c.photon_pt_min_gev),
        ("photon_eta", lambda f, c: np.abs(f["eta_cluster"]) < c.photon_eta_max),
        ("photon_crack", lambda f, c: _outside_crack(f["eta_cluster"], c.crack_eta)),
        ("photon_id", lambda f, c: f["tight"]),
        ("photon_isolation", lambda f, c: f["iso_tight"]),
    ],
    "jet": [
        ("jet_pt", lambda f, c: f["pt"] > c.jet_pt_min_gev),
        ("jet_eta", lambda f, c: np.abs(f["eta"]) < c.jet_eta_max),
        ("jet_jvt", lambda f, c: (f["pt"] >= c.jvt_pt_max_gev) | f["jvt_pass"]),
    ],
}

def object_steps(kind: str, fields: Fields, config: Any, missing: set[str] | frozenset[str] = frozenset()
                 ) -> list[tuple[str, np.ndarray, bool]]:
    """Cumulative masks after each step of ``kind``: (step, objects passing it and all before, applied).

    ``missing``: steps whose input the file lacks (``ObjectReader.missing``); they pass every
    object and are reported with ``applied`` False (see the module table).
    """
    out = []
    passed = np.ones(fields["pt"].size, dtype=bool)
    for name, cut in OBJECT_STEPS[kind]:
        passed = passed & np.asarray(cut(fields, config), dtype=bool)
        out.append((name, passed, name not in missing))
    return out


def object_masks(kind: str, fields: Fields, config: Any) -> np.ndarray:
    """Objects of ``kind`` passing every step."""
    return object_steps(kind, fields, config)[-1][1]
