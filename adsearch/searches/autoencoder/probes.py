"""Artificial anomalies: ordinary events with changed object identities, to probe the autoencoder.

As in the ATLAS talk on the lepton + X search, copies of ordinary events are altered so that
they stay kinematically identical but fill RMM cells that the training data rarely fills:
(a) every jet beyond the two leading ones becomes a photon, (b) becomes a b-jet, (c) only the
two leading jets and the leading lepton are kept. A useful autoencoder must score (a) and (b)
higher than the originals; (c) removes information, so its direction is not fixed a priori.
"Jets" are light and b-jets together, ranked by pT; the RMM is recomputed with the processor's
own kernel, so the copies differ from the originals only by the intended change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import awkward as ak
import numpy as np

from adsearch.processors.rmm import KINDS, RMMConfig, compute_rmm, flatten_rmm

__all__ = [
    "ANOMALY_NAMES",
    "AnomalyScores",
    "alter_objects",
    "anomaly_score_report",
    "anomaly_scores",
    "artificial_anomalies",
    "format_anomaly_report",
    "objects_from_files",
]

#: name -> short description, in report order.
ANOMALY_NAMES: dict[str, str] = {
    "jets_to_photons": "(a) jets beyond the second -> photons",
    "jets_to_bjets": "(b) jets beyond the second -> b-jets",
    "two_jets_one_lepton": "(c) only the two leading jets and the leading lepton kept",
}
_JET, _BJET, _MUON, _ELECTRON, _PHOTON = (KINDS.index(k) for k in ("jet", "bjet", "muon", "electron", "photon"))


def _kind_codes(kind: ak.Array) -> np.ndarray:
    """Flat integer codes (index in ``KINDS``) of a jagged string field."""
    flat = ak.flatten(kind, axis=1)
    codes = np.full(len(flat), -1, dtype=np.int8)
    for i, name in enumerate(KINDS):
        codes[np.asarray(flat == name)] = i
    if (codes < 0).any():
        raise ValueError(f"unknown object kinds; expected some of {list(KINDS)}")
    return codes


def _rank_within(event: np.ndarray, pt: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """0-based pT rank (descending) of each selected object within its event; -1 elsewhere."""
    rank = np.full(len(pt), -1, dtype=np.int64)
    idx = np.flatnonzero(selected)
    order = idx[np.lexsort((-pt[idx], event[idx]))]
    ev_sorted = event[order]
    first = np.searchsorted(ev_sorted, ev_sorted, side="left")
    rank[order] = np.arange(len(order)) - first
    return rank


def alter_objects(objects: ak.Array, name: str) -> ak.Array:
    """The objects of every event with artificial anomaly ``name`` applied (see :data:`ANOMALY_NAMES`)."""
    if name not in ANOMALY_NAMES:
        raise ValueError(f"unknown artificial anomaly {name!r}; choose from {list(ANOMALY_NAMES)}")
    counts = np.asarray(ak.num(objects, axis=1))
    event = np.repeat(np.arange(len(counts)), counts)
    # input dtypes are kept (NanoAOD float32), so unchanged events give bit-identical RMMs
    flat = {f: np.asarray(ak.flatten(objects[f], axis=1)) for f in ("pt", "eta", "phi", "mass")}
    codes = _kind_codes(objects.kind)
    is_jet = (codes == _JET) | (codes == _BJET)
    jet_rank = _rank_within(event, flat["pt"], is_jet)
    extra_jet = jet_rank >= 2
    keep = np.ones(len(codes), dtype=bool)
    if name == "jets_to_photons":
        codes = np.where(extra_jet, _PHOTON, codes)
        flat["mass"] = np.where(extra_jet, 0.0, flat["mass"])
    elif name == "jets_to_bjets":
        codes = np.where(extra_jet, _BJET, codes)
    else:
        is_lepton = (codes == _MUON) | (codes == _ELECTRON)
        keep = (is_jet & (jet_rank < 2)) | (is_lepton & (_rank_within(event, flat["pt"], is_lepton) == 0))
    new_counts = np.bincount(event[keep], minlength=len(counts))
    kinds = ak.from_numpy(np.asarray(KINDS)[codes[keep]])
    return ak.zip({**{f: ak.unflatten(v[keep], new_counts) for f, v in flat.items()},
                   "kind": ak.unflatten(kinds, new_counts)})


def artificial_anomalies(
    objects: Any, met_pt: Any, met_phi: Any, *, rmm_config: RMMConfig | None = None
) -> dict[str, np.ndarray]:
    """Flattened RMMs (n, 1287) of the three artificial anomalies of every event, by name.

    ``objects`` are records ``pt, eta, phi, mass, kind`` per event, e.g. from
    :func:`adsearch.processors.lepton.selected_objects`; MET is left unchanged. Rows align with
    the input events (an event without a third jet is unchanged by (a) and (b)).

    >>> anomalies = artificial_anomalies(objects, met_pt, met_phi)  # doctest: +SKIP
    >>> anomalies["jets_to_photons"].shape                           # doctest: +SKIP
    (n, 1287)
    """
    objects = objects if isinstance(objects, ak.Array) else ak.Array(objects)
    return {
        name: flatten_rmm(compute_rmm(alter_objects(objects, name), met_pt, met_phi, config=rmm_config),
                          config=rmm_config)
        for name in ANOMALY_NAMES
    }


class AnomalyScores(NamedTuple):
    """Scores of one artificial anomaly against the same events' original scores."""

    name: str
    n_events: int
    n_changed: int  # events whose RMM the change altered; the statistics below use only these
    median_original: float
    median_altered: float
    mean_shift: float  # mean of (altered - original) score per event
    fraction_higher: float  # share of changed events whose score rose
    quantiles_original: list[float]  # 5, 25, 50, 75, 95% of the changed events' original scores
    quantiles_altered: list[float]


_QUANTILES = (5, 25, 50, 75, 95)


def anomaly_scores(
    model_path: str | Path, objects: Any, met_pt: Any, met_phi: Any, *, rmm_config: RMMConfig | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(original scores, altered scores by name, changed-event masks by name), aligned with the events.

    The arrays behind :func:`anomaly_score_report`, e.g. to histogram the score distributions.
    """
    from adsearch.models.scoring import score_rows

    objects = objects if isinstance(objects, ak.Array) else ak.Array(objects)
    original = flatten_rmm(compute_rmm(objects, met_pt, met_phi, config=rmm_config), config=rmm_config)
    altered = artificial_anomalies(objects, met_pt, met_phi, rmm_config=rmm_config)
    scores = {name: score_rows(model_path, rows) for name, rows in altered.items()}
    changed = {name: (rows != original).any(axis=1) for name, rows in altered.items()}
    return score_rows(model_path, original), scores, changed


def anomaly_score_report(
    model_path: str | Path, objects: Any, met_pt: Any, met_phi: Any, *, rmm_config: RMMConfig | None = None
) -> list[AnomalyScores]:
    """Score the originals and their artificial anomalies with one model; compare event by event.

    >>> for row in anomaly_score_report("out/ae", *selected_objects(events)):  # doctest: +SKIP
    ...     print(row.name, row.fraction_higher)
    """
    base, altered, changed = anomaly_scores(model_path, objects, met_pt, met_phi, rmm_config=rmm_config)
    report = []
    for name, scores in altered.items():
        mask = changed[name]
        before, after = base[mask], scores[mask]
        if not mask.any():
            nan = float("nan")
            report.append(AnomalyScores(name, len(base), 0, nan, nan, nan, nan, [], []))
            continue
        report.append(AnomalyScores(
            name, len(base), int(mask.sum()), float(np.median(before)), float(np.median(after)),
            float((after - before).mean()), float((after > before).mean()),
            [float(q) for q in np.percentile(before, _QUANTILES)],
            [float(q) for q in np.percentile(after, _QUANTILES)],
        ))
    return report


def format_anomaly_report(report: list[AnomalyScores]) -> str:
    """A Markdown table of the report (for README and run summaries)."""
    lines = ["| artificial anomaly | events changed | median ln(MSE) original | median altered "
             "| mean shift | fraction higher |", "|---|---:|---:|---:|---:|---:|"]
    for r in report:
        lines.append(f"| {ANOMALY_NAMES[r.name]} | {r.n_changed}/{r.n_events} | {r.median_original:.2f} "
                     f"| {r.median_altered:.2f} | {r.mean_shift:+.2f} | {r.fraction_higher:.2f} |")
    return "\n".join(lines)


def objects_from_files(
    paths: list[str | Path], config: Any | None = None, *, preselected: bool = True
) -> tuple[ak.Array, np.ndarray, np.ndarray]:
    """Objects of ROOT files' (preselected) events, via :func:`adsearch.processors.lepton.selected_objects`."""
    from adsearch.processors.lepton import selected_objects
    from adsearch.processors.reading import open_events

    parts = [selected_objects(open_events(path), config, preselected=preselected) for path in paths]
    if not parts:
        raise ValueError("no input files given")
    return (ak.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))
