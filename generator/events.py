"""One batch of Pythia events -> NanoAOD-shaped awkward arrays (clustering + detector response).

The whole batch is handled as flat numpy arrays plus per-event counts: particles come out of
``pythia.nextBatch`` already vectorized, jets come out of FastJet's multi-event interface, and
no Python loop touches individual particles or events.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import awkward as ak
import fastjet
import numpy as np

from adsearch.generator import detector as det
from adsearch.generator.kernels import isolation_sums
from adsearch.generator.constituents import count_in_cone, pf_candidates, weakly_decaying, xbb_score
from adsearch.generator.substructure import R_FAT, fat_jets

__all__ = ["reconstruct", "ELECTRON_MASS_GEV", "MUON_MASS_GEV", "FASTJET_CITATION"]

#: what FastJet's banner asks users to cite; ``adsearch generate`` prints it once per run
FASTJET_CITATION = "jets clustered with FastJet (M. Cacciari, G.P. Salam, G. Soyez, EPJC 72 (2012) 1896, arXiv:1111.6097)"


def _silence_fastjet_banner() -> None:
    """FastJet prints a 17-line banner in every process that clusters; one per Dask worker and
    sample filled every generation log, so it is off here and its citation is printed once."""
    try:
        from fastjet import _swig

        _swig.ClusterSequence.set_fastjet_banner_stream(None)
    except (ImportError, AttributeError, TypeError):  # another fastjet build: its banner stays
        pass


_silence_fastjet_banner()

ELECTRON_MASS_GEV = 0.000511
MUON_MASS_GEV = 0.10566
_MAX_ABS_ETA_VISIBLE = 4.9
_JET_RAW_MIN_PT_GEV = 15.0
_FATJET_RAW_MIN_PT_GEV = 150.0
_MET_OVERLAP_DR = 0.4
_MET_OVERLAP_ISO = 0.15
_ANTIKT_04 = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4)
_F32 = np.float32


def _flat(array: ak.Array) -> np.ndarray:
    return np.asarray(ak.to_numpy(ak.flatten(array, axis=1)))


def _kinematics(px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    eta = np.arcsinh(np.divide(pz, pt, out=np.full_like(pz, 1e6) * np.sign(pz), where=pt > 0))
    return pt, eta, np.arctan2(py, px)


def _mass(e: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))


def _zip(fields: dict[str, np.ndarray], counts: np.ndarray) -> ak.Array:
    return ak.unflatten(ak.zip(fields, depth_limit=1), counts)


def _sorted_by_pt(collection: ak.Array) -> ak.Array:
    return collection[ak.argsort(collection.pt, axis=1, ascending=False)]


def _heavy_flavour(aid: np.ndarray, digit: int) -> np.ndarray:
    """Hadrons containing a quark of flavour ``digit`` (mesons xx{d}xx, baryons {d}xxx; no diquarks)."""
    meson = (aid >= 100) & ((aid // 100) % 10 == digit)
    baryon = (aid >= 1000) & ((aid // 1000) % 10 == digit) & ((aid // 10) % 10 != 0)
    return meson | baryon


class _Particles:
    """Flat particle columns of a batch and the masks the reconstruction needs."""

    def __init__(self, batch: ak.Array) -> None:
        prt = batch.prt
        self.n_events = len(batch)
        counts = np.asarray(ak.to_numpy(ak.num(prt, axis=1)))
        self.event = np.repeat(np.arange(self.n_events), counts)
        self.pid = _flat(prt.id)
        self.daughter1, self.daughter2 = _flat(prt.daughter1), _flat(prt.daughter2)
        self.start = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        status = _flat(prt.status)
        self.px, self.py, self.pz, self.e = (_flat(prt.p[c]) for c in ("px", "py", "pz", "e"))
        self.pt, self.eta, self.phi = _kinematics(self.px, self.py, self.pz)
        aid = np.abs(self.pid)
        self.aid = aid
        neutrino = (aid == 12) | (aid == 14) | (aid == 16)
        self.visible = (status > 0) & ~neutrino & (np.abs(self.eta) < _MAX_ABS_ETA_VISIBLE) & (self.pt > 0)
        hard = self.pt > det.FLAVOUR_HADRON_MIN_PT_GEV
        is_b = _heavy_flavour(aid, 5)
        self.b_hadron = hard & is_b
        self.c_hadron = hard & _heavy_flavour(aid, 4) & ~is_b

    def counts(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.event[mask], minlength=self.n_events)

    def records(self, mask: np.ndarray, fields: tuple[str, ...]) -> ak.Array:
        return _zip({f: getattr(self, f)[mask] for f in fields}, self.counts(mask))

    def momenta(self, mask: np.ndarray) -> ak.Array:
        fields = {"px": self.px[mask], "py": self.py[mask], "pz": self.pz[mask], "E": self.e[mask]}
        return ak.unflatten(ak.zip(fields, with_name="Momentum4D"), self.counts(mask))

    def per_event_sum(self, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.event[mask], weights=values[mask], minlength=self.n_events)


class _MetTerms:
    """Accumulates the smearing corrections that enter MET and sumEt."""

    def __init__(self, n_events: int) -> None:
        self.n = n_events
        self.dpx = np.zeros(n_events)
        self.dpy = np.zeros(n_events)
        self.dsumet = np.zeros(n_events)

    def add(self, event: np.ndarray, px: np.ndarray, py: np.ndarray, pt: np.ndarray, response: np.ndarray) -> None:
        extra = response - 1.0
        self.dpx += np.bincount(event, weights=extra * px, minlength=self.n)
        self.dpy += np.bincount(event, weights=extra * py, minlength=self.n)
        self.dsumet += np.bincount(event, weights=extra * pt, minlength=self.n)


class _RawJets(NamedTuple):
    """Unsmeared small-R jets (raw pT > 15 GeV) with their response, for the MET terms."""

    event: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    response: np.ndarray


def _small_r_jets(parts: _Particles, momenta: ak.Array, rng: np.random.Generator) -> tuple[ak.Array, _RawJets]:
    jets = fastjet.ClusterSequence(momenta, _ANTIKT_04).inclusive_jets(_JET_RAW_MIN_PT_GEV)
    counts = np.asarray(ak.to_numpy(ak.num(jets, axis=1)))
    event = np.repeat(np.arange(parts.n_events), counts)
    px, py, pz, e = (np.asarray(ak.to_numpy(ak.flatten(jets[c])), dtype=np.float64) for c in ("px", "py", "pz", "E"))
    pt, eta, phi = _kinematics(px, py, pz)
    response = det.smear_pt(pt, det.jet_resolution(pt), rng)
    keep = (pt * response > det.JET_MIN_PT_GEV) & (np.abs(eta) < det.JET_MAX_ABS_ETA)
    kept_counts = np.bincount(event[keep], minlength=parts.n_events)
    jet_dirs = _zip({"eta": eta[keep], "phi": phi[keep]}, kept_counts)
    flavour = _flat(det.hadron_flavour(
        jet_dirs,
        parts.records(parts.b_hadron, ("eta", "phi")),
        parts.records(parts.c_hadron, ("eta", "phi")),
    )).astype(np.int32) if keep.any() else np.zeros(0, np.int32)
    btag = det.btag_score(flavour, np.abs(eta[keep]), rng)
    collection = _zip({
        "pt": (pt * response)[keep].astype(_F32),
        "eta": eta[keep].astype(_F32),
        "phi": phi[keep].astype(_F32),
        "mass": (_mass(e, px, py, pz) * response)[keep].astype(_F32),
        "btagDeepFlavB": btag.astype(_F32),
        "hadronFlavour": flavour,
        "puId": det.jet_pileup_id((pt * response)[keep], rng),
    }, kept_counts)
    return _sorted_by_pt(collection), _RawJets(event, px, py, pt, eta, phi, response)


def _add_jets_to_met(raw: _RawJets, leptons: dict[str, ak.Array], met: _MetTerms) -> None:
    """Jet smearing enters MET except for jets that are an isolated stored lepton or photon, whose
    own smearing is already counted."""
    counts = np.bincount(raw.event, minlength=met.n)
    jets = _zip({"eta": raw.eta, "phi": raw.phi}, counts)
    isolated = [leptons[name][leptons[name][iso] < _MET_OVERLAP_ISO][["eta", "phi"]]
                for name, iso in (("Electron", "pfRelIso03_all"), ("Muon", "pfRelIso04_all"), ("Photon", "pfRelIso03_all"))]
    objects = ak.concatenate(isolated, axis=1)
    overlap = _flat(det.has_match(jets, objects, _MET_OVERLAP_DR)) if len(raw.pt) else np.zeros(0, bool)
    free = ~np.asarray(overlap, dtype=bool)
    met.add(raw.event[free], raw.px[free], raw.py[free], raw.pt[free], raw.response[free])


def _large_r_jets(parts: _Particles, momenta: ak.Array, rng: np.random.Generator,
                  constituents: bool = True) -> dict[str, ak.Array]:
    """FatJet (trimmed kinematics, tau_N, Xbb score) plus, if asked, its constituents in the PFNano layout."""
    raw = fat_jets(momenta, _FATJET_RAW_MIN_PT_GEV, det.FATJET_MAX_ABS_ETA + 0.2)
    counts = np.asarray(ak.to_numpy(ak.num(raw.px, axis=1)))
    px, py, pz, e = (np.asarray(ak.to_numpy(ak.flatten(x)), dtype=np.float64) for x in (raw.px, raw.py, raw.pz, raw.energy))
    pt, eta, phi = _kinematics(px, py, pz)
    response = det.smear_pt(pt, det.jet_resolution(pt), rng)
    mass_response = det.smear_pt(pt, np.full(len(pt), det.FATJET_MASS_RESOLUTION), rng)
    keep = (pt * response > det.FATJET_MIN_PT_GEV) & (np.abs(eta) < det.FATJET_MAX_ABS_ETA)
    tau = np.asarray(ak.to_numpy(ak.flatten(raw.tau, axis=1))).reshape(-1, 4)[keep]
    msd = np.asarray(ak.to_numpy(ak.flatten(raw.msoftdrop)))
    fields = {
        "pt": (pt * response)[keep],
        "eta": eta[keep],
        "phi": phi[keep],
        "mass": (_mass(e, px, py, pz) * response * mass_response)[keep],
        "msoftdrop": (msd * response * mass_response)[keep],
        **{f"tau{n}": tau[:, n - 1] for n in range(1, 5)},
    }
    event = np.repeat(np.arange(len(counts)), counts)
    kept_counts = np.bincount(event[keep], minlength=len(counts))
    jet_dirs = _zip({"eta": eta[keep], "phi": phi[keep]}, kept_counts)
    weak_b = weakly_decaying(parts.b_hadron, parts.daughter1, parts.daughter2, parts.start)
    n_b = count_in_cone(jet_dirs, parts.records(weak_b, ("eta", "phi")), R_FAT) if keep.any() else np.zeros(0, np.int32)
    collection = _zip({**{k: v.astype(_F32) for k, v in fields.items()},
                       "particleNetMD_Xbb": xbb_score(n_b, rng), "nBHadrons": n_b.astype(np.uint8)}, kept_counts)
    if not constituents:
        return {"FatJet": _sorted_by_pt(collection)}
    return {"FatJet": _sorted_by_pt(collection), **_constituents(parts, raw, keep, event, (pt * response)[keep], response[keep])}


def _constituents(parts: _Particles, raw: Any, keep: np.ndarray, event: np.ndarray, smeared_pt: np.ndarray,
                  response: np.ndarray) -> dict[str, ak.Array]:
    """PFCands / FatJetPFCands of the kept jets, in the final (pT-ordered) FatJet order."""
    visible = np.flatnonzero(parts.visible)
    vis_start = np.concatenate([[0], np.cumsum(parts.counts(parts.visible))[:-1]])
    per_jet = ak.flatten(raw.constituent_index, axis=1)
    sizes = np.asarray(ak.to_numpy(ak.num(per_jet, axis=1)))
    local = np.asarray(ak.to_numpy(ak.flatten(per_jet)), dtype=np.int64)
    flat = visible[local + np.repeat(vis_start[event], sizes)]
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    index = [flat[bounds[k]:bounds[k + 1]] for k in np.flatnonzero(keep)]
    jet_event = event[keep]
    order = np.lexsort((-smeared_pt, jet_event))
    slot = np.empty(len(order), np.int64)
    first = np.concatenate([[0], np.cumsum(np.bincount(jet_event, minlength=parts.n_events))[:-1]])
    slot[order] = np.arange(len(order)) - first[jet_event[order]]
    particles = {"pt": parts.pt, "eta": parts.eta, "phi": parts.phi, "pid": parts.pid,
                 "mass": _mass(parts.e, parts.px, parts.py, parts.pz)}
    return pf_candidates(index, jet_event, slot, response, particles, parts.n_events)


def _relative_isolation(parts: _Particles, index: np.ndarray, cone: float) -> np.ndarray:
    """Relative isolation of the particles ``index`` against all visible particles (numba kernel;
    :func:`adsearch.generator.detector.isolation` is the awkward reference it is tested against)."""
    vis = parts.visible
    offsets = np.concatenate([[0], np.cumsum(parts.counts(vis))]).astype(np.int64)
    sums = isolation_sums(parts.event[index], parts.eta[index], parts.phi[index], offsets,
                          parts.eta[vis], parts.phi[vis], parts.pt[vis], cone)
    return sums / parts.pt[index]


def _leptons(parts: _Particles, met: _MetTerms, rng: np.random.Generator) -> dict[str, ak.Array]:
    abs_eta = np.abs(parts.eta)
    specs = {
        # name: (pdg id, |eta| max, efficiency, truth pT pre-cut, cone, stored pT min)
        "Electron": (11, 2.47, 0.95, 8.0, 0.3, 10.0),
        "Muon": (13, 2.4, 0.97, 8.0, 0.4, 10.0),
        "Photon": (22, 2.37, 0.90, 16.0, 0.3, 20.0),
    }
    out = {}
    for name, (pdg, eta_max, efficiency, pre_pt, cone, min_pt) in specs.items():
        mask = parts.visible & (parts.aid == pdg) & (abs_eta < eta_max) & (parts.pt > pre_pt)
        index = np.flatnonzero(mask)
        iso = _relative_isolation(parts, index, cone)
        pt = parts.pt[index]
        sigma = det.muon_resolution(pt) if pdg == 13 else det.electron_resolution(parts.e[index])
        response = det.smear_pt(pt, sigma, rng)
        found = rng.random(len(index)) < efficiency
        keep = found & (pt * response > min_pt) & (iso < 0.5)
        index, iso, response = index[keep], iso[keep], response[keep]
        event = parts.event[index]
        met.add(event, parts.px[index], parts.py[index], parts.pt[index], response)
        fields = {
            "pt": (parts.pt[index] * response).astype(_F32),
            "eta": parts.eta[index].astype(_F32),
            "phi": parts.phi[index].astype(_F32),
        }
        if pdg == 11:
            fields |= {"mass": np.full(len(index), ELECTRON_MASS_GEV, _F32),
                       "charge": -np.sign(parts.pid[index]).astype(np.int32),
                       "cutBased": det.electron_cut_based(iso, rng),
                       "pfRelIso03_all": iso.astype(_F32),
                       **det.impact_parameters(len(index), rng)}
        elif pdg == 13:
            medium, tight = det.muon_id(len(index), rng)
            fields |= {"mass": np.full(len(index), MUON_MASS_GEV, _F32),
                       "charge": -np.sign(parts.pid[index]).astype(np.int32),
                       "mediumId": medium,
                       "tightId": tight,
                       "pfRelIso04_all": iso.astype(_F32),
                       **det.impact_parameters(len(index), rng)}
        else:
            fields |= {"mass": np.zeros(len(index), _F32),
                       "cutBased": det.photon_cut_based(iso, rng),
                       "pfRelIso03_all": iso.astype(_F32)}
        out[name] = _sorted_by_pt(_zip(fields, np.bincount(event, minlength=parts.n_events)))
    return out


def reconstruct(batch: ak.Array, rng: np.random.Generator, *, fat_jets_on: bool = True,
                constituents: bool = True) -> dict[str, Any]:
    """Detector-level NanoAOD collections for one ``nextBatch`` array (branch name -> array);
    ``constituents=False`` leaves out PFCands / FatJetPFCands (same random stream otherwise)."""
    parts = _Particles(batch)
    met = _MetTerms(parts.n_events)
    momenta = parts.momenta(parts.visible)
    jets, raw_jets = _small_r_jets(parts, momenta, rng)
    leptons = _leptons(parts, met, rng)
    _add_jets_to_met(raw_jets, leptons, met)
    raw_jet_pt = np.bincount(raw_jets.event, weights=raw_jets.pt, minlength=parts.n_events)
    vis = parts.visible
    sum_px = parts.per_event_sum(vis, parts.px) + met.dpx
    sum_py = parts.per_event_sum(vis, parts.py) + met.dpy
    sum_et = parts.per_event_sum(vis, parts.pt)
    soft_sigma = 0.5 * np.sqrt(np.maximum(sum_et - raw_jet_pt, 0.0))
    met_x = -sum_px + soft_sigma * rng.standard_normal(parts.n_events)
    met_y = -sum_py + soft_sigma * rng.standard_normal(parts.n_events)
    if fat_jets_on:
        large_r = _large_r_jets(parts, momenta, rng, constituents)
    else:
        none = np.zeros(parts.n_events, np.int64)
        large_r = {
            "FatJet": _zip({**{k: np.zeros(0, _F32) for k in ("pt", "eta", "phi", "mass", "msoftdrop", "tau1", "tau2",
                                                                "tau3", "tau4", "particleNetMD_Xbb")},
                            "nBHadrons": np.zeros(0, np.uint8)}, none),
            **pf_candidates([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), {}, parts.n_events),
        }
    if not constituents:
        large_r = {"FatJet": large_r["FatJet"]}
    return {
        "Jet": jets,
        **large_r,
        **leptons,
        **det.single_lepton_trigger(leptons["Electron"], leptons["Muon"], rng),
        "MET_pt": np.hypot(met_x, met_y).astype(_F32),
        "MET_phi": np.arctan2(met_y, met_x).astype(_F32),
        "MET_sumEt": (sum_et + met.dsumet).astype(_F32),
        "truth_pthat": np.sqrt(np.asarray(ak.to_numpy(batch.info.pT2Hat))).astype(_F32),
    }
