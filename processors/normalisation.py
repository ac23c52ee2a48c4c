"""Sum of generator weights of a whole simulated sample, for signal and MC normalisation.

A simulated dataset is normalised to sigma x L x (sum of the selected events' weights) / (sum of
the weights of *every generated event*), not to the number of events read: NanoAOD skims and
PHYSLITE derivations drop events before the analysis sees them, and generators with negative
weights make counts wrong even without a skim. The denominator comes from the file's own
bookkeeping:

- NanoAOD: the ``Runs`` tree, ``genEventSumw`` summed over its entries (older NanoAOD:
  ``genEventSumw_``), and ``genEventCount``;
- PHYSLITE: the ``MetaData`` tree's ``CutBookkeepers`` of the unskimmed input (the bookkeeper
  with the lowest cycle and name ``AllExecutedEvents``): ``sumOfEventWeights`` and ``nAcceptedEvents``.

A file without either raises :class:`adsearch.errors.BadInputError` naming the file: the caller
must then say how to normalise (data need none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import uproot

from adsearch.errors import BadInputError

__all__ = ["SumOfWeights", "file_sum_of_weights", "handle_sum_of_weights", "dataset_sum_of_weights",
           "sum_of_weights_record", "combine_records"]


@dataclass(frozen=True)
class SumOfWeights:
    """Sum of generator weights and number of generated events, and where they were read."""

    sumw: float
    n_events: int
    source: str

    def __add__(self, other: SumOfWeights) -> SumOfWeights:
        return SumOfWeights(self.sumw + other.sumw, self.n_events + other.n_events,
                            self.source if self.source == other.source else f"{self.source}+{other.source}")


def _first(tree: object, names: tuple[str, ...]) -> str | None:
    keys = set(tree.keys())  # type: ignore[attr-defined]
    return next((n for n in names if n in keys), None)


def file_sum_of_weights(path: str | Path) -> SumOfWeights:
    """The generated-sample bookkeeping of one NanoAOD or PHYSLITE file.

    >>> file_sum_of_weights("tests/data/real/nano_dy.root").source  # doctest: +SKIP
    'Runs.genEventSumw_'
    """
    name = str(path)
    try:
        handle = uproot.open(name)
    except Exception as exc:  # noqa: BLE001 - every reading error becomes one line naming the file
        raise BadInputError(name, f"cannot open: {type(exc).__name__}: {exc}") from None
    with handle:
        return handle_sum_of_weights(handle, name)


def handle_sum_of_weights(handle: object, name: str) -> SumOfWeights:
    """:func:`file_sum_of_weights` of an open uproot file (the input check reads it there, so no
    file is opened twice for its bookkeeping)."""
    trees = {k.split(";")[0] for k in handle.keys()}  # type: ignore[attr-defined]
    if "Runs" in trees:
        runs = handle["Runs"]  # type: ignore[index]
        sumw = _first(runs, ("genEventSumw", "genEventSumw_"))
        count = _first(runs, ("genEventCount", "genEventCount_"))
        if sumw is not None and count is not None:
            return SumOfWeights(float(np.sum(runs[sumw].array(library="np"))),
                                int(np.sum(runs[count].array(library="np"))), f"Runs.{sumw}")
    if "MetaData" in trees:
        meta = handle["MetaData"]  # type: ignore[index]
        prefix = next((k for k in meta.keys() if k.endswith("CutBookkeepersAux.sumOfEventWeights")), None)
        if prefix is not None:
            base = prefix.rsplit(".", 1)[0]
            sumw = np.asarray(meta[f"{base}.sumOfEventWeights"].array(library="np")[0], dtype=float)
            n_acc = np.asarray(meta[f"{base}.nAcceptedEvents"].array(library="np")[0])
            cycle = np.asarray(meta[f"{base}.cycle"].array(library="np")[0])
            first = int(np.argmin(cycle))  # the bookkeeper of the unskimmed input
            return SumOfWeights(float(sumw[first]), int(n_acc[first]), "MetaData.CutBookkeepers")
    raise BadInputError(name, "no generator-weight bookkeeping (NanoAOD Runs.genEventSumw or PHYSLITE "
                              "CutBookkeepers): cannot normalise this simulated sample")


def sum_of_weights_record(handle: object, name: str) -> dict[str, object]:
    """One file's bookkeeping as the store records it: {"sumw", "n_events", "source"} or {"error"}."""
    try:
        one = handle_sum_of_weights(handle, name)
    except BadInputError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - an unreadable bookkeeping tree is no bookkeeping
        return {"error": f"{name}: unreadable generator-weight bookkeeping ({type(exc).__name__}: {exc})"}
    return {"sumw": one.sumw, "n_events": one.n_events, "source": one.source}


def combine_records(records: list[dict[str, object]]) -> dict[str, object]:
    """A dataset's record from its files' :func:`sum_of_weights_record`: the sums, or the first error."""
    total: SumOfWeights | None = None
    for record in records:
        if "error" in record:
            return {"error": record["error"]}
        one = SumOfWeights(float(record["sumw"]), int(record["n_events"]), str(record["source"]))  # type: ignore[arg-type]
        total = one if total is None else total + one
    if total is None:
        return {"error": "no files given"}
    return {"sumw": total.sumw, "n_events": total.n_events, "source": total.source}


def dataset_sum_of_weights(paths: Iterable[str | Path]) -> SumOfWeights:
    """Sum over the files of one dataset (every file must carry the bookkeeping)."""
    total: SumOfWeights | None = None
    for path in paths:
        one = file_sum_of_weights(path)
        total = one if total is None else total + one
    if total is None:
        raise ValueError("no files given")
    return total
