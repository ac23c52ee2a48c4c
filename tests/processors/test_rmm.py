"""RMM kernel against a plain-Python reference (math + vector), layout, clipping and config."""

from __future__ import annotations

import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

from adsearch.processors.rmm import (
    KEPT_CELLS,
    KINDS,
    REMOVED_CELLS,
    RMMConfig,
    compute_rmm,
    feature_names,
    flatten_rmm,
    rmm_features,
    rmm_layout,
)
from adsearch.processors.rmm import _kind_arrays
from adsearch.processors.rmm_kernel import _sincos

REAL_DATA = Path(__file__).resolve().parents[1] / "data" / "real"
MASSES_GEV = {"muon": 0.10566, "electron": 0.000511, "photon": 0.0}
MEAN_MULTIPLICITY = {"jet": 3.5, "bjet": 1.2, "muon": 0.7, "electron": 0.7, "photon": 0.4}


def make_events(n: int, seed: int, *, forward_fraction: float = 0.0) -> tuple[list, np.ndarray, np.ndarray]:
    """Lepton+jets-like random events: Poisson multiplicities, falling (Pareto) pT spectra.

    Objects are shuffled across kinds, so the code under test has to sort them.
    ``forward_fraction`` of objects get |eta| in [3, 4.5], where C (cosh y - 1) exceeds 1.
    """
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(n):
        objs = []
        for kind in KINDS:
            count = rng.poisson(MEAN_MULTIPLICITY[kind])
            if kind == "jet" and rng.random() < 0.05:
                count += 10  # beyond the 10-jet cap
            for _ in range(count):
                pt = 20.0 * (1.0 - rng.random()) ** (-1.0 / 2.5)
                eta = rng.uniform(-2.5, 2.5)
                if rng.random() < forward_fraction:
                    eta = rng.choice([-1.0, 1.0]) * rng.uniform(3.0, 4.5)
                mass = MASSES_GEV.get(kind, pt * rng.uniform(0.02, 0.25))
                if kind == "electron":  # NanoAOD stores small, sometimes negative electron masses
                    mass = rng.normal(0.0, 0.03)
                objs.append({"pt": pt, "eta": eta, "phi": rng.uniform(-np.pi, np.pi), "mass": mass, "kind": kind})
        order = rng.permutation(len(objs))
        events.append([objs[i] for i in order])
    met_pt = rng.exponential(45.0, n)
    met_phi = rng.uniform(-np.pi, np.pi, n)
    return events, met_pt, met_phi


def reference_rmm(event: list[dict], met: float, met_phi: float, config: RMMConfig) -> tuple[np.ndarray, np.ndarray]:
    """Plain-Python RMM straight from the recipe; returns (clipped matrix, unclipped matrix)."""
    caps = [config.max_per_type[k] for k in KINDS]
    size = 1 + sum(caps)
    sqrt_s, scale = config.sqrt_s_gev, config.angular_scale
    cells = [[0.0] * size for _ in range(size)]
    placed = []  # (matrix index, rank in type, kinematics); vector defines E_T and y
    start = 1
    for kind, cap in zip(KINDS, caps):
        vecs = [
            vector.obj(pt=o["pt"], eta=o["eta"], phi=o["phi"], mass=o["mass"]) for o in event if o["kind"] == kind
        ]
        kinematics = [(v.px, v.py, v.pz, v.E, v.Et, v.rapidity) for v in vecs]
        kinematics = sorted(kinematics, key=lambda k: -k[4])[:cap]
        placed.extend((start + rank, rank, k) for rank, k in enumerate(kinematics))
        start += cap
    has_met = met > 0 and met >= config.met_min_gev
    if has_met:
        cells[0][0] = met / sqrt_s
    met_x, met_y = met * math.cos(met_phi), met * math.sin(met_phi)
    for a, (i, rank, (px, py, pz, energy, et, y)) in enumerate(placed):
        cells[i][0] = scale * (math.cosh(y) - 1.0)
        if has_met:
            mt2 = (et + met) ** 2 - (px + met_x) ** 2 - (py + met_y) ** 2
            cells[0][i] = math.sqrt(max(mt2, 0.0)) / sqrt_s
        if rank == 0:
            cells[i][i] = et / sqrt_s
        else:
            previous = placed[a - 1][2][4]
            cells[i][i] = (previous - et) / (previous + et)
        for j, _, (px2, py2, pz2, energy2, _, y2) in placed[a + 1 :]:
            m2 = (energy + energy2) ** 2 - (px + px2) ** 2 - (py + py2) ** 2 - (pz + pz2) ** 2
            cells[i][j] = math.sqrt(max(m2, 0.0)) / sqrt_s
            cells[j][i] = scale * (math.cosh((y - y2) / 2.0) - 1.0)
    raw = np.array(cells)
    return np.clip(raw, 0.0, 1.0), raw


def reference_batch(events, met_pt, met_phi, config):
    pairs = [reference_rmm(e, m, p, config) for e, m, p in zip(events, met_pt, met_phi)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def collections_of(events: list[list[dict]]) -> dict[str, ak.Array]:
    array = ak.Array(events)
    return {kind: array[array.kind == kind][["pt", "eta", "phi", "mass"]] for kind in KINDS}


@pytest.fixture(scope="module")
def sample():
    events, met_pt, met_phi = make_events(1200, seed=11)
    config = RMMConfig()
    ref, raw = reference_batch(events, met_pt, met_phi, config)
    return events, met_pt, met_phi, ref, raw


def test_kernel_matches_plain_python_reference(sample):
    events, met_pt, met_phi, ref, _ = sample
    rmm = compute_rmm(ak.Array(events), met_pt, met_phi)
    assert rmm.shape == (1200, 36, 36) and rmm.dtype == np.float32
    np.testing.assert_allclose(rmm, ref, rtol=0, atol=1e-6)
    # the sample exercises the interesting parts: capped jets, MET below threshold, every type
    assert (ref[:, 10, 10] > 0).sum() > 20  # a 10th jet exists
    assert (met_pt < 30).sum() > 100 and (ref[met_pt < 30, 0, :] == 0).all()
    for start in (1, 11, 21, 26, 31):
        assert (ref[:, start, start] > 0).sum() > 100


def test_shuffled_input_gives_same_matrix(sample):
    events, met_pt, met_phi, *_ = sample
    rng = np.random.default_rng(3)
    shuffled = [[e[i] for i in rng.permutation(len(e))] for e in events[:200]]
    np.testing.assert_array_equal(
        compute_rmm(events[:200], met_pt[:200], met_phi[:200]), compute_rmm(shuffled, met_pt[:200], met_phi[:200])
    )


def test_hand_computed_event():
    # two massless back-to-back objects at y = 0 and a muon at eta = 1, MET 100 GeV
    event = [
        {"pt": 100.0, "eta": 0.0, "phi": 0.0, "mass": 0.0, "kind": "jet"},
        {"pt": 300.0, "eta": 0.0, "phi": math.pi, "mass": 0.0, "kind": "jet"},
        {"pt": 50.0, "eta": 1.0, "phi": math.pi / 2, "mass": 0.0, "kind": "muon"},
    ]
    rmm = compute_rmm([event], [100.0], [-math.pi / 2], config=RMMConfig(angular_scale=0.5))[0].astype(float)
    s = 13000.0
    assert rmm[0, 0] == pytest.approx(100 / s)
    assert rmm[1, 1] == pytest.approx(300 / s)  # leading jet is the 300 GeV one
    assert rmm[2, 2] == pytest.approx((300 - 100) / (300 + 100))
    assert rmm[1, 2] == pytest.approx(2 * math.sqrt(300 * 100) / s)  # m^2 = 2 pT1 pT2 (1 - cos pi)
    assert rmm[2, 1] == pytest.approx(0.0, abs=1e-7)  # equal rapidity
    assert rmm[21, 0] == pytest.approx(0.5 * (math.cosh(1.0) - 1))
    assert rmm[21, 1] == pytest.approx(0.5 * (math.cosh(0.5) - 1))
    assert rmm[0, 21] == pytest.approx(math.sqrt(150**2 - 50**2) / s)  # muon and MET back to back
    assert rmm[0, 1] == pytest.approx(math.sqrt(400**2 - 300**2 - 100**2) / s)  # jet at phi = pi, MET at -pi/2
    # row 0 (MET + 3 m_T), column 0 (muon only: jets at y = 0), 3 diagonal, 3 masses, 2 non-zero angles
    assert np.count_nonzero(rmm) == 4 + 1 + 3 + 3 + 2


def test_polynomial_sincos_matches_libm():
    xs = np.concatenate([np.linspace(-7.0, 7.0, 20_001), np.pi / 4 * np.arange(-9, 10), [0.0, -0.0, 3e4, -1e5]])
    got = np.array([_sincos(float(x)) for x in xs])
    np.testing.assert_allclose(got[:, 0], np.sin(xs), rtol=0, atol=2e-16 * 8)
    np.testing.assert_allclose(got[:, 1], np.cos(xs), rtol=0, atol=2e-16 * 8)


def test_layout_and_flatten(sample):
    events, met_pt, met_phi, ref, _ = sample
    expected = [
        r * 36 + c
        for r, c in [(1, 2), (1, 11), (1, 21), (1, 26), (1, 31), (11, 12), (11, 21), (11, 26), (11, 31)]
    ]
    assert REMOVED_CELLS.tolist() == expected
    assert KEPT_CELLS.shape == (1287,)
    assert np.all(np.diff(KEPT_CELLS) > 0)  # row-major
    assert sorted(KEPT_CELLS.tolist() + REMOVED_CELLS.tolist()) == list(range(36 * 36))
    flat = flatten_rmm(ref.astype(np.float32))
    assert flat.shape == (1200, 1287)
    np.testing.assert_array_equal(flat, np.delete(ref.reshape(1200, -1), expected, axis=1).astype(np.float32))
    names = feature_names()
    assert len(names) == len(set(names)) == 1287
    assert "jet1_jet2_mass" not in names and "bjet1_photon1_mass" not in names
    assert {"jet1_jet2_rapidity", "jet2_jet3_mass", "met_muon1_mt", "jet1_et", "jet2_et_imbalance"} <= set(names)
    assert names[KEPT_CELLS.tolist().index(1 * 36 + 3)] == "jet1_jet3_mass"
    assert names[KEPT_CELLS.tolist().index(21 * 36 + 1)] == "jet1_muon1_rapidity"
    with pytest.raises(ValueError, match="shape"):
        flatten_rmm(np.zeros((2, 35, 35)))


def test_fast_path_equals_full_matrix_and_reuses_buffer(sample):
    events, met_pt, met_phi, *_ = sample
    collections = collections_of(events)
    expected = flatten_rmm(compute_rmm(events, met_pt, met_phi))
    buffer = np.full((1500, 1287), 7.0, dtype=np.float32)  # stale values must be overwritten
    result = rmm_features(collections, met_pt, met_phi, out=buffer)
    assert result.features.shape == (1200, 1287)
    assert np.shares_memory(result.features, buffer)
    np.testing.assert_array_equal(result.features, expected)
    # float32 NanoAOD-like inputs and missing kinds work too
    as_f32 = {k: ak.values_astype(v, np.float32) for k, v in collections.items() if k != "photon"}
    no_photon = [[o for o in e if o["kind"] != "photon"] for e in events]
    ref32 = reference_batch(
        [[{**o, **{f: float(np.float32(o[f])) for f in ("pt", "eta", "phi", "mass")}} for o in e] for e in no_photon[:300]],
        met_pt[:300], met_phi[:300], RMMConfig(),
    )[0]  # fmt: skip
    got = rmm_features({k: v[:300] for k, v in as_f32.items()}, met_pt[:300], met_phi[:300]).features
    np.testing.assert_allclose(got, flatten_rmm(ref32.astype(np.float32)), atol=1e-6, rtol=0)


def test_packed_and_sliced_layouts_read_without_copies_agree(sample):
    events, met_pt, met_phi, ref, _ = sample
    packed = {kind: ak.to_packed(objs) for kind, objs in collections_of(events).items()}
    assert isinstance(ak.to_layout(packed["jet"]), ak.contents.ListOffsetArray)
    # a slice keeps the parent's content: offsets start past 0, content runs past the end
    sliced = {kind: objs[100:700] for kind, objs in packed.items()}
    assert ak.to_layout(sliced["jet"]).offsets[0] > 0
    offsets, columns = _kind_arrays(sliced["jet"], "jet")
    assert offsets[0] == 0 and np.shares_memory(columns[0], ak.to_layout(packed["jet"]).content["pt"].data)
    got = rmm_features(sliced, met_pt[100:700], met_phi[100:700]).features
    np.testing.assert_allclose(got, flatten_rmm(ref[100:700].astype(np.float32)), atol=1e-6, rtol=0)


def test_real_nanoaod_objects():
    """Float32 collections as uproot reads them from a CMS NanoAOD file (b-tag split by score)."""
    path = REAL_DATA / "nano_dy.root"
    if not path.is_file():
        pytest.fail(f"{path} not found: tests/data/real is part of the repository")
    branches = {"Jet": "jet", "Muon": "muon", "Electron": "electron", "Photon": "photon"}
    events = uproot.open(path)["Events"].arrays(
        [f"{c}_{f}" for c in branches for f in ("pt", "eta", "phi", "mass")] + ["Jet_btagDeepFlavB", "MET_pt", "MET_phi"]
    )
    collections = {
        kind: ak.zip({f: events[f"{c}_{f}"] for f in ("pt", "eta", "phi", "mass")}) for c, kind in branches.items()
    }
    is_b = events.Jet_btagDeepFlavB > 0.2783
    collections["bjet"], collections["jet"] = collections["jet"][is_b], collections["jet"][~is_b]
    result = rmm_features(collections, events.MET_pt, events.MET_phi)
    as_lists = [
        [{**o, "kind": kind} for kind in KINDS for o in ak.to_list(collections[kind][i])] for i in range(len(events))
    ]
    ref, raw = reference_batch(as_lists, ak.to_numpy(events.MET_pt), ak.to_numpy(events.MET_phi), RMMConfig())
    assert sum(len(e) for e in as_lists) > 200 and (ref[:, 11, 11] > 0).any()
    np.testing.assert_allclose(result.features, flatten_rmm(ref.astype(np.float32)), atol=1e-6, rtol=0)
    assert result.n_clipped == int(((raw > 1) | (raw < 0)).reshape(len(events), -1)[:, KEPT_CELLS].sum())


def test_clipping_is_counted():
    events, met_pt, met_phi = make_events(400, seed=5, forward_fraction=0.3)
    config = RMMConfig()
    ref, raw = reference_batch(events, met_pt, met_phi, config)
    result = rmm_features(collections_of(events), met_pt, met_phi)
    features = result.features
    assert features.min() >= 0.0 and features.max() <= 1.0
    n_expected = int(((raw > 1.0) | (raw < 0.0)).reshape(400, -1)[:, KEPT_CELLS].sum())
    assert n_expected > 50
    assert result.n_clipped == n_expected
    np.testing.assert_allclose(features, flatten_rmm(ref.astype(np.float32)), atol=1e-6, rtol=0)
    quiet_events, qm, qp = make_events(200, seed=6)
    assert all(abs(o["eta"]) <= 2.5 for e in quiet_events for o in e)
    assert rmm_features(collections_of(quiet_events), qm, qp).n_clipped == 0


@pytest.mark.parametrize(
    "config",
    [
        RMMConfig(angular_scale=0.6),
        RMMConfig(met_min_gev=0.0),
        RMMConfig(met_min_gev=80.0, sqrt_s_gev=8000.0),
        RMMConfig(max_per_type={"jet": 4, "bjet": 2, "muon": 1, "electron": 2, "photon": 1}),
    ],
)
def test_config_changes_take_effect(sample, config):
    events, met_pt, met_phi, default_ref, _ = sample
    events, met_pt, met_phi = events[:300], met_pt[:300], met_phi[:300]
    ref, _ = reference_batch(events, met_pt, met_phi, config)
    rmm = compute_rmm(events, met_pt, met_phi, config=config)
    size = rmm_layout(config).size
    assert rmm.shape == (300, size, size)
    np.testing.assert_allclose(rmm, ref, atol=1e-6, rtol=0)
    if size == 36:
        assert not np.allclose(rmm, default_ref[:300], atol=1e-6)
    else:
        names = feature_names(config)
        assert len(names) == size * size - 9 and "jet4_et_imbalance" in names and "jet5_et" not in names
        assert rmm_features(collections_of(events), met_pt, met_phi, config=config).features.shape == (300, len(names))


def test_empty_chunks_and_objectless_events():
    empty = compute_rmm(ak.Array([]), np.zeros(0), np.zeros(0))
    assert empty.shape == (0, 36, 36)
    assert rmm_features({}, np.zeros(0), np.zeros(0)).features.shape == (0, 1287)
    rmm = compute_rmm([[], []], [50.0, 10.0], [0.3, 0.0])
    assert rmm[0, 0, 0] == pytest.approx(50.0 / 13000.0)
    assert np.count_nonzero(rmm[0]) == 1 and np.count_nonzero(rmm[1]) == 0
    only_jets = {"jet": ak.Array([[], [{"pt": 40.0, "eta": 0.5, "phi": 0.1, "mass": 4.0}]])}
    feats = rmm_features(only_jets, [50.0, 20.0], [0.0, 0.0]).features
    assert np.count_nonzero(feats[0]) == 1 and np.count_nonzero(feats[1]) == 2  # jet1 E_T and rapidity


def test_bad_inputs_are_named():
    good = {"pt": 40.0, "eta": 0.5, "phi": 0.1, "mass": 4.0}
    with pytest.raises(ValueError, match="tau"):
        compute_rmm([[{**good, "kind": "tau"}]], [50.0], [0.0])
    with pytest.raises(ValueError, match="jet.eta"):
        rmm_features({"jet": ak.Array([[{**good, "eta": float("nan")}]])}, [50.0], [0.0])
    with pytest.raises(ValueError, match="fields"):
        rmm_features({"jet": ak.Array([[{"pt": 1.0, "eta": 0.0, "phi": 0.0}]])}, [50.0], [0.0])
    with pytest.raises(ValueError, match="events"):
        rmm_features({"jet": ak.Array([[good]])}, [50.0, 20.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="out"):
        rmm_features({"jet": ak.Array([[good]])}, [50.0], [0.0], out=np.zeros((1, 1287)))
    with pytest.raises(ValueError, match="max_per_type"):
        RMMConfig(max_per_type={"jet": 10})
