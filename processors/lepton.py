"""Lepton + X selection of the ATLAS anomaly-detection search, with the RMM per event.

Objects as published (all in GeV, cuts configurable in :class:`LeptonConfig`; every cut is a named
step of the object cutflow, with its NanoAOD and PHYSLITE implementation, in
:mod:`adsearch.processors.object_selection`):

- electrons: E_T > 20, |eta_cluster| < 2.47 outside 1.37-1.52, Tight ID, FCTight isolation,
  |d0/sigma(d0)| < 5, |z0 sin(theta)| < 0.5 mm
- muons: pT > 20, |eta| < 2.5, Medium ID, PflowTight isolation, |d0/sigma(d0)| < 3,
  |z0 sin(theta)| < 0.5 mm
- photons: pT > 20, |eta_cluster| < 2.37 outside 1.37-1.52, tight ID and tight isolation
- jets: pT > 30, |eta| < 2.4, pile-up rejection (JVT) below 60 GeV; b-tagged at the 77% working
  point -> b-jets, the rest light jets

Overlap removal follows the ATLAS AssociationUtils standard order, without track information
(so "shared track" becomes a tiny Delta R and the muon-jet track-count condition is dropped);
each step sees only the objects that survived the previous ones:

1. electron-muon: electron removed if Delta R(e, mu) < 0.01 (shared-track proxy);
2. electron-jet: jet removed if Delta R < 0.2, then electron removed if Delta R < 0.4 to a jet;
3. muon-jet: jet removed if Delta R < 0.2, then muon removed if Delta R < 0.4 to a jet;
4. photon-electron, photon-muon: photon removed if Delta R < 0.4;
5. photon-jet: jet removed if Delta R < 0.4 to a photon.

Preselection (cutflow steps, the last one ``lumi_mask``: the data-quality mask of a data dataset
when ``lumi_masks`` names one, else it cuts nothing): trigger (OR of the configured single-lepton
triggers the file has; a file with none of them is a :class:`BadInputError` unless the config says
``trigger: none``, which skips the trigger and matching steps), >= 1 lepton with pT > 60, trigger
matching of such a lepton (NanoAOD: a same-flavour ``TrigObj`` within Delta R < 0.1, when the file
has trigger objects; PHYSLITE: the lepton is among the objects its flavour's chains matched),
>= 1 jet (light or b).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import awkward as ak
import numpy as np
from pydantic import Field

from adsearch.config import StrictModel
from adsearch.errors import BadInputError
from adsearch.processors.base import Selection, StoreProcessor
from adsearch.processors.cutflow import Cutflow
from adsearch.processors.flat import Flat
from adsearch.processors.object_selection import object_steps
from adsearch.processors.objects import ObjectReader
from adsearch.processors.overlap import any_near, overlap_alive
from adsearch.processors.reading import no_trigger_reason
from adsearch.processors.rmm import RMMConfig

__all__ = ["LeptonConfig", "LeptonProcessor", "LeptonObjects", "select_lepton_objects", "object_cutflow",
           "selected_objects", "trigger_branches", "trigger_description", "MASS_COLUMNS", "CUTFLOW_STEPS"]

#: column -> (first object, second object): leading light jet "j", b-jet "b", e, mu, gamma.
MASS_COLUMNS: dict[str, tuple[str, str]] = {
    "mass_jj_gev": ("jet", "jet2"),
    "mass_jb_gev": ("jet", "bjet"),
    "mass_bb_gev": ("bjet", "bjet2"),
    "mass_je_gev": ("jet", "electron"),
    "mass_jmu_gev": ("jet", "muon"),
    "mass_jgamma_gev": ("jet", "photon"),
    "mass_be_gev": ("bjet", "electron"),
    "mass_bmu_gev": ("bjet", "muon"),
    "mass_bgamma_gev": ("bjet", "photon"),
}
CUTFLOW_STEPS = ("input", "trigger", "lepton_pt", "trigger_match", "jet", "lumi_mask")
_CRACK = (1.37, 1.52)


class LeptonConfig(StrictModel):
    """Cuts of the lepton + X selection (ATLAS AE search defaults)."""

    electron_pt_min_gev: float = 20.0
    electron_eta_max: float = 2.47
    electron_d0sig_max: float = 5.0
    electron_reliso_max: float | None = Field(None, description="extra cut on top of the FCTight working point")
    muon_pt_min_gev: float = 20.0
    muon_eta_max: float = 2.5
    muon_d0sig_max: float = 3.0
    muon_reliso_max: float | None = Field(None, description="extra cut on top of the PflowTight working point")
    z0sintheta_max_mm: float = 0.5
    photon_pt_min_gev: float = 20.0
    photon_eta_max: float = 2.37
    crack_eta: tuple[float, float] = _CRACK
    jet_pt_min_gev: float = 30.0
    jet_eta_max: float = 2.4
    jvt_pt_max_gev: float = Field(60.0, description="pile-up rejection applies to jets below this pT")
    btag_threshold: float | None = Field(None, description="overrides btag_working_points for every format")
    btag_working_points: dict[str, float] = Field(
        default_factory=lambda: {"nanoaod": 0.2770, "physlite": 2.456},
        description="77% b-tagging cut per format: NanoAOD btagDeepFlavB > 0.2770 (CMS BTV DeepJet medium WP, "
        "UL2018 recommendation; set the Run-3 value for Run-3 files); PHYSLITE DL1dv01 > 2.456 "
        "(ATLAS FTAG FixedCutBEff_77, f_c = 0.018, 2022 CDI)",
    )
    lead_lepton_pt_min_gev: float = 60.0
    min_jets: int = 1
    triggers: list[str] = Field(default_factory=lambda: [
        "IsoMu24", "IsoMu27", "Mu50", "Ele27_WPTight_Gsf", "Ele32_WPTight_Gsf", "Ele35_WPTight_Gsf",
        "Ele115_CaloIdVT_GsfTrkIdT",
    ], description="single-electron and single-muon HLT paths only (the paper's triggers)")
    physlite_triggers: list[str] = Field(default_factory=lambda: [
        "e24_lhmedium_L1EM20VH", "e60_lhmedium", "e120_lhloose", "mu20_iloose_L1MU15", "mu40",  # 2015
        "e26_lhtight_nod0_ivarloose", "e60_lhmedium_nod0", "e140_lhloose_nod0", "mu26_ivarmedium", "mu50",  # 2016-18
    ], description="ATLAS single-electron and single-muon chains (PHYSLITE: read from the TrigMatch containers)")
    trigger: Literal["hlt", "none"] = Field(
        "hlt", description="hlt: the OR of the configured triggers and trigger matching; a file with none of them "
        "is an error. none: no trigger step (files without trigger information, e.g. a private skim)")
    trigger_match_dr: float = 0.1
    absent_collections: list[Literal["Photon"]] = Field(
        default_factory=list,
        description="collections a skim dropped (e.g. Photon in CMS nano_tt_v12): read as empty, recorded in the store's config",
    )
    lumi_masks: dict[str, str] = Field(
        default_factory=dict,
        description="data dataset -> CMS golden JSON or ATLAS GRL XML; events outside it are cut (step lumi_mask)",
    )
    met_sources: list[str] = Field(default_factory=lambda: ["MET", "PFMET", "PuppiMET"])
    rmm: RMMConfig = Field(default_factory=RMMConfig)


class LeptonObjects(dict):
    """kind -> selected, overlap-removed, pT-ordered objects (jet = light jets only)."""


def _delta_r_min(a: ak.Array, b: ak.Array) -> ak.Array:
    """For each object of ``a``, the smallest Delta R to any object of ``b`` (inf if none).
    The awkward reference of the numba kernels (overlap removal, trigger matching) in the tests."""
    pairs = ak.cartesian({"a": a[["eta", "phi"]], "b": b[["eta", "phi"]]}, axis=1, nested=True)
    deta = pairs["a", "eta"] - pairs["b", "eta"]
    dphi = (pairs["a", "phi"] - pairs["b", "phi"] + np.pi) % (2 * np.pi) - np.pi
    return ak.fill_none(ak.min(np.sqrt(deta * deta + dphi * dphi), axis=2), np.inf)


#: object fields the lepton selection never uses: not read (three branches less per unit)
_UNUSED = {"electron": ("charge",), "muon": ("charge", "tight")}


def _identified(reader: ObjectReader, config: LeptonConfig) -> dict[str, tuple[Flat, list[tuple[str, np.ndarray, bool]]]]:
    """kind -> (all objects, the cumulative masks of its named object-cutflow steps)."""
    out = {}
    for kind, objects in (("electron", Flat.of(reader.electrons(), skip=_UNUSED["electron"])),
                          ("muon", Flat.of(reader.muons(), skip=_UNUSED["muon"])),
                          ("photon", Flat.of(reader.photons())), ("jet", Flat.of(reader.jets()))):
        if reader.kind == "physlite" and kind in ("electron", "muon"):  # for trigger matching by element link
            objects.fields["index"] = np.arange(objects.offsets[-1]) - np.repeat(objects.offsets[:-1], objects.counts)
        steps = object_steps(kind, objects.fields, config, reader.missing)
        extra = {"electron": config.electron_reliso_max, "muon": config.muon_reliso_max}.get(kind)
        if extra is not None:
            steps.append((f"{kind}_reliso_extra", steps[-1][1] & (objects.fields["reliso"] < extra), True))
        out[kind] = (objects, steps)
    return out


def object_cutflow(reader: ObjectReader, config: LeptonConfig | None = None) -> dict[str, list[dict[str, Any]]]:
    """The object cutflow of one chunk: kind -> [{step, objects passing, applied}] in cut order,
    the first entry counting the input objects. ``applied`` False: the file lacks the cut's input.

    >>> object_cutflow(ObjectReader(open_events("f.root")))["muon"][3]  # doctest: +SKIP
    {'step': 'muon_id', 'objects': 812, 'applied': True}
    """
    config = config or LeptonConfig()
    out = {}
    for kind, (objects, steps) in _identified(reader, config).items():
        out[kind] = [{"step": "input", "objects": int(objects.fields["pt"].size), "applied": True}] + [
            {"step": name, "objects": int(mask.sum()), "applied": applied} for name, mask, applied in steps]
    return out


#: the object fields the processor needs after the object cuts (kinematics, b-tag, PHYSLITE link index)
_PROCESSOR_FIELDS = ("pt", "eta", "phi", "mass", "btag", "index")


def _select_flat(reader: ObjectReader, config: LeptonConfig, fields: tuple[str, ...] | None = None) -> dict[str, Flat]:
    """:func:`select_lepton_objects` on flat arrays: kind -> selected, overlap-removed, pT-ordered;
    ``fields``: carry only these fields past the object cuts (default all)."""
    chosen = {}
    for kind, (objects, steps) in _identified(reader, config).items():
        if fields is not None:
            objects = Flat(objects.offsets, {f: v for f, v in objects.fields.items() if f in fields})
        chosen[kind] = objects.keep(steps[-1][1])
    el, mu, ph, jet = (chosen[k] for k in ("electron", "muon", "photon", "jet"))

    alive = overlap_alive([(x.offsets, x.fields["eta"], x.fields["phi"]) for x in (jet, el, mu, ph)])
    jet, el, mu, ph = (x.keep(keep) for x, keep in zip((jet, el, mu, ph), alive))

    jet = jet.by_pt()
    btag = jet.fields["btag"]
    return {"jet": jet.keep(~btag), "bjet": jet.keep(btag), "electron": el.by_pt(), "muon": mu.by_pt(),
            "photon": ph.by_pt()}


def select_lepton_objects(reader: ObjectReader, config: LeptonConfig) -> LeptonObjects:
    """Identified objects after overlap removal (module docstring), per event, pT-ordered
    (the reader's fields except lepton ``charge`` and muon ``tight``, which the selection does not read)."""
    return LeptonObjects({kind: flat.to_ak() for kind, flat in _select_flat(reader, config).items()})


def trigger_description(config: LeptonConfig) -> str:
    """What the trigger step of a run with ``config`` does (recorded in the store and summary)."""
    if config.trigger == "none":
        return "none (trigger: none in the processor config; no trigger step, no trigger matching)"
    return "hlt: OR of the configured single-lepton triggers, the selected lead lepton matched to a trigger object"


def trigger_branches(config: LeptonConfig, schema: str) -> tuple[str, ...]:
    """Branches any one of which gives a file trigger information for ``config`` (none: no trigger)."""
    if config.trigger == "none":
        return ()
    if schema == "physlite":
        return tuple(f"AnalysisTrigMatch_HLT_{n}AuxDyn.TrigMatchedObjects" for n in config.physlite_triggers)
    return tuple(f"HLT_{n}" for n in config.triggers)


def _physlite_matched(reader: ObjectReader, objects: LeptonObjects, config: LeptonConfig) -> np.ndarray:
    """PHYSLITE: is a selected lead-pT lepton among the offline objects its flavour's chains
    matched (``TrigMatch_HLT_<chain>`` element links: ``m_persIndex`` into the chain's own
    flavour's container; a single-electron chain's name starts with ``e``, a muon one's with ``mu``)?"""
    n = len(reader.events)
    matched = np.zeros(n, dtype=bool)
    _decision, found = reader.trigger(tuple(config.physlite_triggers))
    for kind in ("electron", "muon"):
        chains = [c for c in found if (c.startswith("mu") if kind == "muon" else c.startswith("e"))]
        leps = objects[kind]
        leps = leps[leps.pt > config.lead_lepton_pt_min_gev]
        if not chains or "index" not in ak.fields(leps):
            continue
        lep_event = np.repeat(np.arange(n, dtype=np.int64), np.asarray(ak.num(leps, axis=1)))
        lep_keys = lep_event * _KEY_STRIDE + np.asarray(ak.flatten(leps["index"]), dtype=np.int64)
        for chain in chains:
            links = ak.flatten(reader.events[f"TrigMatch_HLT_{chain}"]["m_persIndex"], axis=2)
            link_event = np.repeat(np.arange(n, dtype=np.int64), np.asarray(ak.num(links, axis=1)))
            link_keys = link_event * _KEY_STRIDE + np.asarray(ak.flatten(links), dtype=np.int64)
            hit = np.isin(lep_keys, link_keys)
            matched[lep_event[hit]] = True
    return matched


_KEY_STRIDE = 1 << 32  # (event, object index) -> one int64 key


def _trigger_matched(reader: ObjectReader, objects: LeptonObjects, config: LeptonConfig) -> np.ndarray | None:
    """Does a lead-pT lepton match a same-flavour trigger object? None when the file has none."""
    if config.trigger_match_dr <= 0:
        return None
    if reader.kind == "physlite":
        return _physlite_matched(reader, objects, config)
    if "TrigObj" not in reader._fields:
        return None
    trig = Flat.of(reader.events["TrigObj"][["eta", "phi", "id"]])
    matched = np.zeros(len(reader.events), dtype=bool)
    for kind, pdg in (("electron", 11), ("muon", 13)):
        leps = Flat.of(objects[kind][["pt", "eta", "phi"]])
        matched |= any_near((leps.offsets, *(leps.fields[f] for f in ("pt", "eta", "phi"))),
                            config.lead_lepton_pt_min_gev,
                            (trig.offsets, *(trig.fields[f] for f in ("eta", "phi", "id"))), pdg, config.trigger_match_dr)
    return matched


def _lead_four(objects: Flat, rank: int) -> dict[str, np.ndarray]:
    """(px, py, pz, e) of the rank-th object per event, NaN where the event has fewer (the
    trigonometry runs only on the events that have one)."""
    counts = objects.counts
    present = counts > rank
    where = objects.offsets[:-1][present] + rank
    pt, eta, phi, mass = (objects.fields[f][where].astype(np.float64) for f in ("pt", "eta", "phi", "mass"))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    out = {}
    for name, values in (("px", px), ("py", py), ("pz", pz), ("e", np.sqrt(px * px + py * py + pz * pz + mass ** 2))):
        full = np.full(len(counts), np.nan)
        full[present] = values
        out[name] = full
    return out


def _pair_mass(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> np.ndarray:
    """Invariant mass of two (px, py, pz, e) dicts; NaN where either object is absent."""
    m2 = (a["e"] + b["e"]) ** 2 - (a["px"] + b["px"]) ** 2 - (a["py"] + b["py"]) ** 2 - (a["pz"] + b["pz"]) ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def _mass_columns(objects: dict[str, Flat]) -> dict[str, np.ndarray]:
    lead = {kind: _lead_four(objects[kind], 0) for kind in ("jet", "bjet", "electron", "muon", "photon")}
    lead["jet2"] = _lead_four(objects["jet"], 1)
    lead["bjet2"] = _lead_four(objects["bjet"], 1)
    return {name: _pair_mass(lead[a], lead[b]).astype(np.float32) for name, (a, b) in MASS_COLUMNS.items()}


def _preselect(reader: ObjectReader, config: LeptonConfig) -> tuple[LeptonObjects, np.ndarray, Cutflow, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Objects, the preselection mask, the cutflow, weights and MET for one chunk."""
    flat, mask, cutflow, weight, met = _preselect_flat(reader, config)
    return LeptonObjects({kind: f.to_ak() for kind, f in flat.items()}), mask, cutflow, weight, met


def _physlite_met(reader: ObjectReader, objects: dict[str, Flat]) -> tuple[np.ndarray, np.ndarray]:
    """PHYSLITE MET as published: minus the vector sum of the *selected, overlap-removed* jets,
    electrons, muons and photons, plus the track soft term (PHYSLITE stores MET only as an
    association map for METMaker; this is its hard-object sum without METMaker's own overlap
    bookkeeping)."""
    px, py = reader.physlite_soft_term()
    px, py = px.copy(), py.copy()
    for kind in ("jet", "bjet", "electron", "muon", "photon"):
        obj = objects[kind]
        event = np.repeat(np.arange(obj.counts.size), obj.counts)
        pt, phi = obj.fields["pt"], obj.fields["phi"]
        px -= np.bincount(event, weights=pt * np.cos(phi), minlength=obj.counts.size)
        py -= np.bincount(event, weights=pt * np.sin(phi), minlength=obj.counts.size)
    return np.hypot(px, py), np.arctan2(py, px)


def _preselect_flat(reader: ObjectReader, config: LeptonConfig, fields: tuple[str, ...] | None = None
                    ) -> tuple[dict[str, Flat], np.ndarray, Cutflow, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """:func:`_preselect` with the objects as flat arrays (what the processor uses, with ``fields``)."""
    objects = _select_flat(reader, config, fields)
    met = _physlite_met(reader, objects) if reader.kind == "physlite" else reader.met(tuple(config.met_sources))
    weight = reader.weight()
    cutflow = Cutflow(CUTFLOW_STEPS)
    mask = np.ones(len(weight), dtype=bool)
    cutflow.fill("input", weight)
    trigger = None
    if config.trigger == "hlt":
        names = tuple(config.physlite_triggers if reader.kind == "physlite" else config.triggers)
        trigger, _found = reader.trigger(names)
        if trigger is None:
            raise BadInputError(reader.filename, no_trigger_reason([f"HLT_{n}" for n in names]))
        mask &= trigger
    cutflow.fill("trigger", weight[mask])
    lead_pt = config.lead_lepton_pt_min_gev
    el, mu = objects["electron"], objects["muon"]
    mask &= el.any(el.fields["pt"] > lead_pt) | mu.any(mu.fields["pt"] > lead_pt)
    cutflow.fill("lepton_pt", weight[mask])
    if trigger is not None:
        matched = _trigger_matched(reader, LeptonObjects(electron=el.to_ak(), muon=mu.to_ak()), config)
        if matched is not None:
            mask &= matched
    cutflow.fill("trigger_match", weight[mask])
    n_jets = objects["jet"].counts + objects["bjet"].counts
    mask &= n_jets >= config.min_jets
    cutflow.fill("jet", weight[mask])
    dataset = str((getattr(reader.events, "metadata", None) or {}).get("dataset", ""))
    if dataset in config.lumi_masks:
        ids = reader.event_ids()
        mask &= _lumi_mask(config.lumi_masks[dataset])(ids["run"], ids["luminosityBlock"])
    cutflow.fill("lumi_mask", weight[mask])
    return objects, mask, cutflow, weight, met


@functools.lru_cache(maxsize=8)
def _lumi_mask(path: str) -> Any:
    """The lumi mask of ``path``, loaded once per worker process."""
    from adsearch.processors.lumimask import load_lumi_mask

    return load_lumi_mask(path)


def selected_objects(events: Any, config: LeptonConfig | None = None, *, preselected: bool = True) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """Per-event objects in the ``compute_rmm`` input format: records pt, eta, phi, mass, kind.

    Returns ``(objects, met_pt, met_phi)`` for the events passing the preselection (the rows
    the store holds, in the same order) or for all events with ``preselected=False``. Use it
    to build artificial anomalies: change ``kind`` of some jets, recompute the RMM.

    >>> objs, met_pt, met_phi = selected_objects(open_events("f.root"))  # doctest: +SKIP
    """
    config = config or LeptonConfig()
    reader = ObjectReader(events, btag_threshold=config.btag_threshold)
    objects, mask, _cutflow, _weight, (met_pt, met_phi) = _preselect(reader, config)
    if not preselected:
        mask = np.ones_like(mask)
    parts = []
    for kind in ("jet", "bjet", "muon", "electron", "photon"):
        coll = objects[kind][mask]
        parts.append(ak.zip({"pt": coll.pt, "eta": coll.eta, "phi": coll.phi, "mass": coll.mass,
                             "kind": ak.broadcast_arrays(kind, coll.pt)[0]}))
    return ak.concatenate(parts, axis=1), met_pt[mask], met_phi[mask]


class LeptonProcessor(StoreProcessor):
    """coffea processor: lepton + X preselection, nine masses, multiplicities, RMM -> store part."""

    kind = "lepton"

    def __init__(self, store_path: str, config: LeptonConfig | None = None, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        self.config = config or LeptonConfig()

    def reader_options(self) -> dict[str, Any]:
        return {"btag_threshold": self.config.btag_threshold, "btag_working_points": self.config.btag_working_points,
                "absent_collections": tuple(self.config.absent_collections)}

    def rmm_config(self) -> RMMConfig:
        return self.config.rmm

    def select(self, reader: ObjectReader) -> Selection:
        objects, mask, cutflow, weight, (met_pt, met_phi) = _preselect_flat(reader, self.config, _PROCESSOR_FIELDS)
        chosen = {kind: objs.events(mask) for kind, objs in objects.items()}
        columns: dict[str, np.ndarray] = _mass_columns(chosen)
        for kind in ("jet", "bjet", "electron", "muon", "photon"):
            columns[f"n_{kind}"] = chosen[kind].counts.astype(np.int32)
        columns["met_gev"] = met_pt[mask].astype(np.float32)
        columns.update({name: values[mask] for name, values in reader.event_ids().items()})
        columns["weight"] = weight[mask]
        columns.update({name: values[mask] for name, values in reader.truth().items()})
        rmm_input = {kind: objs.to_ak(("pt", "eta", "phi", "mass")) for kind, objs in chosen.items()}
        return Selection(columns, cutflow, rmm_input, (met_pt[mask], met_phi[mask]))
