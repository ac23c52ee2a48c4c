"""Jagged collections as flat numpy arrays, for selections that loop in numpy and numba.

Each awkward call on a jagged array costs ~0.3-1 ms whatever its size; a selection of a few
thousand events spent most of its time in that bookkeeping. :class:`Flat` holds one offsets array
and one flat array per field, and converts from and to awkward records without copies.
"""

from __future__ import annotations

from typing import NamedTuple

import awkward as ak
import numpy as np

from adsearch.processors.overlap import flat_offsets, order_by_pt

__all__ = ["Flat"]


class Flat(NamedTuple):
    """A jagged collection as flat numpy arrays: ``offsets`` (n_events + 1, from 0) and one flat
    array per field. The selection works on these: each awkward call on a jagged array costs
    ~0.3-1 ms whatever its size, which made a 5k-event unit's selection ~10x its arithmetic."""

    offsets: np.ndarray
    fields: dict[str, np.ndarray]

    @classmethod
    def of(cls, records: ak.Array, skip: tuple[str, ...] = ()) -> Flat:
        """Flatten jagged records (plain list-offset records without copies, anything else via ak);
        fields in ``skip`` are left out, so their branches are never read."""
        contents = ak.contents
        names = [f for f in ak.fields(records) if f not in skip]
        layout = ak.to_layout(records)
        if isinstance(layout, contents.ListOffsetArray) and isinstance(layout.content, contents.RecordArray):
            columns = {f: layout.content[f] for f in names}
            if all(isinstance(c, contents.NumpyArray) for c in columns.values()):
                offsets = np.asarray(layout.offsets.data, dtype=np.int64)
                lo, hi = int(offsets[0]), int(offsets[-1])
                return cls(offsets - lo, {f: np.asarray(c.data)[lo:hi] for f, c in columns.items()})
        offsets, _counts = flat_offsets(records)
        return cls(offsets, {f: np.asarray(ak.flatten(records[f], axis=1)) for f in names})

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def keep(self, mask: np.ndarray) -> Flat:
        """The objects where ``mask`` (flat, one per object) is true."""
        before = np.zeros(len(mask) + 1, dtype=np.int64)
        np.cumsum(mask, out=before[1:])
        return Flat(before[self.offsets], {f: v[mask] for f, v in self.fields.items()})

    def events(self, mask: np.ndarray) -> Flat:
        """The events where ``mask`` (one per event) is true."""
        counts = self.counts[mask]
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        objects = np.repeat(mask, self.counts)
        return Flat(offsets, {f: v[objects] for f, v in self.fields.items()})

    def by_pt(self) -> Flat:
        """Objects ordered by decreasing pT within each event (stable, like ``ak.argsort``)."""
        order = order_by_pt(self.offsets, self.fields["pt"])
        return Flat(self.offsets, {f: v[order] for f, v in self.fields.items()})

    def any(self, condition: np.ndarray) -> np.ndarray:
        """Per event: does any object satisfy ``condition`` (flat)?"""
        event = np.repeat(np.arange(len(self.offsets) - 1), self.counts)
        return np.bincount(event[condition], minlength=len(self.offsets) - 1) > 0

    def to_ak(self, fields: tuple[str, ...] | None = None) -> ak.Array:
        """Jagged records viewing these arrays (no copy)."""
        names = list(fields or self.fields)
        contents = ak.contents
        record = contents.RecordArray([contents.NumpyArray(self.fields[f]) for f in names], names,
                                      length=int(self.offsets[-1]))
        return ak.Array(contents.ListOffsetArray(ak.index.Index64(self.offsets), record))
