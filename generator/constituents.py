"""Large-R jet constituents in the CMS PFNano layout, and a truth-calibrated Hbb tag score.

PFNano (the layout of ``../shared/data/real/pfnano.root``) stores particle-flow candidates once
per event (``PFCands_pt/eta/phi/mass/charge/pdgId``) and a jet -> candidate map
(``FatJetPFCands_jetIdx`` into ``FatJet``, ``FatJetPFCands_pFCandsIdx`` into ``PFCands``). The
generator writes the same: the candidates are the *ungroomed* anti-kt R = 1.0 constituents of
every stored large-R jet (as PFNano stores the ungroomed AK8 constituents), each scaled by its
jet's pT response so that they sum to the smeared ungroomed jet; within a jet they are
pT-ordered. Candidate types follow CMS PF: electrons +-11, muons +-13, photons 22, charged
hadrons +-211 (sign of the charge), neutral hadrons 130.

``FatJet_particleNetMD_Xbb`` is a score sigmoid(d), d ~ Normal(mu_n, 2.5), where n is the number
of weakly decaying B hadrons (pT > 5 GeV, no B-hadron daughter) within dR < 1.0 of the jet
(``FatJet_nBHadrons``, n capped at 2): mu_n is set so that the cut ``score > XBB_WP = 0.9``
keeps 60% of jets with two B hadrons (H -> bb), 10% with one (g -> bb with one B lost, single
b) and 1% of jets with none (ATLAS's 60%-efficiency Xbb working point and its light rejection).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from scipy.special import expit, logit, ndtri

__all__ = ["XBB_WP", "XBB_EFFICIENCY", "pdg_charge", "pf_pdg_id", "weakly_decaying", "count_in_cone",
           "xbb_score", "pf_candidates"]

XBB_WP = 0.9
#: Probability that the score passes XBB_WP, by the number of B hadrons in the jet (capped at 2).
XBB_EFFICIENCY = {2: 0.60, 1: 0.10, 0: 0.01}
_XBB_WIDTH = 2.5
#: Quark charges x 3 by flavour digit (d, u, s, c, b, t).
_QUARK_CHARGE3 = np.array([0, -1, 2, -1, 2, -1, 2, 0, 0, 0])


def pdg_charge(pid: np.ndarray) -> np.ndarray:
    """Electric charge (units of e) of leptons, photons and hadrons from the PDG id digits.

    >>> pdg_charge(np.array([211, -211, 321, 130, 310, 2212, -2112, 11, -13, 22, 521, 3122])).tolist()
    [1, -1, 1, 0, 0, 1, 0, -1, 1, 0, 1, 0]
    """
    pid = np.asarray(pid, dtype=np.int64)
    aid = np.abs(pid)
    q1, q2, q3 = (aid // 1000) % 10, (aid // 100) % 10, (aid // 10) % 10
    meson3 = _QUARK_CHARGE3[q2] - _QUARK_CHARGE3[q3]
    meson3 = np.where(q2 % 2 == 1, -meson3, meson3)  # a down-type heavier quark is the antiquark
    baryon3 = _QUARK_CHARGE3[q1] + _QUARK_CHARGE3[q2] + _QUARK_CHARGE3[q3]
    charge3 = np.where(q1 > 0, baryon3, np.where(aid >= 100, meson3, 0))
    lepton = (aid == 11) | (aid == 13) | (aid == 15)
    charge3 = np.where(lepton, -3, np.where(aid == 24, 3, charge3))
    return (np.sign(pid) * charge3 // 3).astype(np.int32)


def pf_pdg_id(pid: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """CMS PF candidate type: e/mu keep their id, photons 22, hadrons +-211 (charged) or 130.

    >>> pf_pdg_id(np.array([-11, 22, 321, 2112, -2212]), np.array([1, 0, 1, 0, -1])).tolist()
    [-11, 22, 211, 130, -211]
    """
    aid = np.abs(pid)
    keep = (aid == 11) | (aid == 13) | (aid == 22)
    hadron = np.where(charge != 0, 211 * np.sign(charge), 130)
    return np.where(keep, pid, hadron).astype(np.int32)


def weakly_decaying(is_hadron: np.ndarray, daughter1: np.ndarray, daughter2: np.ndarray,
                    event_start: np.ndarray) -> np.ndarray:
    """Mask of hadrons none of whose daughters is of the same kind (B* -> B gamma counts once).

    Pythia record convention: daughters d1..d2 when d2 >= d1 > 0, d1 and d2 when d2 < d1, d1
    alone when d2 == 0; indices are within the event, ``event_start`` is each row's event offset.
    """
    flat = np.concatenate([[0], np.cumsum(is_hadron)])
    n = len(is_hadron)
    d1 = np.clip(daughter1 + event_start, 0, n - 1)
    d2 = np.clip(daughter2 + event_start, 0, n - 1)
    ranged = (daughter2 >= daughter1) & (daughter1 > 0)
    lo, hi = d1, np.where(ranged, d2, d1)
    child = np.where(daughter1 > 0, flat[hi + 1] - flat[lo], 0)
    extra = (daughter2 > 0) & (daughter2 < daughter1)
    child = child + np.where(extra, is_hadron[d2], 0)
    return is_hadron & (child == 0)


def count_in_cone(jets: ak.Array, objects: ak.Array, radius: float) -> np.ndarray:
    """Per jet (flattened): how many ``objects`` lie within ``radius`` (per-event eta/phi lists)."""
    pairs = ak.cartesian({"j": jets, "o": objects}, axis=1, nested=True)
    dphi = (pairs.j.phi - pairs.o.phi + np.pi) % (2 * np.pi) - np.pi
    inside = (pairs.j.eta - pairs.o.eta) ** 2 + dphi**2 < radius**2
    return np.asarray(ak.to_numpy(ak.flatten(ak.sum(inside, axis=2), axis=1)), dtype=np.int32)


def xbb_score(n_b_hadrons: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``particleNetMD_Xbb``-like score whose XBB_WP cut has the XBB_EFFICIENCY rates."""
    cut = logit(XBB_WP)
    capped = np.minimum(np.asarray(n_b_hadrons), 2)
    mu = np.zeros(len(capped))
    for n, eff in XBB_EFFICIENCY.items():
        mu[capped == n] = cut + _XBB_WIDTH * ndtri(eff)
    return expit(mu + _XBB_WIDTH * rng.standard_normal(len(capped))).astype(np.float32)


def pf_candidates(index: list[np.ndarray], jet_event: np.ndarray, jet_slot: np.ndarray, response: np.ndarray,
                  particles: dict[str, np.ndarray], n_events: int) -> dict[str, ak.Array]:
    """``PFCands`` and ``FatJetPFCands`` collections for the stored jets.

    ``index[k]``: flat particle indices of stored jet k's constituents; ``jet_event`` / ``jet_slot``:
    its event and position in the event's pT-ordered ``FatJet`` list; ``response``: its pT
    response; ``particles``: flat ``pt, eta, phi, mass, pid`` of all particles of the batch.
    """
    order = np.lexsort((jet_slot, jet_event))  # event, then FatJet index: PFNano's order
    parts, jet_idx, cand_event, scale = [], [], [], []
    for k in order:
        constituents = index[k][np.argsort(-particles["pt"][index[k]], kind="stable")]
        parts.append(constituents)
        jet_idx.append(np.full(len(constituents), jet_slot[k], np.int32))
        cand_event.append(np.full(len(constituents), jet_event[k], np.int64))
        scale.append(np.full(len(constituents), response[k]))
    flat = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    events = np.concatenate(cand_event) if parts else np.zeros(0, np.int64)
    factor = np.concatenate(scale) if parts else np.zeros(0)
    counts = np.bincount(events, minlength=n_events)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    column = {name: particles[name][flat] if parts else np.zeros(0) for name in ("pt", "eta", "phi", "mass", "pid")}
    column["pid"] = column["pid"].astype(np.int64)
    charge = pdg_charge(column["pid"])
    cands = {
        "pt": (column["pt"] * factor).astype(np.float32),
        "eta": column["eta"].astype(np.float32),
        "phi": column["phi"].astype(np.float32),
        "mass": (column["mass"] * factor).astype(np.float32),
        "charge": charge,
        "pdgId": pf_pdg_id(column["pid"], charge),
    }
    links = {
        "jetIdx": np.concatenate(jet_idx) if parts else np.zeros(0, np.int32),
        "pFCandsIdx": (np.arange(len(flat)) - np.repeat(starts, counts)).astype(np.int32),
    }
    return {"PFCands": ak.unflatten(ak.zip(cands, depth_limit=1), counts),
            "FatJetPFCands": ak.unflatten(ak.zip(links, depth_limit=1), counts)}
