"""Parametrized detector response: what turns Pythia particles into NanoAOD-like objects.

All numbers in one place (ATLAS Run-2-like; pT, E in GeV):

* **Acceptance**: visible final state = every stable particle except neutrinos, |eta| < 4.9
  (calorimeter coverage).  K0S and Lambda are stable (c tau > 10 mm).
* **Small-R jets**: anti-kt R = 0.4 on all visible particles; kept at smeared pT > 20 GeV,
  |eta| < 4.5.  JES calibrated (mean response 1.00); JER
  sigma(pT)/pT = sqrt((3/pT)^2 + 0.75^2/pT + 0.04^2)  (e.g. 17% at 30, 8.5% at 100, 4.6% at 1000);
  the four-vector (so the mass) scales with the pT response.
* **Flavour truth** ``Jet_hadronFlavour``: 5 if a B hadron with pT > 5 GeV is within dR < 0.3,
  else 4 for a C hadron, else 0 (ATLAS cone labelling).
* **b-tagging** ``Jet_btagDeepFlavB``: a score sigmoid(d), d ~ Normal(mu_f, 2.5), with mu_f set so
  that the cut ``score > BTAG_WP77 = 0.2770`` keeps 77% of b, 20% of c (rejection 5) and 1% of
  light jets (rejection 100) within |eta| < 2.5; score 0 outside the tracker.
* **Large-R jets**: see :mod:`adsearch.generator.substructure`; pT resolution as small-R jets,
  plus an 8% Gaussian mass resolution applied to the trimmed and softdrop masses alike;
  kept at smeared pT > 200 GeV, |eta| < 2.5.
* **Electrons**: |eta| < 2.47, efficiency 95%, sigma(E)/E = sqrt((0.10/sqrt(E))^2 + 0.007^2);
  **photons**: |eta| < 2.37, efficiency 90%, same resolution, pT > 20 GeV;
  **muons**: |eta| < 2.4, efficiency 97%, sigma(pT)/pT = sqrt(0.015^2 + (1e-4 pT)^2).
  Leptons are kept at pT > 10 GeV.  Isolation = scalar sum of the pT of the other visible
  particles within dR < 0.3 (electrons, photons) or 0.4 (muons), divided by the object pT;
  objects with isolation > 0.5 are not stored.
* **Identification**: a random ID quality per object (electron cutBased 4 tight 80%, 3 medium 8%,
  2 loose 6%, 1 veto 4%, 0 fail 2%), capped by isolation (< 0.10 -> 4, < 0.15 -> 3, < 0.20 -> 2,
  < 0.30 -> 1; so the separate FCTight isolation, pfRelIso03_all < 0.06, removes some tight
  electrons); photon cutBased 3/2/1/0 with the same ID draw minus one level and isolation caps
  0.10/0.15/0.25 (so the separate tight-isolation cut, pfRelIso03_all < 0.05, removes some
  tight photons); muon mediumId with 98% probability, tightId 96% (a subset of medium).
* **Impact parameters** (electrons, muons): ``dxyErr`` ~ 0.0010-0.0030 cm, ``dxy`` = dxyErr x t
  with t ~ N(0, 1) for 96% (prompt) and N(0, 6) for 4% (displaced: heavy-flavour decays,
  conversions), ``dz`` ~ N(0, 0.003 cm) for 97% and N(0, 0.2 cm) for 3% (pile-up vertices), so
  the d0-significance and z0 sin(theta) cuts remove a few percent.
* **Jet pile-up ID** ``Jet_puId`` (NanoAOD UL bits: 4 loose, 2 medium, 1 tight): 7 for jets
  above 50 GeV (not defined there, set to pass as in NanoAOD), else 7 (93%), 6 (2%), 4 (5%).
* **Triggers**: ``HLT_IsoMu24`` fires with 95% efficiency for an isolated (< 0.15) muon with
  pT > 26 GeV, |eta| < 2.4; ``HLT_Ele32_WPTight_Gsf`` with 93% for an isolated electron with
  pT > 34 GeV; every firing lepton is written as a ``TrigObj`` (id 11/13, its pt, eta, phi).
* **MET**: minus the vector sum of all visible particles, with each stored lepton or photon
  and each small-R jet (raw pT > 15 GeV) not within dR < 0.4 of an isolated (< 0.15) one
  replaced by its smeared momentum, plus a Gaussian soft-term
  noise of 0.5 sqrt(sum E_T of the particles outside those jets) per component;
  ``MET_sumEt`` = scalar sum of visible E_T after the same replacements.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from scipy.special import expit, logit, ndtri

__all__ = [
    "BTAG_WP77",
    "BTAG_EFFICIENCY",
    "jet_resolution",
    "smear_pt",
    "hadron_flavour",
    "btag_score",
    "isolation",
    "has_match",
    "electron_cut_based",
    "photon_cut_based",
    "JET_MIN_PT_GEV",
    "FATJET_MIN_PT_GEV",
]

JET_MIN_PT_GEV = 20.0
JET_MAX_ABS_ETA = 4.5
FATJET_MIN_PT_GEV = 200.0
FATJET_MAX_ABS_ETA = 2.5
FATJET_MASS_RESOLUTION = 0.08
BTAG_WP77 = 0.2770
#: Probability that the score passes BTAG_WP77, by hadron flavour (ATLAS 77% working point).
BTAG_EFFICIENCY = {5: 0.77, 4: 0.20, 0: 0.01}
_BTAG_WIDTH = 2.5
_BTAG_MAX_ABS_ETA = 2.5
FLAVOUR_DR = 0.3
FLAVOUR_HADRON_MIN_PT_GEV = 5.0

_JER_N, _JER_S, _JER_C = 3.0, 0.75, 0.04


def jet_resolution(pt_gev: np.ndarray) -> np.ndarray:
    """Relative jet pT resolution sigma(pT)/pT."""
    pt = np.maximum(pt_gev, 1.0)
    return np.sqrt((_JER_N / pt) ** 2 + _JER_S**2 / pt + _JER_C**2)


def electron_resolution(energy_gev: np.ndarray) -> np.ndarray:
    """Relative electron/photon energy resolution sigma(E)/E."""
    return np.sqrt(0.10**2 / np.maximum(energy_gev, 1.0) + 0.007**2)


def muon_resolution(pt_gev: np.ndarray) -> np.ndarray:
    """Relative muon pT resolution (multiple scattering + sagitta)."""
    return np.sqrt(0.015**2 + (1e-4 * pt_gev) ** 2)


def smear_pt(pt_gev: np.ndarray, relative_sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative Gaussian response, floored at 1% so no object flips direction."""
    response = 1.0 + relative_sigma * rng.standard_normal(len(pt_gev))
    return np.maximum(response, 0.01)


def _delta_r2(eta1: ak.Array, phi1: ak.Array, eta2: ak.Array, phi2: ak.Array) -> ak.Array:
    dphi = (phi1 - phi2 + np.pi) % (2 * np.pi) - np.pi
    return (eta1 - eta2) ** 2 + dphi**2


def has_match(objects: ak.Array, targets: ak.Array, max_dr: float) -> ak.Array:
    """Per object: is any target within ``max_dr`` (per-event lists of eta/phi records)."""
    pairs = ak.cartesian({"o": objects, "t": targets}, axis=1, nested=True)
    dr2 = _delta_r2(pairs.o.eta, pairs.o.phi, pairs.t.eta, pairs.t.phi)
    return ak.any(dr2 < max_dr**2, axis=2)


def hadron_flavour(jets: ak.Array, b_hadrons: ak.Array, c_hadrons: ak.Array) -> ak.Array:
    """5 / 4 / 0 by B / C hadron within dR < 0.3 (per-event lists of eta/phi records)."""
    has_b, has_c = has_match(jets, b_hadrons, FLAVOUR_DR), has_match(jets, c_hadrons, FLAVOUR_DR)
    return ak.where(has_b, 5, ak.where(has_c, 4, 0))


def btag_score(flavour: np.ndarray, abs_eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """DeepFlavB-like score in (0, 1) whose BTAG_WP77 cut has the BTAG_EFFICIENCY rates."""
    cut = logit(BTAG_WP77)
    mu = np.full(len(flavour), cut + _BTAG_WIDTH * ndtri(BTAG_EFFICIENCY[0]))
    for code in (5, 4):
        mu[flavour == code] = cut + _BTAG_WIDTH * ndtri(BTAG_EFFICIENCY[code])
    score = expit(mu + _BTAG_WIDTH * rng.standard_normal(len(flavour)))
    return np.where(abs_eta < _BTAG_MAX_ABS_ETA, score, 0.0)


def isolation(objects: ak.Array, particles: ak.Array, cone: float) -> ak.Array:
    """Relative isolation: sum pT of other visible particles within ``cone`` / object pT.

    ``objects`` and ``particles`` are per-event lists of records with pt, eta, phi; the object
    itself is one of the particles and is excluded by its zero distance.
    """
    pairs = ak.cartesian({"o": objects, "p": particles}, axis=1, nested=True)
    dr2 = _delta_r2(pairs.o.eta, pairs.o.phi, pairs.p.eta, pairs.p.phi)
    in_cone = (dr2 < cone**2) & (dr2 > 1e-10)
    return ak.sum(ak.where(in_cone, pairs.p.pt, 0.0), axis=2) / objects.pt


def _id_quality(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random ID level 4..0 with probabilities 80/8/6/4/2 %."""
    return 4 - np.searchsorted(np.cumsum([0.80, 0.08, 0.06, 0.04]), rng.random(n), side="right")


def electron_cut_based(rel_iso: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """NanoAOD Electron_cutBased (0 fail .. 4 tight): ID draw capped by isolation."""
    iso_level = 4 - np.searchsorted([0.10, 0.15, 0.20, 0.30], rel_iso, side="right")
    return np.minimum(_id_quality(len(rel_iso), rng), iso_level).astype(np.int32)


def photon_cut_based(rel_iso: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """NanoAOD Photon_cutBased (0 fail, 1 loose, 2 medium, 3 tight)."""
    iso_level = 3 - np.searchsorted([0.10, 0.15, 0.25], rel_iso, side="right")
    id_level = np.maximum(_id_quality(len(rel_iso), rng) - 1, 0)
    return np.minimum(id_level, iso_level).astype(np.int32)


def impact_parameters(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """NanoAOD ``dxy``, ``dxyErr``, ``dz`` (cm) of prompt-like leptons with displaced tails."""
    err = rng.uniform(0.0010, 0.0030, n)
    t = rng.standard_normal(n) * np.where(rng.random(n) < 0.04, 6.0, 1.0)
    dz = rng.standard_normal(n) * np.where(rng.random(n) < 0.03, 0.2, 0.003)
    return {"dxy": (t * err).astype(np.float32), "dxyErr": err.astype(np.float32), "dz": dz.astype(np.float32)}


def muon_id(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(mediumId, tightId): medium 98%, tight 96% and always medium."""
    u = rng.random(n)
    return u < 0.98, u < 0.96


def jet_pileup_id(pt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """NanoAOD UL ``Jet_puId`` bits (4 loose, 2 medium, 1 tight); 7 above 50 GeV."""
    u = rng.random(pt.size)
    low = np.where(u < 0.93, 7, np.where(u < 0.95, 6, 4))
    return np.where(pt >= 50.0, 7, low).astype(np.int32)


def single_lepton_trigger(electrons: ak.Array, muons: ak.Array, rng: np.random.Generator) -> dict[str, object]:
    """``HLT_IsoMu24``, ``HLT_Ele32_WPTight_Gsf`` and the ``TrigObj`` collection of firing leptons."""
    fired = {}
    objects = []
    for name, leps, pdg, pt_min, eff in (("HLT_IsoMu24", muons, 13, 26.0, 0.95),
                                          ("HLT_Ele32_WPTight_Gsf", electrons, 11, 34.0, 0.93)):
        iso = leps["pfRelIso04_all"] if pdg == 13 else leps["pfRelIso03_all"]
        flat_n = int(ak.sum(ak.num(leps, axis=1)))
        lucky = ak.unflatten(rng.random(flat_n) < eff, ak.num(leps, axis=1))
        passing = (leps.pt > pt_min) & (abs(leps.eta) < 2.4) & (iso < 0.15) & lucky
        fired[name] = np.asarray(ak.any(passing, axis=1))
        chosen = leps[passing]
        objects.append(ak.zip({"pt": chosen.pt, "eta": chosen.eta, "phi": chosen.phi,
                               "id": ak.values_astype(ak.zeros_like(chosen.pt), np.int32) + pdg}))
    trig = ak.concatenate(objects, axis=1)
    return {**fired, "TrigObj": trig}
