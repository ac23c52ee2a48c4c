"""Samples of a search: read columns of a store dataset, its luminosity and cross-section, and
inject signal events into pseudo-data.

Weights: the data dataset is an unweighted sample at luminosity L (real data, or the generator's
pseudo-data mix). A simulated dataset with cross-section sigma enters with weight
sigma x L x w_i / sum_w per selected event, where w_i is its generator weight and sum_w the sum of
generator weights of the *whole* generated sample (NanoAOD ``Runs.genEventSumw``, PHYSLITE
CutBookkeepers, the generator's ``Runs`` tree; recorded by the processor), never the number of
events read: skims and derivations drop events before the analysis sees them. An injection adds
round(sigma_inj x L x sum_sel w / sum_w) randomly chosen (seeded) signal events to the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adsearch.errors import AdsearchError
from adsearch.store import FeatureStore

__all__ = [
    "Sample",
    "load_sample",
    "dataset_luminosity_ipb",
    "dataset_xsec_pb",
    "dataset_n_generated",
    "Normalisation",
    "dataset_normalisation",
    "injection_count",
    "injection_rows",
    "inject_signals",
    "signal_weight",
]

_LUMI_KEYS_IPB = {"luminosity_ipb": 1.0, "lumi_pb": 1.0, "luminosity_pb": 1.0, "equivalent_lumi_pb": 1.0,
                  "lumi_fb": 1e3, "luminosity_fb": 1e3, "equivalent_lumi_fb": 1e3}
_XSEC_KEYS_PB = ("xsec_pb", "cross_section_pb", "sigma_pb")


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
    """Events read before any selection: the first cutflow step (toy samples without generator
    bookkeeping; normalise simulated samples with :func:`dataset_normalisation`)."""
    cutflow = store.attrs(dataset).get("cutflow")
    if not cutflow:
        raise AdsearchError(f"dataset {dataset!r} has no cutflow in the store")
    return int(cutflow["events"][0])


@dataclass(frozen=True)
class Normalisation:
    """A simulated dataset's weights: whole-sample and selected sums of generator weights."""

    sumw_total: float  # every generated event (the sample's bookkeeping)
    sumw_selected: float  # the events the store holds
    n_selected: int
    source: str  # where sumw_total comes from

    def expected(self, xsec_pb: float, luminosity_ipb: float) -> float:
        """Selected events expected at sigma and L: sigma x L x sum_sel w / sum_w.

        >>> Normalisation(2000.0, 300.0, 300, "Runs.genEventSumw").expected(0.5, 139.0)
        10.425
        """
        return xsec_pb * luminosity_ipb * self.sumw_selected / self.sumw_total


def dataset_normalisation(store: FeatureStore, dataset: str) -> Normalisation:
    """The normalisation of a simulated ``dataset``: ``sum_of_weights`` from its fileset metadata
    when declared, else the sum of generator weights of the whole sample its files record
    (stored by the processor); a clear error naming the dataset when neither exists."""
    attrs = store.attrs(dataset)
    cutflow = attrs.get("cutflow")
    if not cutflow:
        raise AdsearchError(f"dataset {dataset!r} has no cutflow in the store")
    declared = _metadata(store, dataset).get("sum_of_weights")
    recorded = attrs.get("sum_of_weights") or {}
    if declared is not None:
        total, source = float(declared), "fileset metadata sum_of_weights"
    elif "sumw" in recorded:
        total, source = float(recorded["sumw"]), str(recorded.get("source", "files"))
    else:
        why = recorded.get("error", "the store records none")
        raise AdsearchError(f"dataset {dataset!r}: no sum of generator weights of the whole sample ({why}); "
                            "declare sum_of_weights in its fileset metadata")
    if not total > 0:
        raise AdsearchError(f"dataset {dataset!r}: sum of generator weights {total} ({source}) is not positive")
    return Normalisation(total, float(cutflow["sumw"][-1]), int(cutflow["events"][-1]), source)


def signal_weight(store: FeatureStore, dataset: str, luminosity_ipb: float) -> float:
    """Events at luminosity L one selected event of a signal dataset stands for on average:
    sigma x L x (mean generator weight of the selected events) / sum_w of the whole sample."""
    norm = dataset_normalisation(store, dataset)
    if norm.n_selected == 0:
        return 0.0
    return norm.expected(dataset_xsec_pb(store, dataset), luminosity_ipb) / norm.n_selected


def injection_count(xsec_pb: float, luminosity_ipb: float, n_selected: int, n_generated: int) -> int:
    """round(sigma x L x N_sel / N_gen): selected signal events an injection of sigma adds.

    >>> injection_count(0.5, 139.0, 300, 1000)
    21
    """
    return int(round(xsec_pb * luminosity_ipb * n_selected / n_generated))


def injection_rows(n_available: int, n_inject: int, seed: int, name: str = "signal") -> np.ndarray:
    """Sorted, seeded choice of ``n_inject`` of ``n_available`` signal rows (without replacement)."""
    if n_inject > n_available:
        raise AdsearchError(
            f"injection asks for {n_inject} {name} events but only {n_available} were "
            "generated and selected: generate more signal or inject less"
        )
    return np.sort(np.random.default_rng(seed).choice(n_available, size=n_inject, replace=False))


@dataclass
class Sample:
    """Columns of one dataset (rows = selected events); ``injected`` flags injected signal rows."""

    name: str
    columns: dict[str, np.ndarray]
    injected: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def __post_init__(self) -> None:
        n = self.n_events
        if self.injected.size != n:
            self.injected = np.zeros(n, bool)
        bad = [k for k, v in self.columns.items() if v.shape[0] != n]
        if bad:
            raise ValueError(f"sample {self.name!r}: columns {bad} have another length than {n}")

    @property
    def n_events(self) -> int:
        return int(next(iter(self.columns.values())).shape[0]) if self.columns else 0

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    def subset(self, mask: np.ndarray) -> Sample:
        """The rows where ``mask`` is True (a boolean mask or row indices)."""
        return Sample(self.name, {k: v[mask] for k, v in self.columns.items()}, self.injected[mask])

    def with_injection(self, signal: Sample, n_inject: int, seed: int) -> Sample:
        """These rows plus ``n_inject`` seeded random rows of ``signal``, flagged as injected.

        >>> data = Sample("data", {"m": np.arange(5.0)})
        >>> both = data.with_injection(Sample("sig", {"m": np.full(10, 99.0)}), 3, seed=1)
        >>> both.n_events, int(both.injected.sum()), float(both["m"][-1])
        (8, 3, 99.0)
        """
        pick = injection_rows(signal.n_events, n_inject, seed, signal.name)
        missing = sorted(set(self.columns) - set(signal.columns))
        if missing:
            raise AdsearchError(f"signal {signal.name!r} lacks columns {missing} of the data")
        return Sample(
            self.name,
            {k: np.concatenate([v, signal.columns[k][pick]]) for k, v in self.columns.items()},
            np.concatenate([self.injected, np.ones(n_inject, bool)]),
        )


def load_sample(store: FeatureStore, dataset: str, columns: list[str], mask_column: str | None = None) -> Sample:
    """Named columns of every event of ``dataset``; a clear error naming missing columns.

    ``mask_column``: a boolean column; only rows where it is True are kept (e.g. a region flag).
    """
    have = set(store.columns(dataset))
    wanted = list(dict.fromkeys([*columns, *([mask_column] if mask_column else [])]))
    missing = [c for c in wanted if c not in have]
    if missing:
        raise AdsearchError(f"dataset {dataset!r} has no columns {missing} (it has {sorted(have)})")
    cols = store.read(dataset, wanted)
    sample = Sample(dataset, {c: np.asarray(cols[c]) for c in columns})
    if mask_column:
        sample = sample.subset(np.asarray(cols[mask_column], dtype=bool))
    return sample


def inject_signals(
    store: FeatureStore, data: Sample, signals: dict[str, Sample], xsec_pb: dict[str, float],
    luminosity_ipb: float, seed: int,
) -> tuple[Sample, dict[str, int]]:
    """``data`` with every signal of ``xsec_pb`` injected at its cross-section (seeded, in name order),
    and the number of events each added."""
    n_injected: dict[str, int] = {}
    for i, (name, xsec) in enumerate(sorted(xsec_pb.items())):
        n_inj = injection_count(xsec, luminosity_ipb, signals[name].n_events, dataset_n_generated(store, name))
        data = data.with_injection(signals[name], n_inj, seed=seed + 17 + i)
        n_injected[name] = n_inj
    return data, n_injected
