"""Toy dijet NanoAOD files for the CWoLa tests: a falling QCD-like mJJ spectrum with jet masses that
scale with mJJ, and an A -> BC signal at mA = 3 TeV with (mB, mC) = (400, 80) GeV. They go through
the real dijet processor into a real store; only the event generation is a toy (Pythia would take
minutes for the statistics a weakly supervised test needs)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import yaml


def _jets(rng: np.random.Generator, mjj: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> dict[str, np.ndarray]:
    n = mjj.size
    y0 = rng.normal(0.0, 0.6, n)
    # 85% search region (|dy| < 1.1), 15% validation region (1.3 < |dy| < 2)
    dy = np.where(rng.random(n) < 0.85, rng.uniform(-1.1, 1.1, n), rng.choice([-1, 1], n) * rng.uniform(1.3, 2.0, n))
    pt = mjj / (2.0 * np.cosh(dy / 2.0))
    phi = rng.uniform(-np.pi, np.pi, n)
    tau = np.sort(rng.uniform(0.05, 0.6, (2 * n, 3)), axis=1)[:, ::-1]
    return {
        "pt": np.stack([pt * 1.01, pt * 0.99], 1).ravel(), "eta": np.stack([y0 + dy / 2, y0 - dy / 2], 1).ravel(),
        "phi": np.stack([phi, np.where(phi > 0, phi - np.pi, phi + np.pi)], 1).ravel(),
        "mass": np.stack([m1, m2], 1).ravel(), "msoftdrop": np.stack([m1, m2], 1).ravel() * 0.9,
        "tau1": tau[:, 0], "tau2": tau[:, 1], "tau3": tau[:, 2], "tau4": tau[:, 2] * 0.8,
    }


def write_dijet_file(path: Path, n_events: int, seed: int, *, signal: bool = False, first_event: int = 0) -> Path:
    """``n_events`` two-large-R-jet events; QCD-like unless ``signal``."""
    rng = np.random.default_rng(seed)
    if signal:
        mjj = rng.normal(3000.0, 90.0, n_events)
        ma, mb = rng.normal(400.0, 20.0, n_events), rng.normal(80.0, 8.0, n_events)
        swap = rng.random(n_events) < 0.5
        m1, m2 = np.where(swap, mb, ma), np.where(swap, ma, mb)
    else:
        mjj = 1700.0 * (1.0 - rng.random(n_events)) ** (-1.0 / 5.0)  # dN/dm ~ m^-6 above 1.7 TeV
        scale = 0.05 * mjj / 3.0
        m1, m2 = 30.0 + rng.gamma(2.0, scale), 30.0 + rng.gamma(2.0, scale)
    jets = _jets(rng, mjj, m1, m2)
    counts = np.full(n_events, 2)
    fat = ak.zip({k: ak.unflatten(v.astype(np.float32), counts) for k, v in jets.items()})
    flat = {"run": np.ones(n_events, np.uint32), "luminosityBlock": np.full(n_events, 1 + seed, np.uint32),
            "event": np.arange(first_event, first_event + n_events, dtype=np.uint64),
            "genWeight": np.ones(n_events, np.float32)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as out:
        types = {**{k: v.dtype for k, v in flat.items()}, "FatJet": fat.type.content}
        tree = out.mktree("Events", types, counter_name=lambda name: f"n{name}")
        tree.extend({**flat, "FatJet": fat})
    return path


@pytest.fixture(scope="session")
def dijet_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A processed store: 'background' (60k toy QCD events = 100 pb^-1) and 'wprime_3000_400_80'."""
    from adsearch.processors.run import run_processor

    root = tmp_path_factory.mktemp("cwola")
    bkg = [write_dijet_file(root / f"qcd_{i}.root", 20000, seed=i, first_event=100000 * i) for i in range(3)]
    sig = [write_dijet_file(root / "signal.root", 3000, seed=99, signal=True, first_event=10_000_000)]
    fileset = {"background": {"files": {str(p): "Events" for p in bkg}, "metadata": {"luminosity_pb": 100.0}},
               "wprime_3000_400_80": {"files": {str(p): "Events" for p in sig}, "metadata": {"xsec_pb": 1.0}}}
    (root / "fileset.yaml").write_text(yaml.safe_dump(fileset))
    store = root / "store.zarr"
    run_processor("dijet", root / "fileset.yaml", store, n_workers=0, progress=False)
    return store
