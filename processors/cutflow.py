"""Cutflows as hist objects: events and weights surviving each selection step.

Two histograms over the same ``StrCategory`` axis of step names: an ``Int64`` one (events,
exact) and a ``Weight`` one (sum of weights and of squared weights). Steps are cumulative, so
``removed[i] = passed[i-1] - passed[i]`` and ``passed[0] = removed[1] + ... + removed[n] + passed[n]``
holds exactly for the counts. Cutflows of work units add with ``+`` (coffea accumulates them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hist
import numpy as np

__all__ = ["Cutflow"]


class Cutflow:
    """Cumulative selection counts (unweighted and weighted) for an ordered list of steps."""

    def __init__(self, steps: Sequence[str]) -> None:
        self.steps = list(steps)
        axis = hist.axis.StrCategory(self.steps, name="step", label="selection step")
        self.events = hist.Hist(axis, storage=hist.storage.Int64())
        self.weighted = hist.Hist(axis, storage=hist.storage.Weight())

    def fill(self, step: str, weights: np.ndarray) -> None:
        """Record the events (given by their weights) that survive ``step``."""
        if step not in self.steps:
            raise KeyError(f"unknown cutflow step {step!r}; steps are {self.steps}")
        weights = np.asarray(weights, dtype=np.float64)
        i = self.steps.index(step)
        # add to the bins directly: filling a StrCategory axis element by element costs
        # ~3 us per event, more than the whole selection
        self.events.view()[i] += len(weights)
        view = self.weighted.view()
        view["value"][i] += weights.sum()
        view["variance"][i] += np.einsum("i,i->", weights, weights)  # not np.dot: BLAS threads spin on a busy core

    def __add__(self, other: Cutflow) -> Cutflow:
        if self.steps != other.steps:
            raise ValueError(f"cannot add cutflows with different steps: {self.steps} vs {other.steps}")
        out = Cutflow(self.steps)
        out.events = self.events + other.events
        out.weighted = self.weighted + other.weighted
        return out

    __radd__ = __add__

    def __iadd__(self, other: Cutflow) -> Cutflow:
        return self + other

    @property
    def passed(self) -> np.ndarray:
        return np.asarray(self.events.values(), dtype=np.int64)

    @property
    def removed(self) -> np.ndarray:
        """Events removed by each step (0 for the first, which counts the input)."""
        passed = self.passed
        return np.concatenate([[0], passed[:-1] - passed[1:]])

    def check(self) -> None:
        """Raise if the bookkeeping does not close: input = sum(removed) + output, none negative."""
        passed, removed = self.passed, self.removed
        if (removed < 0).any() or passed[0] != removed.sum() + passed[-1]:
            raise ValueError(f"cutflow does not close: passed={passed.tolist()} removed={removed.tolist()}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form stored in the dataset attributes."""
        view = self.weighted.view()
        return {
            "steps": self.steps,
            "events": self.passed.tolist(),
            "removed": self.removed.tolist(),
            "sumw": [float(x) for x in view["value"]],
            "sumw2": [float(x) for x in view["variance"]],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cutflow:
        out = cls(data["steps"])
        out.events.view()[...] = np.asarray(data["events"], dtype=np.int64)
        view = out.weighted.view()
        view["value"] = np.asarray(data["sumw"], dtype=np.float64)
        view["variance"] = np.asarray(data["sumw2"], dtype=np.float64)
        return out

    def table(self, title: str = "") -> str:
        """Plain-text table: step, events, removed, sum of weights."""
        lines = [title] if title else []
        lines.append(f"{'step':<28}{'events':>12}{'removed':>12}{'sum w':>16}")
        sumw = self.weighted.view()["value"]
        for step, n, r, w in zip(self.steps, self.passed, self.removed, sumw):
            lines.append(f"{step:<28}{n:>12d}{r:>12d}{w:>16.6g}")
        return "\n".join(lines)
