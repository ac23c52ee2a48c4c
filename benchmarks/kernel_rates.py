"""Single-core rates of the two numba kernels: RMM events/s and ECDF values/s.

Inputs are synthetic but shaped like the real workload: lepton+jets multiplicities
(~4 jets, ~1.2 b-jets, one lepton, a few extra objects, ~6.7 objects/event) for the RMM, and
two jet masses per event in six mJJ regions for the ECDF. Each rate is the best of a few
repeats after a JIT warm-up. Rates are per CPU-second of this (single-threaded) process by
default, so a busy shared machine does not halve them; ``clock="wall"`` gives wall-clock rates.
``bench_processors.py`` imports the two functions; running the file prints a table.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import awkward as ak
import numpy as np

from adsearch.processors.ecdf import ecdf_in_regions, ecdf_transform
from adsearch.processors.rmm import RMMConfig, rmm_features, rmm_layout

__all__ = [
    "ecdf_values_per_second",
    "lepton_jets_collections",
    "rmm_events_per_second",
]

MJJ_EDGES_GEV = np.array([1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4500.0, 6000.0])


def _jagged(rng: np.random.Generator, counts: np.ndarray, mass_gev: float | None) -> ak.Array:
    """pT-ordered jagged records, falling pT spectrum, flat eta/phi; jets get a pT-proportional mass."""
    total = int(counts.sum())
    pt = 20.0 * (1.0 - rng.random(total)) ** (-1.0 / 2.5)
    mass = pt * rng.uniform(0.02, 0.2, total) if mass_gev is None else np.full(total, mass_gev)
    flat = ak.zip(
        {
            "pt": pt.astype(np.float32),
            "eta": rng.uniform(-2.5, 2.5, total).astype(np.float32),
            "phi": rng.uniform(-np.pi, np.pi, total).astype(np.float32),
            "mass": mass.astype(np.float32),
        }
    )
    jagged = ak.unflatten(flat, counts)
    return ak.to_packed(jagged[ak.argsort(jagged.pt, axis=1, ascending=False)])  # pT-ordered, like files


def lepton_jets_collections(
    n_events: int, seed: int = 1
) -> tuple[dict[str, ak.Array], np.ndarray, np.ndarray]:
    """Per-kind jagged collections, MET and MET phi for ``n_events`` lepton+jets-like events."""
    rng = np.random.default_rng(seed)
    is_muon = rng.random(n_events) < 0.5
    counts = {
        "jet": 1 + rng.poisson(3.0, n_events),
        "bjet": rng.poisson(1.2, n_events),
        "muon": is_muon + rng.poisson(0.1, n_events),
        "electron": ~is_muon + rng.poisson(0.1, n_events),
        "photon": rng.poisson(0.3, n_events),
    }
    masses = {"jet": None, "bjet": None, "muon": 0.10566, "electron": 0.000511, "photon": 0.0}
    collections = {kind: _jagged(rng, c.astype(np.int64), masses[kind]) for kind, c in counts.items()}
    met_pt = rng.exponential(50.0, n_events).astype(np.float32)
    met_phi = rng.uniform(-np.pi, np.pi, n_events).astype(np.float32)
    return collections, met_pt, met_phi


_CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def _best_seconds(call: Callable[[], object], repeats: int, clock: str) -> float:
    now = _CLOCKS[clock]
    best = float("inf")
    for _ in range(repeats):
        start = now()
        call()
        best = min(best, now() - start)
    return best


def rmm_events_per_second(
    n_events: int = 100_000, repeats: int = 3, seed: int = 1, clock: str = "cpu"
) -> float:
    """RMM events/s on one core: awkward -> flat arrays -> kernel -> reused (n, 1287) buffer."""
    collections, met_pt, met_phi = lepton_jets_collections(n_events, seed)
    out = np.empty((n_events, rmm_layout(RMMConfig()).kept_cells.size), dtype=np.float32)
    rmm_features(collections, met_pt, met_phi, out=out)  # JIT warm-up, first touch of the buffer
    seconds = _best_seconds(lambda: rmm_features(collections, met_pt, met_phi, out=out), repeats, clock)
    return n_events / seconds


def ecdf_values_per_second(
    n_events: int = 1_000_000, repeats: int = 3, seed: int = 2, clock: str = "cpu"
) -> float:
    """Jet-mass values/s of :func:`ecdf_in_regions` (two masses per event) on one core."""
    rng = np.random.default_rng(seed)
    mjj = 1500.0 + rng.exponential(700.0, n_events)
    mj1 = rng.gamma(3.0, 40.0, n_events)
    mj2 = rng.gamma(2.5, 30.0, n_events)
    ecdf_in_regions(mj1[:1000], mj2[:1000], mjj[:1000], MJJ_EDGES_GEV)  # JIT warm-up
    ecdf_transform(mj1[:1000], mj2[:1000])
    seconds = _best_seconds(lambda: ecdf_in_regions(mj1, mj2, mjj, MJJ_EDGES_GEV), repeats, clock)
    return 2 * n_events / seconds


def main() -> None:
    rows = [
        ("RMM kernel, lepton+jets", rmm_events_per_second, "events/s", 1.0e6),
        ("ECDF in 6 mJJ regions", ecdf_values_per_second, "values/s", 2.0e7),
    ]
    print(f"{'kernel (1 core)':<26} {'per CPU-s':>12} {'per wall-s':>12} {'unit':<9} {'target':>11}  ok")
    for name, rate_of, unit, target in rows:
        cpu, wall = rate_of(clock="cpu"), rate_of(clock="wall")
        verdict = "yes" if cpu >= target else "NO"
        print(f"{name:<26} {cpu:>12,.0f} {wall:>12,.0f} {unit:<9} {target:>11,.0f}  {verdict}")


if __name__ == "__main__":
    main()
