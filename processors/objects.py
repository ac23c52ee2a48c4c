"""One object model for both input formats, so the selections never see a schema.

:class:`ObjectReader` turns NanoAOD (incl. v15, where ``MET`` became ``PFMET``/``PuppiMET``) or
PHYSLITE events (MeV -> GeV here, once) into plain awkward records in GeV:

- jets: ``pt, eta, phi, mass, btag`` (bool at the configured working point), ``jvt_pass``
- electrons / muons: ``pt, eta, eta_cluster, phi, mass, charge, tight, reliso``, ``iso_tight``
  (the paper's isolation working point), ``d0sig`` and ``z0sintheta_mm`` (NaN where the format
  gives no impact parameters); muons also ``medium`` (the paper's Medium ID)
- photons: ``pt, eta, eta_cluster, phi, mass, tight, iso_tight``

The paper's working points and their per-format equivalents are listed in
:mod:`adsearch.processors.object_selection`.
- large-R jets: ``pt, eta, phi, mass, tau1..tau4`` (NaN where the format has no tau_N)
- MET (pt, phi), event ids, weight, trigger decision, truth columns.

Every collection is read lazily (the dijet selection never reads leptons) and checked for
non-finite kinematics, which raise :class:`BadInputError` naming the file, branch and entry.
NanoAOD pitfall: ``FatJet.tau2`` is vector's proper time; read ``FatJet["tau2"]``.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from adsearch.errors import BadInputError
from adsearch.processors.nano_objects import FlatCollection

__all__ = ["ObjectReader", "MEV", "NANO_BTAG_DEEPFLAVB_77", "PHYSLITE_BTAG_DL1D_77"]

MEV = 1.0e-3  # GeV per MeV
#: Isolation working points (relative isolation below which an object passes), NanoAOD equivalents
#: of the paper's: electrons FCTight (pfRelIso03_all < 0.06), muons PflowTight (CMS tight PF
#: isolation, pfRelIso04_all < 0.15), photons FixedCutTight (pfRelIso03_all < 0.05).
NANO_ISO_TIGHT = {"electron": 0.06, "muon": 0.15, "photon": 0.05}
#: CMS pile-up jet ID is defined below 50 GeV (NanoAOD sets jets above to pass); medium bit.
NANO_PUID_MEDIUM_BIT = 2
#: DeepJet (btagDeepFlavB) medium working point (0.2770), the ~77%-efficiency point for NanoAOD
#: inputs; the generator calibrates its b-tag score so this cut keeps 77% of b jets.
NANO_BTAG_DEEPFLAVB_77 = 0.2770
#: DL1dv01 discriminant cut of ATLAS's FixedCutBEff_77 working point (f_c = 0.018).
PHYSLITE_BTAG_DL1D_77 = 2.456
_DL1D_FC = 0.018


def _flat(array: ak.Array) -> np.ndarray:
    """All values of a (jagged) numeric array; plain list-offset arrays are read from their
    buffers without an awkward call (each costs ~0.5 ms per unit whatever its size)."""
    layout = ak.to_layout(array)
    contents = ak.contents
    if isinstance(layout, contents.NumpyArray):
        return np.asarray(layout.data)
    if isinstance(layout, contents.ListOffsetArray) and isinstance(layout.content, contents.NumpyArray):
        offsets = np.asarray(layout.offsets.data)
        return np.asarray(layout.content.data)[int(offsets[0]):int(offsets[-1])]
    return np.asarray(ak.flatten(array, axis=None)) if array.ndim > 1 else np.asarray(array)


def _scaled(array: ak.Array, scale: float) -> ak.Array:
    return array if scale == 1.0 else array * scale  # NanoAOD is in GeV already: no jagged multiply


class ObjectReader:
    """Read the common object model from one chunk of coffea NanoEvents."""

    def __init__(self, events: Any, btag_threshold: float | None = None,
                 btag_working_points: dict[str, float] | None = None,
                 absent_collections: tuple[str, ...] | list[str] = ()) -> None:
        self.events = events
        meta = getattr(events, "metadata", None) or {}
        self.filename = str(meta.get("filename", "<events>"))
        self.entry_start = int(meta.get("entrystart", 0) or 0)
        fields = set(events.fields)
        self.kind = "physlite" if "EventInfo" in fields else "nanoaod"
        self._fields = fields
        #: object-cutflow steps whose input this file lacks (reported as not applied)
        self.missing: set[str] = set()
        #: collections the configuration declares absent (skims): read as empty, not as an error
        self.absent = {str(c).lower() for c in absent_collections}
        default = PHYSLITE_BTAG_DL1D_77 if self.kind == "physlite" else NANO_BTAG_DEEPFLAVB_77
        default = (btag_working_points or {}).get(self.kind, default)  # the configured cut of this format
        self.btag_threshold = default if btag_threshold is None else btag_threshold

    # -- helpers --------------------------------------------------------------------------
    def _collection(self, *names: str) -> Any:
        for name in names:
            if name in self._fields:
                return self.events[name]
        raise BadInputError(self.filename, f"missing collection: none of {', '.join(names)}")

    def _field(self, collection: Any, name: str, what: str) -> ak.Array:
        if name not in collection.fields:
            raise BadInputError(self.filename, f"missing branch {what}_{name}")
        return collection[name]

    def _check_finite(self, name: str, array: ak.Array) -> None:
        values = _flat(array)
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            bad = ~np.isfinite(values)
            local = array if array.ndim == 1 else ak.any(~np.isfinite(array), axis=-1)
            rows = np.flatnonzero(np.asarray(local)) if array.ndim > 1 else np.flatnonzero(bad)
            raise BadInputError(
                self.filename,
                f"{int(bad.sum())} non-finite value(s) in {name} (first at entry {self.entry_start + int(rows[0])})",
            )

    def _kinematics(self, coll: Any, what: str, scale: float, mass_name: str,
                    massless: bool = False) -> dict[str, ak.Array]:
        """pt, eta, phi, mass in GeV; ``massless`` objects (photons) may lack the mass branch."""
        pt = _scaled(self._field(coll, "pt", what), scale)
        if massless and mass_name not in coll.fields:
            mass = ak.zeros_like(pt)
        else:
            mass = _scaled(self._field(coll, mass_name, what), scale)
        out = {"pt": pt, "eta": self._field(coll, "eta", what), "phi": self._field(coll, "phi", what), "mass": mass}
        for key, values in out.items():
            self._check_finite(f"{what}_{key}", values)
        return out

    @property
    def _scale(self) -> float:
        return MEV if self.kind == "physlite" else 1.0

    @property
    def _mass_name(self) -> str:
        return "m" if self.kind == "physlite" else "mass"

    # -- collections ----------------------------------------------------------------------
    def jets(self) -> ak.Array:
        """Small-R jets with a b-tag flag at the configured (77%) working point."""
        if self.kind != "physlite":
            return self._nano_jets()
        coll = self._collection("Jets")
        tagger = self._collection("BTagging_AntiKt4EMPFlow")
        link = coll["btaggingLink"]["m_persIndex"]
        pb, pc, pu = (tagger[f"DL1dv01_p{x}"][link] for x in "bcu")
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.log(pb / (_DL1D_FC * pc + (1 - _DL1D_FC) * pu))
        fields = self._kinematics(coll, "Jet", self._scale, self._mass_name)
        fields["btag"] = ak.fill_none(score > self.btag_threshold, False)
        if "NNJvtPass" in coll.fields:
            fields["jvt_pass"] = coll["NNJvtPass"] != 0
        else:
            self.missing.add("jet_jvt")
            fields["jvt_pass"] = ak.ones_like(fields["pt"]) > 0
        return ak.zip(fields)

    def _nano_jets(self) -> ak.Array:
        c = self._nano("Jet")
        score = c.get("btagDeepFlavB")
        fields = self._nano_kinematics(c)
        fields["btag"] = score > self.btag_threshold
        if c.has("puId"):  # CHS jets (Run 2): pile-up ID medium bit, defined below 50 GeV
            fields["jvt_pass"] = ((c.get("puId") & NANO_PUID_MEDIUM_BIT) != 0) | (fields["pt"] >= 50.0)
        else:  # PUPPI jets (Run-3 NanoAOD): pile-up is removed in the jet algorithm, no ID to cut on
            self.missing.add("jet_jvt")
            fields["jvt_pass"] = np.ones(c.length, dtype=bool)
        return c.records(fields)

    def electrons(self) -> ak.Array:
        """Electrons with tight ID flag and relative isolation (cluster eta for the crack veto)."""
        if self.kind == "physlite":
            coll = self._collection("Electrons")
            fields = self._kinematics(coll, "Electrons", MEV, "m")
            fields["eta_cluster"] = fields["eta"]
            fields["charge"] = coll["charge"]
            fields["tight"] = coll["DFCommonElectronsLHTight"] != 0
            fields["reliso"] = self._physlite_iso(coll, "ptvarcone30_Nonprompt_All_MaxWeightTTVALooseCone_pt1000")
            fields["iso_tight"] = fields["reliso"] < 0.06  # FCTight: track and calorimeter terms < 0.06
            fields |= self._no_impact_parameters(fields["pt"], "electron")
            return ak.zip(fields)
        c = self._nano("Electron")
        fields = self._nano_kinematics(c)
        fields["eta_cluster"] = fields["eta"] + (c.get("deltaEtaSC") if c.has("deltaEtaSC") else 0.0)
        fields["charge"] = c.content("charge")
        fields["tight"] = c.get("cutBased") >= 4
        fields["reliso"] = c.get("pfRelIso03_all")
        fields["iso_tight"] = fields["reliso"] < NANO_ISO_TIGHT["electron"]
        fields |= self._nano_impact_parameters(c, fields["eta"], "electron")
        return c.records(fields)

    def muons(self) -> ak.Array:
        """Muons with the Medium ID flag (NanoAOD mediumId; PHYSLITE quality Medium or better) and isolation."""
        if self.kind == "physlite":
            coll = self._collection("Muons")
            fields = self._kinematics(coll, "Muons", MEV, "m")
            fields["charge"] = coll["charge"]
            fields["tight"] = coll["quality"] <= 1
            fields["medium"] = fields["tight"]  # quality 0 tight, 1 medium: Medium or better
            fields["reliso"] = self._physlite_iso(coll, "ptvarcone30_Nonprompt_All_MaxWeightTTVA_pt1000")
            with np.errstate(divide="ignore", invalid="ignore"):  # PflowTight (FixedRad, pT < 50 form)
                pflow = (coll["ptcone20_Nonprompt_All_MaxWeightTTVA_pt500"] + 0.4 * coll["neflowisol20"]) / coll["pt"]
            fields["iso_tight"] = pflow < 0.045
            fields |= self._no_impact_parameters(fields["pt"], "muon")
            fields["eta_cluster"] = fields["eta"]
            return ak.zip(fields)
        c = self._nano("Muon")
        fields = self._nano_kinematics(c)
        fields["charge"] = c.content("charge")
        if c.has("tightId"):  # not a cut of the paper (Medium ID): left unread unless asked for
            fields["tight"] = c.content("tightId")
        fields["medium"] = c.get("mediumId") != 0
        fields["reliso"] = c.get("pfRelIso04_all")
        fields["iso_tight"] = fields["reliso"] < NANO_ISO_TIGHT["muon"]
        fields |= self._nano_impact_parameters(c, fields["eta"], "muon")
        fields["eta_cluster"] = fields["eta"]
        return c.records(fields)

    def _empty(self, fields: tuple[str, ...]) -> ak.Array:
        """A collection with no objects in any event (a collection declared absent)."""
        n = len(self.events)
        offsets = ak.index.Index64(np.zeros(n + 1, dtype=np.int64))
        contents = ak.contents
        record = contents.RecordArray(
            [contents.NumpyArray(np.zeros(0, dtype=bool if f in ("tight", "iso_tight") else np.float64)) for f in fields],
            list(fields), length=0)
        return ak.Array(contents.ListOffsetArray(offsets, record))

    def photons(self) -> ak.Array:
        """Photons with a tight ID flag (NanoAOD cutBased >= 3 or the tight bit of cutBasedBitmap)."""
        if "photon" in self.absent:
            return self._empty(("pt", "eta", "phi", "mass", "tight", "iso_tight", "eta_cluster"))
        if self.kind == "physlite":
            coll = self._collection("Photons")
            fields = self._kinematics(coll, "Photons", MEV, "m", massless=True)
            fields["tight"] = coll["DFCommonPhotonsIsEMTight"] != 0
            pt_gev = fields["pt"]  # FixedCutTight: topoetcone40 < 0.022 pT + 2.45 GeV, ptcone20 / pT < 0.05
            fields["iso_tight"] = ((coll["topoetcone40"] * MEV < 0.022 * pt_gev + 2.45)
                                   & (coll["ptcone20"] * MEV < 0.05 * pt_gev))
            fields["eta_cluster"] = fields["eta"]
            return ak.zip(fields)
        c = self._nano("Photon")
        fields = self._nano_kinematics(c, massless=True)
        if c.has("cutBased"):
            fields["tight"] = c.get("cutBased") >= 3
        elif c.has("cutBasedBitmap"):
            fields["tight"] = (c.get("cutBasedBitmap") & 4) != 0
        else:
            raise BadInputError(self.filename, "missing branch Photon_cutBased (or Photon_cutBasedBitmap)")
        iso_name = next((n for n in ("pfRelIso03_all", "pfRelIso03_all_quadratic") if c.has(n)), None)
        if iso_name is None:
            self.missing.add("photon_isolation")
            fields["iso_tight"] = np.ones(c.length, dtype=bool)
        else:
            fields["iso_tight"] = c.get(iso_name) < NANO_ISO_TIGHT["photon"]
        fields["eta_cluster"] = fields["eta"]
        return c.records(fields)

    def _nano(self, name: str) -> FlatCollection:
        return FlatCollection(self._collection(name), name, self.filename, self.entry_start)

    def _nano_kinematics(self, c: FlatCollection, massless: bool = False) -> dict[str, np.ndarray]:
        """pt, eta, phi, mass (GeV) of a NanoAOD collection, checked finite; ``massless``
        collections (photons) may lack the mass branch."""
        pt = c.get("pt")
        mass = np.zeros(c.length, dtype=pt.dtype) if massless and not c.has("mass") else c.get("mass")
        fields = {"pt": pt, "eta": c.get("eta"), "phi": c.get("phi"), "mass": mass}
        for name, values in fields.items():
            c.check_finite(name, values)
        return fields

    def _nano_impact_parameters(self, c: FlatCollection, eta: np.ndarray, kind: str) -> dict[str, np.ndarray]:
        """|d0|/sigma(d0) = dxy/dxyErr and z0 sin(theta) = dz (cm) x 10 / cosh(eta) in mm."""
        if not all(c.has(n) for n in ("dxy", "dxyErr", "dz")):
            self.missing |= {f"{kind}_d0sig", f"{kind}_z0"}
            nan = np.full(c.length, np.nan)
            return {"d0sig": nan, "z0sintheta_mm": nan}
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"d0sig": c.get("dxy") / c.get("dxyErr"), "z0sintheta_mm": c.get("dz") * 10.0 / np.cosh(eta)}

    def _no_impact_parameters(self, like: ak.Array, kind: str) -> dict[str, ak.Array]:
        """NaN impact parameters (they pass); the cuts on them are reported as not applied."""
        self.missing |= {f"{kind}_d0sig", f"{kind}_z0"}
        nan = ak.full_like(like, np.nan, dtype=np.float64)
        return {"d0sig": nan, "z0sintheta_mm": nan}

    def _physlite_iso(self, coll: Any, track_iso: str) -> ak.Array:
        """Relative isolation: max of track (ptvarcone30) and calorimeter (topoetcone20) terms."""
        pt = coll["pt"]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.maximum(coll[track_iso] / pt, coll["topoetcone20"] / pt)

    def large_r_jets(self) -> ak.Array:
        """Large-R jets with n-subjettiness tau1..tau4 (field access: ``tau2`` is shadowed by vector)."""
        if self.kind == "physlite":
            with_tau = "LargeRJets" in self._fields
            coll = self._collection("LargeRJets", "AntiKt10UFOCSSKJets")
            fields = self._kinematics(coll, "LargeRJets", MEV, "m")
            nan = ak.full_like(fields["pt"], np.nan)
            for n in range(1, 5):
                name = f"Tau{n}_wta"
                fields[f"tau{n}"] = coll[name] if with_tau and name in coll.fields else nan
            return ak.zip(fields)
        coll = self._collection("FatJet")
        fields = self._kinematics(coll, "FatJet", 1.0, "mass")
        for n in range(1, 5):
            fields[f"tau{n}"] = self._field(coll, f"tau{n}", "FatJet")  # coll["tau2"], never coll.tau2
        return ak.zip(fields)

    def physlite_soft_term(self) -> tuple[np.ndarray, np.ndarray]:
        """(px, py) in GeV of PHYSLITE's track soft term (``MET_Core`` PVSoftTrkCore)."""
        core = self._collection("MET_Core_MET", "MET_Core_AnalysisMET")
        soft = core[core["name"] == "PVSoftTrkCore"]
        return np.asarray(ak.sum(soft["mpx"], axis=1)) * MEV, np.asarray(ak.sum(soft["mpy"], axis=1)) * MEV

    def met(self, preference: tuple[str, ...] = ("MET", "PFMET", "PuppiMET")) -> tuple[np.ndarray, np.ndarray]:
        """(met_pt, met_phi) in GeV. NanoAOD: first present of ``preference``. PHYSLITE: see below.

        PHYSLITE stores MET as an association map to be rebuilt by METMaker; without it we
        rebuild it approximately as minus the vector sum of all calibrated jets, electrons,
        muons and photons plus the track soft term (``MET_Core_MET`` PVSoftTrkCore).
        """
        if self.kind == "physlite":
            px = np.zeros(len(self.events))
            py = np.zeros(len(self.events))
            for name in ("Jets", "Electrons", "Muons", "Photons"):
                coll = self._collection(name)
                pt = coll["pt"] * MEV
                px -= np.asarray(ak.sum(pt * np.cos(coll["phi"]), axis=1))
                py -= np.asarray(ak.sum(pt * np.sin(coll["phi"]), axis=1))
            core = self._collection("MET_Core_MET")
            soft = core[core["name"] == "PVSoftTrkCore"]
            px += np.asarray(ak.sum(soft["mpx"], axis=1)) * MEV
            py += np.asarray(ak.sum(soft["mpy"], axis=1)) * MEV
            met_pt, met_phi = np.hypot(px, py), np.arctan2(py, px)
        else:
            name = next((n for n in preference if n in self._fields), None)
            if name is None:
                raise BadInputError(self.filename, f"missing branches: none of {', '.join(p + '_pt' for p in preference)}")
            coll = self.events[name]
            met_pt = np.asarray(self._field(coll, "pt", name), dtype=np.float64)
            met_phi = np.asarray(self._field(coll, "phi", name), dtype=np.float64)
        self._check_finite("MET_pt", ak.Array(met_pt))
        self._check_finite("MET_phi", ak.Array(met_phi))
        return met_pt, met_phi

    # -- per-event bookkeeping ------------------------------------------------------------
    def event_ids(self) -> dict[str, np.ndarray]:
        """run, luminosityBlock, event (PHYSLITE: EventInfo runNumber, lumiBlock, eventNumber)."""
        if self.kind == "physlite":
            info = self._collection("EventInfo")
            raw = (info["runNumber"], info["lumiBlock"], info["eventNumber"])
        else:
            for name in ("run", "luminosityBlock", "event"):
                if name not in self._fields:
                    raise BadInputError(self.filename, f"missing branch {name}")
            raw = (self.events["run"], self.events["luminosityBlock"], self.events["event"])
        run, lumi, event = (np.asarray(x) for x in raw)
        return {"run": run.astype(np.int64), "luminosityBlock": lumi.astype(np.int64),
                "event": event.astype(np.uint64)}

    def weight(self) -> np.ndarray:
        """Generator weight (genWeight / first mcEventWeight), 1 for data."""
        if self.kind == "physlite":
            weights = self._collection("EventInfo")["mcEventWeights"]
            values = np.asarray(ak.fill_none(ak.firsts(weights), 1.0), dtype=np.float64)
        elif "genWeight" in self._fields:
            values = np.asarray(self.events["genWeight"], dtype=np.float64)
        else:
            values = np.ones(len(self.events))
        self._check_finite("genWeight", ak.Array(values))
        return values

    def trigger(self, names: tuple[str, ...]) -> tuple[np.ndarray | None, list[str]]:
        """OR of the configured HLT bits present in the file, and which were found (None: none).

        PHYSLITE keeps no trigger decisions, but for each chain a ``TrigMatch_HLT_<chain>``
        container of the offline objects matched to it: an event passes a chain when that list
        is not empty (the chain fired and an offline electron or muon matched it). ``names`` are
        then chain names without the ``HLT_`` prefix (e.g. ``mu26_ivarmedium``).
        """
        if self.kind == "physlite":
            found = [n for n in names if f"TrigMatch_HLT_{n}" in self._fields]
            if not found:
                return None, []
            decision = np.zeros(len(self.events), dtype=bool)
            for name in found:
                decision |= np.asarray(ak.num(self.events[f"TrigMatch_HLT_{name}"], axis=1) > 0)
            return decision, found
        if "HLT" not in self._fields:
            return None, []
        hlt = self.events["HLT"]
        found = [n for n in names if n in hlt.fields]
        if not found:
            return None, []
        decision = np.zeros(len(self.events), dtype=bool)
        for name in found:
            decision |= np.asarray(hlt[name], dtype=bool)
        return decision, found

    def truth(self) -> dict[str, np.ndarray]:
        """Truth-only columns (``truth_*``) for evaluation; never an input to a selection or model."""
        out: dict[str, np.ndarray] = {}
        if "truth" in self._fields:
            coll = self.events["truth"]
            for name in coll.fields:
                out[f"truth_{name}"] = np.asarray(coll[name])
        for name in ("is_signal", "process_id"):
            if name in self._fields:
                out[f"truth_{name}"] = np.asarray(self.events[name])
        return out
