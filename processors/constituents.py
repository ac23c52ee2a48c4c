"""Padded large-R jet constituents from the PFNano layout, for sequence models (the VRNN).

PFNano stores candidates once per event (``PFCands_*``) and a jet -> candidate map
(``FatJetPFCands_jetIdx`` into ``FatJet``, ``FatJetPFCands_pFCandsIdx`` into ``PFCands``, both
local per-event indices). :func:`padded_constituents` gathers one chosen jet per event, orders
its candidates by decreasing pT (the method paper, arXiv:2105.09274, feeds pT-ordered
constituents) and keeps the leading ``n_max``, zero-padded: an (n_events, n_max, 4) float32
array of (pt [GeV], eta, phi, mass [GeV]) plus the true count. All numpy on flat buffers, no
per-event Python loop.

PHYSLITE large-R jets (``AnalysisLargeRJets``) keep only ``constituentLinks`` into a UFO
flow-element container that PHYSLITE does not store (checked on ``PHYSLITE_example.root``):
:func:`physlite_constituents_error` is the one-line reason the hx processor gives.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

__all__ = ["CONSTITUENT_FIELDS", "padded_constituents", "flat_with_offsets", "physlite_constituents_error"]

CONSTITUENT_FIELDS = ("pt", "eta", "phi", "mass")


def flat_with_offsets(array: Any) -> tuple[np.ndarray, np.ndarray]:
    """(content, offsets) of a one-level jagged array."""
    array = ak.Array(array)
    counts = np.asarray(ak.num(array, axis=1), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return np.asarray(ak.flatten(array, axis=1)), offsets


def padded_constituents(jet_idx: Any, cand_idx: Any, candidates: dict[str, Any], chosen: np.ndarray,
                        n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Leading-``n_max`` constituents (pT-ordered, zero-padded) of jet ``chosen[i]`` of event i.

    ``jet_idx`` / ``cand_idx``: per-event link lists (``FatJetPFCands_jetIdx`` / ``_pFCandsIdx``);
    ``candidates``: per-event ``pt, eta, phi, mass`` lists (``PFCands``); ``chosen``: the jet's
    local index per event, -1 for none. Returns (values (n, n_max, 4) float32, counts (n,) int32),
    counts being the jet's full constituent multiplicity.

    >>> v, n = padded_constituents([[0, 1, 0]], [[0, 1, 2]], {"pt": [[5., 9., 7.]], "eta": [[0., 1., 2.]],
    ...                            "phi": [[0., 0., 0.]], "mass": [[0., 0., 0.]]}, np.array([0]), 3)
    >>> v[0, :, 0].tolist(), n.tolist()
    ([7.0, 5.0, 0.0], [2])
    """
    links_jet, link_off = flat_with_offsets(jet_idx)
    links_cand, _ = flat_with_offsets(cand_idx)
    columns, cand_off = [], None
    for name in CONSTITUENT_FIELDS:
        values, cand_off = flat_with_offsets(candidates[name])
        columns.append(values.astype(np.float64))
    n_events = len(link_off) - 1
    chosen = np.asarray(chosen, dtype=np.int64)
    event = np.repeat(np.arange(n_events), np.diff(link_off))
    mine = (links_jet.astype(np.int64) == chosen[event]) & (chosen[event] >= 0)
    event = event[mine]
    global_idx = cand_off[event] + links_cand[mine].astype(np.int64)
    pt = columns[0][global_idx]
    order = np.lexsort((-pt, event))
    event, global_idx = event[order], global_idx[order]
    counts = np.bincount(event, minlength=n_events)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(event)) - first[event]
    keep = rank < n_max
    out = np.zeros((n_events, n_max, len(CONSTITUENT_FIELDS)), dtype=np.float32)
    for k, values in enumerate(columns):
        out[event[keep], rank[keep], k] = values[global_idx[keep]]
    return out, counts.astype(np.int32)


def physlite_constituents_error() -> str:
    """Why PHYSLITE inputs cannot feed a constituent-level model."""
    return ("PHYSLITE large-R jets (AnalysisLargeRJets) only link their constituents (constituentLinks) to a UFO "
            "flow-element container that PHYSLITE does not store, so the hx processor has no constituents to read; "
            "use PFNano-layout inputs (PFCands + FatJetPFCands)")
