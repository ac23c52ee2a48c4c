"""The Y -> X H processor on real CMS PFNano and on ATLAS PHYSLITE (refused: no constituents)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from adsearch.errors import BadInputError
from adsearch.processors.hx import choose_h
from adsearch.processors.run import run_processor
from adsearch.store import open_store

DATA = Path(__file__).parents[1] / "data" / "real"
#: the real file has 10 boosted events; a wide window and no tag keep them all, so both jets compete
LOOSE = {"hbb_score_min": 0.0, "h_mass_min_gev": 20.0, "h_mass_max_gev": 400.0, "n_constituents": 30}


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("hx") / "pfnano.zarr"
    run_processor("hx", {"pfnano": [str(DATA / "pfnano.root")]}, out, config=LOOSE, n_workers=0, progress=False)
    store = open_store(out)
    return store.read("pfnano", store.columns("pfnano"))


def _raw() -> dict[str, list[np.ndarray]]:
    names = ["event", "FatJet_pt", "FatJet_eta", "FatJet_phi", "FatJet_mass", "FatJet_particleNetMD_Xbb",
             "PFCands_pt", "PFCands_eta", "FatJetPFCands_jetIdx", "FatJetPFCands_pFCandsIdx"]
    arrays = uproot.open(DATA / "pfnano.root")["Events"].arrays(names, library="np")
    return {k: list(v) for k, v in arrays.items()}


def test_real_pfnano_x_constituents_against_raw_branches(real_store: dict[str, np.ndarray]) -> None:
    raw = _raw()
    by_event = {int(e): i for i, e in enumerate(raw["event"])}
    assert len(real_store["event"]) == 10
    for row, event in enumerate(real_store["event"]):
        i = by_event[int(event)]
        pt, eta, phi, mass, xbb = (raw[f"FatJet_{f}"][i] for f in ("pt", "eta", "phi", "mass", "particleNetMD_Xbb"))
        lead = np.argsort(-pt)[:2]
        h = lead[int(np.argmax(xbb[lead]))]  # the tie rule: the higher Hbb score is H
        x = lead[0] if h == lead[1] else lead[1]
        assert real_store["mx_gev"][row] == pytest.approx(mass[x], rel=1e-6)
        assert real_store["mh_gev"][row] == pytest.approx(mass[h], rel=1e-6)
        assert real_store["x_is_leading"][row] == (x == lead[0])
        p = [np.array([np.sqrt((pt[j] * np.cosh(eta[j])) ** 2 + mass[j] ** 2), pt[j] * np.cos(phi[j]),
                       pt[j] * np.sin(phi[j]), pt[j] * np.sinh(eta[j])]) for j in lead]
        s = p[0] + p[1]
        assert real_store["my_gev"][row] == pytest.approx(np.sqrt(s[0] ** 2 - s[1:] @ s[1:]), rel=1e-5)
        mine = raw["FatJetPFCands_pFCandsIdx"][i][raw["FatJetPFCands_jetIdx"][i] == x]
        expected = np.sort(raw["PFCands_pt"][i][mine])[::-1]
        n = min(len(expected), 30)
        assert real_store["n_constituents_x"][row] == len(expected)
        np.testing.assert_allclose(real_store["x_constituents"][row, :n, 0], expected[:n], rtol=1e-6)
        assert np.all(real_store["x_constituents"][row, n:] == 0)
        order = np.argsort(-raw["PFCands_pt"][i][mine], kind="stable")[:n]
        np.testing.assert_allclose(real_store["x_constituents"][row, :n, 1], raw["PFCands_eta"][i][mine][order],
                                   rtol=1e-6)
        # the training jets: both leading jets' constituents, in the jets' pT order
        for j, jet in enumerate(lead):
            theirs = raw["PFCands_pt"][i][raw["FatJetPFCands_pFCandsIdx"][i][raw["FatJetPFCands_jetIdx"][i] == jet]]
            m = min(len(theirs), 30)
            assert real_store[f"n_constituents_j{j + 1}"][row] == len(theirs)
            np.testing.assert_allclose(real_store[f"j{j + 1}_constituents"][row, :m, 0], np.sort(theirs)[::-1][:m],
                                       rtol=1e-6)
            assert real_store[f"pt_j{j + 1}_gev"][row] == pytest.approx(pt[jet], rel=1e-6)
        x_jet = real_store["j1_constituents" if real_store["x_is_leading"][row] else "j2_constituents"][row]
        np.testing.assert_array_equal(real_store["x_constituents"][row], x_jet)
    assert real_store["h_candidate"].all()  # LOOSE: every preselected event has an H candidate


def test_the_published_cuts_on_real_pfnano(tmp_path: Path) -> None:
    """Published tag and window: only events with a jet above Xbb 0.9 in 75-145 GeV survive."""
    run_processor("hx", {"pfnano": [str(DATA / "pfnano.root")]}, tmp_path / "s.zarr", n_workers=0, progress=False)
    store = open_store(tmp_path / "s.zarr")
    attrs = store.attrs("pfnano")
    raw = _raw()
    expected = 0
    for i in range(10):
        pt, mass, xbb = raw["FatJet_pt"][i], raw["FatJet_mass"][i], raw["FatJet_particleNetMD_Xbb"][i]
        lead = np.argsort(-pt)[:2]
        expected += bool(np.any((xbb[lead] > 0.9) & (mass[lead] > 75) & (mass[lead] < 145)))
    steps = dict(zip(attrs["cutflow"]["steps"], attrs["cutflow"]["events"]))
    assert steps["h_candidate"] == expected
    # training jets on (the default): every event passing m_JJ is a row, the H-candidate ones flagged
    assert store.n_events("pfnano") == steps["mjj"]
    assert int(store.read("pfnano", ["h_candidate"])["h_candidate"].sum()) == expected
    run_processor("hx", {"pfnano": [str(DATA / "pfnano.root")]}, tmp_path / "x.zarr", config={"training_jets": False},
                  n_workers=0, progress=False)
    assert open_store(tmp_path / "x.zarr").n_events("pfnano") == expected


def test_training_jets_on_generated_qcd(tmp_path: Path) -> None:
    """Generated ROOT files: with training jets the H-candidate rows are exactly the store written
    without them, and the other preselected events keep both jets' constituents (X columns NaN)."""
    from adsearch.generator import generate_sample

    files = generate_sample("dijet", 150, seed=5, out_dir=tmp_path / "qcd", pilot_events=200).files
    cuts = {"hbb_score_min": 0.0, "h_mass_min_gev": 90.0, "h_mass_max_gev": 130.0}
    run_processor("hx", {"qcd": [str(f) for f in files]}, tmp_path / "t.zarr", config=cuts, n_workers=0, progress=False)
    run_processor("hx", {"qcd": [str(f) for f in files]}, tmp_path / "x.zarr", config={**cuts, "training_jets": False},
                  n_workers=0, progress=False)
    with_jets, x_only = open_store(tmp_path / "t.zarr"), open_store(tmp_path / "x.zarr")
    t = with_jets.read("qcd", with_jets.columns("qcd"))
    x = x_only.read("qcd", x_only.columns("qcd"))
    steps = dict(zip(with_jets.attrs("qcd")["cutflow"]["steps"], with_jets.attrs("qcd")["cutflow"]["events"]))
    flag = t["h_candidate"]
    assert len(flag) == steps["mjj"] and 0 < flag.sum() == steps["h_candidate"] == len(x["event"]) < len(flag)
    for column in ("event", "mx_gev", "my_gev", "tau21_x", "x_constituents", "n_constituents_x", "x_is_leading"):
        np.testing.assert_array_equal(t[column][flag], x[column], err_msg=column)
    assert np.isnan(t["mx_gev"][~flag]).all() and not t["x_constituents"][~flag].any()
    assert (t["pt_j1_gev"] >= t["pt_j2_gev"]).all() and (t["pt_j2_gev"] > 500).all() and (t["mjj_gev"] > 1300).all()
    for j in (1, 2):  # every training jet has constituents, pT-ordered, padded with zeros
        pt = t[f"j{j}_constituents"][..., 0]
        n = np.minimum(t[f"n_constituents_j{j}"], pt.shape[1])
        assert (n > 0).all() and (np.diff(pt, axis=1) <= 0).all()
        assert ((pt > 0).sum(axis=1) == n).all()
    leading = t["x_is_leading"][flag]
    np.testing.assert_array_equal(t["x_constituents"][flag], np.where(leading[:, None, None], t["j1_constituents"][flag],
                                                                      t["j2_constituents"][flag]))


def test_choose_h_tie_rule() -> None:
    both = np.ones(3, bool)
    assert choose_h(both, both, np.array([0.5, 0.7, 0.6]), np.array([0.6, 0.7, 0.5])).tolist() == [1, 0, 0]
    assert choose_h(np.array([False]), np.array([False]), np.array([1.0]), np.array([1.0])).tolist() == [-1]


def test_physlite_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="PHYSLITE_example.root.*constituentLinks.*does not store"):
        run_processor("hx", {"atlas": [str(DATA / "PHYSLITE_example.root")]}, tmp_path / "p.zarr", n_workers=0,
                      progress=False)


def test_generated_sample_without_constituents_is_refused(tmp_path: Path) -> None:
    """The generator's PFCands are optional (on by default for dijet samples): a QCD sample written
    with ``constituents=False`` has none, which the processor reports naming the file."""
    from adsearch.generator import generate_sample

    plain = generate_sample("dijet", 60, seed=3, out_dir=tmp_path / "plain", pilot_events=200, constituents=False).files[0]
    with_pf = generate_sample("dijet", 60, seed=3, out_dir=tmp_path / "pf", pilot_events=200).files[0]
    plain_tree, pf_tree = uproot.open(plain)["Events"], uproot.open(with_pf)["Events"]
    assert not any(k.startswith(("PFCands_", "FatJetPFCands_")) for k in plain_tree.keys())
    assert {"PFCands_pt", "FatJetPFCands_pFCandsIdx"} <= set(pf_tree.keys())
    # the option changes only what is written: the same events and large-R jets either way
    for branch in ("event", "FatJet_pt", "FatJet_particleNetMD_Xbb", "Jet_pt"):
        a, b = plain_tree[branch].array(library="ak"), pf_tree[branch].array(library="ak")
        assert a.tolist() == b.tolist(), branch
    with pytest.raises(BadInputError, match=f"{plain.name}: missing branches: PFCands_pt"):
        run_processor("hx", {"qcd": [str(plain)]}, tmp_path / "p.zarr", n_workers=0, progress=False)
