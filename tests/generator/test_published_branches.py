"""The generator writes the branches the paper's object cuts and triggers need, with tails the
cuts act on: impact parameters, muon medium ID, photon isolation, jet pile-up ID, single-lepton
triggers with their trigger objects."""

from __future__ import annotations

import awkward as ak
import numpy as np
import uproot

from adsearch.generator import GenerationSummary


def _events(sample: GenerationSummary) -> ak.Array:
    return ak.concatenate([uproot.open(f)["Events"].arrays() for f in sample.files])


def test_branches_for_every_published_cut(lepton_sample: GenerationSummary) -> None:
    ev = _events(lepton_sample)
    for lep in ("Electron", "Muon"):
        d0sig = ak.to_numpy(ak.flatten(ev[f"{lep}_dxy"] / ev[f"{lep}_dxyErr"]))
        z0 = ak.to_numpy(ak.flatten(abs(ev[f"{lep}_dz"]) * 10.0 / np.cosh(ev[f"{lep}_eta"])))
        assert 0.005 < np.mean(np.abs(d0sig) > 5) < 0.1 and np.mean(np.abs(d0sig) < 3) > 0.85
        assert 0.005 < np.mean(z0 > 0.5) < 0.1
    medium, tight = (ak.to_numpy(ak.flatten(ev[f"Muon_{k}"])) for k in ("mediumId", "tightId"))
    assert np.all(medium[tight]) and medium.mean() > tight.mean() > 0.9
    iso = ak.to_numpy(ak.flatten(ev["Photon_pfRelIso03_all"][ev["Photon_cutBased"] >= 3]))
    assert 0.0 < np.mean(iso >= 0.05) < 1.0  # the separate tight isolation removes some tight photons
    pu = ak.flatten(ev["Jet_puId"][ev["Jet_pt"] < 50])
    assert 0.01 < np.mean((ak.to_numpy(pu) & 2) == 0) < 0.2


def test_single_lepton_triggers_have_matching_trigger_objects(lepton_sample: GenerationSummary) -> None:
    ev = _events(lepton_sample)
    for hlt, lep, pdg, pt_min in (("HLT_IsoMu24", "Muon", 13, 26.0), ("HLT_Ele32_WPTight_Gsf", "Electron", 11, 34.0)):
        fired = ak.to_numpy(ev[hlt])
        assert 0.05 < fired.mean() < 0.95
        objs = ak.zip({"pt": ev["TrigObj_pt"], "id": ev["TrigObj_id"]})
        objs = objs[objs.id == pdg]
        assert np.array_equal(ak.to_numpy(ak.num(objs) > 0), fired)
        assert ak.all(objs.pt > pt_min)
        # every trigger object is one of the event's leptons
        pairs = ak.cartesian([objs.pt, ev[f"{lep}_pt"]], nested=True)
        assert ak.all(ak.any(abs(pairs["0"] - pairs["1"]) < 1e-6, axis=2))
    assert "HLT_Photon200" not in ev.fields
