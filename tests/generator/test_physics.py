"""Physics of the generated samples: resonance peaks, substructure, W mT, b-tagging."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from adsearch.generator.detector import BTAG_EFFICIENCY, BTAG_WP77

M_A, M_B, M_C = 3000.0, 400.0, 80.0  # the conftest SIGNAL point


def _two_leading_fatjets(events: ak.Array) -> ak.Array:
    return events.FatJet[ak.num(events.FatJet) >= 2][:, :2]


def _mode(values: np.ndarray, bins: np.ndarray) -> float:
    counts, edges = np.histogram(values, bins=bins)
    return float(0.5 * (edges[np.argmax(counts)] + edges[np.argmax(counts) + 1]))


def test_signal_mjj_peaks_at_ma(signal_events: ak.Array) -> None:
    jets = _two_leading_fatjets(signal_events)
    assert len(jets) > 0.8 * len(signal_events), "most signal events should have two large-R jets"
    mjj = ak.to_numpy((jets[:, 0] + jets[:, 1]).mass)
    peak = _mode(mjj, np.arange(1000.0, 5000.0, 100.0))
    assert abs(peak - M_A) < 0.10 * M_A, f"mJJ peak {peak} GeV not within 10% of {M_A}"


def test_signal_jet_masses_near_mb_and_mc(signal_events: ak.Array) -> None:
    jets = _two_leading_fatjets(signal_events)
    heavy = ak.to_numpy(np.maximum(jets[:, 0].mass, jets[:, 1].mass))
    light = ak.to_numpy(np.minimum(jets[:, 0].mass, jets[:, 1].mass))
    # Trimming and out-of-cone radiation pull the particle-level mass ~5-10% low, and in ~15% of
    # events the heavy daughter's jet is split, so test the populations near mB and mC.
    near_b = np.abs(heavy - M_B) < 0.2 * M_B
    near_c = np.abs(light - M_C) < 0.25 * M_C
    assert near_b.mean() > 0.4, near_b.mean()
    assert near_c.mean() > 0.5, near_c.mean()
    assert abs(np.median(heavy[near_b]) - M_B) < 0.1 * M_B
    assert abs(np.median(light[near_c]) - M_C) < 0.1 * M_C
    assert np.median(ak.to_numpy(jets.msoftdrop[:, 0])) > 50.0, "softdrop mass of signal jets should be large"


def test_qcd_jets_are_less_two_pronged_than_signal(qcd_events: ak.Array, signal_events: ak.Array) -> None:
    """Read the raw n-subjettiness fields (``FatJet.tau2`` is vector's proper time, not tau2)."""
    qcd = qcd_events.FatJet[ak.num(qcd_events.FatJet) >= 1][:, 0]
    qcd_tau21 = ak.to_numpy(qcd["tau2"] / qcd["tau1"])
    signal = _two_leading_fatjets(signal_events)
    signal_tau21 = ak.to_numpy(ak.flatten(signal["tau2"] / signal["tau1"]))
    assert np.nanmean(qcd_tau21) > np.nanmean(signal_tau21) + 0.1, (np.nanmean(qcd_tau21), np.nanmean(signal_tau21))
    taus = [ak.to_numpy(ak.flatten(qcd_events.FatJet[f"tau{n}"])) for n in range(1, 5)]
    assert all(np.all(taus[n] <= taus[n - 1] + 1e-6) for n in range(1, 4)), "tau_N must not increase with N"


def test_wjets_mt_has_jacobian_peak(lepton_events: ak.Array) -> None:
    wjets = lepton_events[lepton_events.truth.process_id == 11]
    electrons = wjets.Electron[(wjets.Electron.cutBased >= 3)]
    muons = wjets.Muon[wjets.Muon.tightId & (wjets.Muon.pfRelIso04_all < 0.15)]
    leptons = ak.concatenate([electrons[["pt", "phi"]], muons[["pt", "phi"]]], axis=1)
    has_one = ak.num(leptons) >= 1
    lep = leptons[has_one][:, 0]
    met = wjets.MET[has_one]
    mt = ak.to_numpy(np.sqrt(2 * lep.pt * met.pt * (1 - np.cos(lep.phi - met.phi))))
    assert len(mt) > 200
    below_edge = np.count_nonzero((mt > 55) & (mt < 85))
    above_edge = np.count_nonzero((mt > 100) & (mt < 130))
    assert below_edge > 3 * above_edge, (below_edge, above_edge)
    assert 50.0 < _mode(mt, np.arange(0.0, 200.0, 10.0)) < 90.0


def test_btag_efficiency_on_true_b_jets(lepton_events: ak.Array) -> None:
    jets = ak.flatten(lepton_events.Jet[(lepton_events.Jet.pt > 25) & (abs(lepton_events.Jet.eta) < 2.5)])
    tagged = ak.to_numpy(jets.btagDeepFlavB > BTAG_WP77)
    flavour = ak.to_numpy(jets.hadronFlavour)
    n_b = np.count_nonzero(flavour == 5)
    assert n_b > 150, f"too few true b jets ({n_b}) for a 5-point check"
    efficiency_b = tagged[flavour == 5].mean()
    assert efficiency_b == pytest.approx(BTAG_EFFICIENCY[5], abs=0.05)
    assert tagged[flavour == 0].mean() < 0.03, "light mistag rate should be ~1%"
    assert 0.05 < tagged[flavour == 4].mean() < 0.40, "c mistag rate should be ~20%"


def test_lepton_sample_has_hard_leptons_and_jets(lepton_events: ak.Array) -> None:
    leading = ak.max(ak.concatenate([lepton_events.Electron.pt, lepton_events.Muon.pt], axis=1), axis=1)
    has_lepton = ak.to_numpy(ak.fill_none(leading, 0.0)) > 60.0
    has_jet = ak.to_numpy(ak.num(lepton_events.Jet[lepton_events.Jet.pt > 30]) >= 1)
    assert has_lepton.mean() > 0.6
    assert has_jet.mean() > 0.9
    assert np.all(ak.to_numpy(lepton_events.genWeight) == 1.0)


def test_met_is_large_with_neutrinos_only(lepton_events: ak.Array) -> None:
    process = ak.to_numpy(lepton_events.truth.process_id)
    met = ak.to_numpy(lepton_events.MET.pt)
    assert np.median(met[process == 11]) > 2 * np.median(met[process == 14]), "W->l nu vs Z->ll MET"
