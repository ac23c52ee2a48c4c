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
    assert store.n_events("pfnano") == expected
    assert dict(zip(attrs["cutflow"]["steps"], attrs["cutflow"]["events"]))["h_candidate"] == expected


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
