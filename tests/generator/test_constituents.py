"""Large-R jet constituents in the PFNano layout, the Xbb score, and the Y -> X H signals."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from adsearch.errors import ConfigError
from adsearch.generator import generate_sample
from adsearch.generator.constituents import XBB_EFFICIENCY, XBB_WP, pdg_charge, xbb_score
from adsearch.generator.processes import signal_kind, signal_process

REAL = Path(__file__).parents[1] / "data" / "real" / "pfnano.root"
_LAYOUT = ("PFCands_pt", "PFCands_eta", "PFCands_phi", "PFCands_mass", "PFCands_charge", "PFCands_pdgId",
           "FatJetPFCands_jetIdx", "FatJetPFCands_pFCandsIdx", "FatJet_particleNetMD_Xbb", "FatJet_nBHadrons")


@pytest.fixture(scope="module")
def yxh_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """150 Y(2000) -> X(100) H events: two hard large-R jets, one with H -> bb."""
    out = tmp_path_factory.mktemp("yxh")
    return generate_sample("dijet", 150, seed=5, out_dir=out, signal="yxh_2000_100", pilot_events=500).files[0]


def test_pfnano_layout_matches_the_real_file(yxh_file: Path) -> None:
    real, ours = uproot.open(REAL)["Events"], uproot.open(yxh_file)["Events"]
    for name in _LAYOUT:
        assert str(ours[name].interpretation) == str(real[name].interpretation), name


def test_constituents_sum_to_their_jet_and_are_pt_ordered(yxh_file: Path) -> None:
    a = uproot.open(yxh_file)["Events"].arrays(list(_LAYOUT) + ["FatJet_pt", "FatJet_eta", "FatJet_phi", "nFatJet"])
    assert ak.all(a.FatJetPFCands_jetIdx < a.nFatJet)
    assert ak.all(a.FatJetPFCands_pFCandsIdx < ak.num(a.PFCands_pt))
    checked = 0
    for e in range(len(a)):
        idx, cand = np.asarray(a.FatJetPFCands_jetIdx[e]), np.asarray(a.FatJetPFCands_pFCandsIdx[e])
        assert len(np.unique(cand)) == len(cand)  # anti-kt jets share no particle
        pt, phi = np.asarray(a.PFCands_pt[e]), np.asarray(a.PFCands_phi[e])
        eta = np.asarray(a.PFCands_eta[e])
        for j in range(int(a.nFatJet[e])):
            mine = cand[idx == j]
            assert len(mine) > 0
            assert np.all(np.diff(pt[mine]) <= 0)
            px, py = np.sum(pt[mine] * np.cos(phi[mine])), np.sum(pt[mine] * np.sin(phi[mine]))
            # the stored jet is trimmed, the constituents ungroomed: sum >= jet, and not far above it
            ratio = np.hypot(px, py) / a.FatJet_pt[e][j]
            assert 0.98 < ratio < 1.6
            dphi = (phi[mine] - a.FatJet_phi[e][j] + np.pi) % (2 * np.pi) - np.pi
            hard = pt[mine] > 2.0  # anti-kt uses rapidity: soft massive hadrons may sit far out in eta
            assert np.all(np.hypot(eta[mine] - a.FatJet_eta[e][j], dphi)[hard] < 1.25)
            checked += 1
    assert checked > 250
    pdg = np.unique(np.abs(ak.to_numpy(ak.flatten(a.PFCands_pdgId))))
    assert set(pdg) <= {11, 13, 22, 130, 211} and {22, 130, 211} <= set(pdg)
    charged = ak.flatten(a.PFCands_charge != 0)
    assert ak.all((np.abs(ak.flatten(a.PFCands_pdgId)) != 211) | charged)


def test_pdg_charge_agrees_with_pythia() -> None:
    pythia8mc = pytest.importorskip("pythia8mc")
    data = pythia8mc.Pythia("", False).particleData
    ids = [11, 13, 22, 130, 211, 310, 321, 2112, 2212, 3112, 3122, 3222, 3312, 3334, 411, 421, 431, 511, 521, 531,
           4122, 5122, 443, 553, 24]
    ids += [-i for i in ids]
    assert pdg_charge(np.array(ids)).tolist() == [int(round(data.charge(i))) for i in ids]


def test_xbb_score_working_point_rates() -> None:
    rng = np.random.default_rng(1)
    for n_b, eff in XBB_EFFICIENCY.items():
        n = 40_000
        passed = np.mean(xbb_score(np.full(n, n_b), rng) > XBB_WP)
        assert abs(passed - eff) < 4 * np.sqrt(eff * (1 - eff) / n)
    assert np.mean(xbb_score(np.full(1000, 3), rng) > XBB_WP) > 0.5  # capped at 2


def test_signal_jets_carry_b_hadrons_and_pass_xbb(yxh_file: Path) -> None:
    a = uproot.open(yxh_file)["Events"].arrays(["FatJet_nBHadrons", "FatJet_particleNetMD_Xbb", "FatJet_mass"])
    two = a[ak.num(a.FatJet_mass) >= 2]
    n_b = ak.to_numpy(two.FatJet_nBHadrons[:, :2]).astype(int)
    assert np.mean(np.max(n_b, axis=1) >= 2) > 0.5  # one of the two leading jets is H -> bb
    assert np.mean(np.min(n_b, axis=1) == 0) > 0.6  # the other, X -> ud/cs, is mostly not
    xbb = ak.to_numpy(two.FatJet_particleNetMD_Xbb[:, :2])
    assert np.mean(np.max(xbb, axis=1) > XBB_WP) > 0.3


@pytest.mark.parametrize("name, truth", [("yxh_3700_85", 104), ("yxh_qqq_2000_100", 105), ("yxh_hf_2000_100", 106),
                                         ("yxh_dark_2000_100", 107)])
def test_yxh_names_parse(name: str, truth: int) -> None:
    spec = signal_process(name)
    assert signal_kind(name) == "dijet" and spec.truth_id == truth and spec.is_signal
    assert "34:addChannel = 1 1.0 100 25 9000003" in spec.settings
    assert spec.params["m_x_gev"] == float(name.split("_")[-1])


def test_yxh_masses_are_checked() -> None:
    with pytest.raises(ConfigError, match="mX"):
        signal_process("yxh_300_200")
