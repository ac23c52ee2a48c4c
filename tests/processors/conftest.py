"""Shared fixtures of the processor tests: tiny NanoAOD files made here and one 2-worker cluster."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

REAL = Path(__file__).resolve().parents[1] / "data" / "real"

_COLLECTIONS = {
    "Jet": ("pt", "eta", "phi", "mass", "btagDeepFlavB"),
    "Electron": ("pt", "eta", "phi", "mass", "charge", "cutBased", "pfRelIso03_all"),
    "Muon": ("pt", "eta", "phi", "mass", "charge", "tightId", "mediumId", "pfRelIso04_all"),
    "Photon": ("pt", "eta", "phi", "mass", "cutBased"),
    "FatJet": ("pt", "eta", "phi", "mass", "msoftdrop", "tau1", "tau2", "tau3", "tau4"),
}


def make_nano_file(path: Path, n_events: int, seed: int, *, first_event: int = 0,
                   nan_branch: str | None = None, drop: tuple[str, ...] = (),
                   fatjet_mass: tuple[float, float] = (30.0, 300.0), trigger: str | bool = "all") -> Path:
    """Write a small NanoAOD-like file (uproot mktree with nX counters), lepton+jets-like events.

    ``nan_branch`` puts a NaN into that branch; ``drop`` leaves branches out (bad-input tests);
    ``fatjet_mass`` is the (uniform) large-R jet mass range in GeV. ``trigger``: "all" writes the
    single-lepton bits HLT_IsoMu24 and HLT_Ele32_WPTight_Gsf fired in every event and no trigger
    objects (a pre-triggered skim: the trigger step keeps every event, matching is not possible);
    "random" random HLT bits and one ``TrigObj`` per electron and muon, of a random id (11, 13 or
    22) at Delta R 0-0.25 from it; "none" no trigger information at all (True / False: "random" / "none").
    """
    trigger = {True: "random", False: "none"}.get(trigger, trigger)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    counts = {"Jet": rng.integers(0, 7, n_events), "Electron": rng.integers(0, 3, n_events),
              "Muon": rng.integers(0, 3, n_events), "Photon": rng.integers(0, 2, n_events),
              "FatJet": rng.integers(0, 4, n_events)}
    data: dict[str, ak.Array] = {}
    for coll, fields in _COLLECTIONS.items():
        c = counts[coll]
        n = int(c.sum())
        values = {
            "pt": rng.exponential(120.0, n) + (250.0 if coll == "FatJet" else 15.0),
            "eta": rng.uniform(-2.8, 2.8, n),
            "phi": rng.uniform(-np.pi, np.pi, n),
            "mass": rng.uniform(*fatjet_mass, n) if coll == "FatJet" else
            (rng.uniform(2.0, 20.0, n) if coll == "Jet" else np.full(n, 0.000511 if coll == "Electron" else 0.1057 if coll == "Muon" else 0.0)),
            "btagDeepFlavB": rng.uniform(0, 1, n),
            "charge": rng.choice([-1, 1], n).astype(np.int32),
            "cutBased": rng.integers(2, 5, n).astype(np.int32),
            "pfRelIso03_all": rng.exponential(0.05, n),
            "pfRelIso04_all": rng.exponential(0.05, n),
            "tightId": rng.uniform(0, 1, n) < 0.9,
            "msoftdrop": rng.uniform(20.0, 250.0, n),
        }
        values["mediumId"] = values["tightId"]  # NanoAOD muons always carry mediumId (no extra random draw)
        taus = np.sort(rng.uniform(0.0, 0.5, (n, 4)), axis=1)[:, ::-1]
        for k in range(4):
            values[f"tau{k + 1}"] = taus[:, k].copy()
        for field in fields:
            branch = f"{coll}_{field}"
            if branch in drop:
                continue
            flat = values[field]
            if branch == nan_branch and n > 0:
                flat = flat.astype(np.float64)
                flat[n // 2] = np.nan
            data[branch] = ak.unflatten(flat.astype(np.float32) if flat.dtype == np.float64 else flat, c)
    flat = {
        "run": np.ones(n_events, dtype=np.uint32),
        "luminosityBlock": (np.arange(n_events) // 1000 + 1).astype(np.uint32),
        "event": np.arange(first_event, first_event + n_events, dtype=np.uint64),
        "genWeight": rng.normal(1.0, 0.1, n_events).astype(np.float32),
        "MET_pt": rng.exponential(60.0, n_events).astype(np.float32),
        "MET_phi": rng.uniform(-np.pi, np.pi, n_events).astype(np.float32),
        "truth_process_id": rng.integers(10, 15, n_events).astype(np.int32),
        "truth_is_signal": np.zeros(n_events, dtype=bool),
    }
    if nan_branch in flat:
        flat[nan_branch] = flat[nan_branch].astype(np.float32)
        flat[nan_branch][n_events // 2] = np.nan
    if trigger == "all":
        flat["HLT_IsoMu24"] = flat["HLT_Ele32_WPTight_Gsf"] = np.ones(n_events, dtype=bool)
    elif trigger == "random":
        flat["HLT_IsoMu24"] = rng.random(n_events) < 0.5
        flat["HLT_Ele32_WPTight_Gsf"] = rng.random(n_events) < 0.3
        flat["HLT_NotConfigured"] = rng.random(n_events) < 0.5
    flat = {k: v for k, v in flat.items() if k not in drop}
    branches = {**flat}
    for coll in _COLLECTIONS:
        for field in _COLLECTIONS[coll]:
            name = f"{coll}_{field}"
            if name in data:
                branches.setdefault(coll, {})
                branches[coll][field] = data[name]
    if trigger == "random":
        branches["TrigObj"] = _trigger_objects(rng, data)
    jagged = [coll for coll in (*_COLLECTIONS, "TrigObj") if coll in branches]
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as out:
        tree = out.mktree("Events", _types(flat, branches, jagged), counter_name=lambda name: f"n{name}")
        tree.extend({**flat, **{coll: ak.zip(branches[coll]) for coll in jagged}})
    return path


def _trigger_objects(rng: np.random.Generator, data: dict[str, ak.Array]) -> dict[str, ak.Array]:
    """TrigObj fields: one object near each electron and muon, random flavour and distance."""
    eta = ak.concatenate([data["Electron_eta"], data["Muon_eta"]], axis=1)
    phi = ak.concatenate([data["Electron_phi"], data["Muon_phi"]], axis=1)
    counts, n = ak.num(eta), int(ak.sum(ak.num(eta)))
    distance, angle = rng.uniform(0.0, 0.25, n), rng.uniform(-np.pi, np.pi, n)
    trig_eta = ak.to_numpy(ak.flatten(eta)) + distance * np.cos(angle)
    trig_phi = ak.to_numpy(ak.flatten(phi)) + distance * np.sin(angle)
    trig_phi = (trig_phi + np.pi) % (2 * np.pi) - np.pi
    values = {"pt": rng.exponential(50.0, n).astype(np.float32), "eta": trig_eta.astype(np.float32),
              "phi": trig_phi.astype(np.float32), "id": rng.choice([11, 13, 22], n).astype(np.int32)}
    return {k: ak.unflatten(v, counts) for k, v in values.items()}


def _types(flat: dict[str, np.ndarray], branches: dict[str, object], jagged: list[str]) -> dict[str, object]:
    types: dict[str, object] = {k: v.dtype for k, v in flat.items()}
    for coll in jagged:
        types[coll] = ak.zip(branches[coll]).type
    return types


@pytest.fixture(scope="session")
def nano_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three small generated NanoAOD files with disjoint event numbers."""
    base = tmp_path_factory.mktemp("nano")
    return [make_nano_file(base / f"sample_{i}.root", 2000, seed=i, first_event=10_000 * i) for i in range(3)]


@pytest.fixture(scope="session")
def dask_cluster() -> object:
    """One embedded LocalCluster with 2 worker processes, shared by every test that needs Dask."""
    from adsearch.cluster import dask_client

    with dask_client(n_workers=2, memory_limit="2GiB") as client:
        yield client


@pytest.fixture(scope="session")
def real_data() -> Path:
    """tests/data/real: real NanoAOD, v15, PHYSLITE and PFNano files (copies of coffea test samples)."""
    return REAL


@pytest.fixture(scope="session")
def make_nano() -> object:
    """The file maker itself, for tests that need special (bad, duplicated, empty) files."""
    return make_nano_file


class _RealFiles:
    """Open each real file once per session: its TTree metadata alone takes seconds to read
    (thousands of branches), so tests share one uproot tree and one NanoEvents view per file."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[object, object]] = {}

    def __call__(self, name: str) -> tuple[object, object]:
        """(uproot tree, coffea NanoEvents) of ``name`` (e.g. "nano_tt_v15")."""
        if name not in self._cache:
            import warnings

            from coffea.nanoevents import NanoAODSchema, NanoEventsFactory, PHYSLITESchema

            handle = uproot.open(REAL / f"{name}.root")
            treename = "CollectionTree" if "PHYSLITE" in name else "Events"
            schema = PHYSLITESchema if "PHYSLITE" in name else NanoAODSchema
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                events = NanoEventsFactory.from_root(
                    handle, treepath=treename, schemaclass=schema,
                    metadata={"filename": str(REAL / f"{name}.root"), "treename": treename}).events()
            self._cache[name] = (handle[treename], events)
        return self._cache[name]


@pytest.fixture(scope="session")
def real_file() -> _RealFiles:
    return _RealFiles()
