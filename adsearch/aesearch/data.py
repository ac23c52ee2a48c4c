"""Assemble the search's inputs from the store: pseudo-data (with optional injection) and benchmarks.

Weights: the data dataset is an unweighted sample at luminosity L (real data, or the generator's
pseudo-data mix). A signal dataset of N_gen generated events with cross-section sigma enters the
data, or the sensitivity estimate, with weight sigma x L / N_gen per preselected event; an
injection adds round(sigma_inj x L x N_presel / N_gen) randomly chosen signal events to the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from adsearch.errors import AdsearchError
from adsearch.store import FeatureStore

__all__ = ["SampleColumns", "dataset_luminosity_ipb", "dataset_xsec_pb", "dataset_n_generated",
           "load_columns", "inject_signal"]

SCORE_COLUMN = "ae_score"
_LUMI_KEYS_IPB = {"luminosity_ipb": 1.0, "lumi_pb": 1.0, "luminosity_pb": 1.0, "equivalent_lumi_pb": 1.0,
                  "lumi_fb": 1e3, "luminosity_fb": 1e3, "equivalent_lumi_fb": 1e3}
_XSEC_KEYS_PB = ("xsec_pb", "cross_section_pb", "sigma_pb")


@dataclass
class SampleColumns:
    """Scores and the nine masses of one sample (rows = preselected events)."""

    name: str
    scores: np.ndarray
    masses: dict[str, np.ndarray]
    injected: np.ndarray  # True for signal events injected into the data

    @property
    def n_events(self) -> int:
        return int(self.scores.size)


def _metadata(store: FeatureStore, dataset: str) -> dict[str, Any]:
    attrs = store.attrs(dataset)
    return {**attrs.get("sidecar", {}), **attrs.get("metadata", {})}


def dataset_luminosity_ipb(store: FeatureStore, dataset: str) -> float:
    """Integrated luminosity (pb^-1) recorded for ``dataset`` (generator sidecar or fileset)."""
    meta = _metadata(store, dataset)
    for key, scale in _LUMI_KEYS_IPB.items():
        if key in meta:
            return float(meta[key]) * scale
    raise AdsearchError(f"dataset {dataset!r} records no luminosity; set luminosity_ipb in the search config")


def dataset_xsec_pb(store: FeatureStore, dataset: str) -> float:
    """Cross-section (pb) recorded for a signal dataset."""
    meta = _metadata(store, dataset)
    for key in _XSEC_KEYS_PB:
        if key in meta:
            return float(meta[key])
    raise AdsearchError(f"dataset {dataset!r} records no cross-section (xsec_pb)")


def dataset_n_generated(store: FeatureStore, dataset: str) -> int:
    """Events read before any selection: the first cutflow step."""
    cutflow = store.attrs(dataset).get("cutflow")
    if not cutflow:
        raise AdsearchError(f"dataset {dataset!r} has no cutflow in the store")
    return int(cutflow["events"][0])


def load_columns(store: FeatureStore, dataset: str, mass_columns: dict[str, str]) -> SampleColumns:
    """Scores and masses of every event of ``dataset``; a clear error when it was not scored."""
    if SCORE_COLUMN not in store.columns(dataset):
        raise AdsearchError(f"dataset {dataset!r} has no {SCORE_COLUMN!r} column: run `adsearch ae score` first")
    cols = store.read(dataset, [SCORE_COLUMN, *mass_columns.values()])
    masses = {label: cols[col].astype(np.float64) for label, col in mass_columns.items()}
    scores = cols[SCORE_COLUMN].astype(np.float64)
    n_unscored = int(np.count_nonzero(~np.isfinite(scores)))
    if n_unscored:
        raise AdsearchError(
            f"dataset {dataset!r}: {n_unscored} of {scores.size} events have no anomaly score (their RMM "
            "was not stored); the search needs every event scored: process with --rmm-fraction 1"
        )
    return SampleColumns(dataset, scores, masses, np.zeros(scores.size, bool))


def inject_signal(data: SampleColumns, signal: SampleColumns, n_inject: int, seed: int) -> SampleColumns:
    """Data plus ``n_inject`` randomly chosen (seeded) signal events, flagged as injected."""
    if n_inject > signal.n_events:
        raise AdsearchError(
            f"injection asks for {n_inject} {signal.name} events but only {signal.n_events} were "
            "generated and preselected: generate more signal or inject less"
        )
    pick = np.sort(np.random.default_rng(seed).choice(signal.n_events, size=n_inject, replace=False))
    return SampleColumns(
        data.name,
        np.concatenate([data.scores, signal.scores[pick]]),
        {k: np.concatenate([v, signal.masses[k][pick]]) for k, v in data.masses.items()},
        np.concatenate([data.injected, np.ones(n_inject, bool)]),
    )
