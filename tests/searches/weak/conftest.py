"""Toy dijet NanoAOD files for the weak-search tests: QCD-like pseudo-data, a "simulation" that
differs from it in a known way (jets 8% heavier, tau21 shifted up: what another shower tune
does to jet substructure), and an A -> BC signal at mA = 3 TeV with (mB, mC) = (400, 80) GeV and
two-prong jets (low tau21). They go through the real dijet processor into a real store; only the
event generation is a toy (Pythia would take minutes for the statistics needed here)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import yaml

#: the simulation's known differences from the pseudo-data
SIM_MASS_SCALE = 1.08
SIM_TAU21_SHIFT = 0.06


def write_weak_file(path: Path, n_events: int, seed: int, kind: str = "qcd", first_event: int = 0) -> Path:
    """``n_events`` two-large-R-jet events of ``kind`` in "qcd", "sim", "signal"."""
    rng = np.random.default_rng(seed)
    if kind == "signal":
        mjj = rng.normal(3000.0, 80.0, n_events)
        ma, mb = rng.normal(400.0, 20.0, n_events), rng.normal(80.0, 8.0, n_events)
        m1, m2 = ma, mb
        r21 = rng.uniform(0.15, 0.45, (n_events, 2))
    else:
        mjj = 1900.0 * (1.0 - rng.random(n_events)) ** (-1.0 / 5.0)
        scale = 0.05 * mjj / 3.0 * (SIM_MASS_SCALE if kind == "sim" else 1.0)
        m1, m2 = 30.0 + rng.gamma(2.0, scale), 30.0 + rng.gamma(2.0, scale)
        r21 = np.clip(rng.uniform(0.35, 0.95, (n_events, 2)) + (SIM_TAU21_SHIFT if kind == "sim" else 0.0), 0, 0.99)
    n = n_events
    y0 = rng.normal(0.0, 0.6, n)
    dy = np.where(rng.random(n) < 0.9, rng.uniform(-1.1, 1.1, n), rng.choice([-1, 1], n) * rng.uniform(1.3, 2.0, n))
    pt = mjj / (2.0 * np.cosh(dy / 2.0))
    phi = rng.uniform(-np.pi, np.pi, n)
    tau1 = rng.uniform(0.2, 0.6, (n, 2))
    tau2 = tau1 * r21
    tau3 = tau2 * rng.uniform(0.5, 0.95, (n, 2))
    jets = {"pt": np.stack([pt * 1.01, pt * 0.99], 1).ravel(), "eta": np.stack([y0 + dy / 2, y0 - dy / 2], 1).ravel(),
            "phi": np.stack([phi, np.where(phi > 0, phi - np.pi, phi + np.pi)], 1).ravel(),
            "mass": np.stack([m1, m2], 1).ravel(), "msoftdrop": np.stack([m1, m2], 1).ravel() * 0.9,
            "tau1": tau1.ravel(), "tau2": tau2.ravel(), "tau3": tau3.ravel(), "tau4": tau3.ravel() * 0.8}
    fat = ak.zip({k: ak.unflatten(v.astype(np.float32), np.full(n, 2)) for k, v in jets.items()})
    flat = {"run": np.ones(n, np.uint32), "luminosityBlock": np.full(n, 1 + seed, np.uint32),
            "event": np.arange(first_event, first_event + n, dtype=np.uint64), "genWeight": np.ones(n, np.float32)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as out:
        tree = out.mktree("Events", {**{k: v.dtype for k, v in flat.items()}, "FatJet": fat.type.content},
                          counter_name=lambda name: f"n{name}")
        tree.extend({**flat, "FatJet": fat})
    return path


@pytest.fixture(scope="session")
def weak_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A processed store: 'background' (40k toy QCD, 100 pb^-1), 'simulation' (40k), 'signal' (3k)."""
    from adsearch.processors.run import run_processor

    root = tmp_path_factory.mktemp("weak")
    bkg = [write_weak_file(root / f"qcd_{i}.root", 20000, seed=i, first_event=100000 * i) for i in range(2)]
    sim = [write_weak_file(root / f"sim_{i}.root", 20000, seed=50 + i, kind="sim", first_event=100000 * i)
           for i in range(2)]
    sig = [write_weak_file(root / "signal.root", 3000, seed=99, kind="signal", first_event=10_000_000)]
    fileset = {"background": {"files": {str(p): "Events" for p in bkg}, "metadata": {"luminosity_pb": 100.0}},
               "simulation": {"files": {str(p): "Events" for p in sim}, "metadata": {"luminosity_pb": 100.0}},
               "signal": {"files": {str(p): "Events" for p in sig}, "metadata": {"xsec_pb": 5.0}}}
    (root / "fileset.yaml").write_text(yaml.safe_dump(fileset))
    store = root / "store.zarr"
    run_processor("dijet", root / "fileset.yaml", store, n_workers=0, progress=False)
    return store
