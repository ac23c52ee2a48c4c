"""NanoAOD collections as flat numpy columns: the fast path of :class:`~adsearch.processors.objects.ObjectReader`.

Each awkward operation on a jagged NanoEvents field costs ~0.3-1.5 ms whatever its size (form
checks, broadcasting, and the merge of coffea's behaviour dictionaries in ``ak.zip``); a 5k-event
lepton unit did ~40 of them to build its objects, more than reading the branches. Here every
derived field (IDs, isolation flags, impact parameters) is computed with numpy on the branch
contents, and the records are assembled from those buffers without a copy. Branches nobody asks
for stay unread: they enter the records as the original (virtual) contents.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from adsearch.errors import BadInputError

__all__ = ["FlatCollection", "first_bad_entry"]


def first_bad_entry(values: np.ndarray, offsets: np.ndarray | None = None) -> int | None:
    """Event index (within the chunk) of the first non-finite value, None when all are finite."""
    if values.dtype.kind != "f":
        return None
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    first = int(np.flatnonzero(bad)[0])
    return first if offsets is None else int(np.searchsorted(offsets, first, side="right") - 1)


class FlatCollection:
    """One jagged NanoAOD collection: its offsets and each branch's content, read on first use."""

    def __init__(self, collection: Any, what: str, filename: str, entry_start: int) -> None:
        layout = ak.to_layout(collection)
        contents = ak.contents
        if not (isinstance(layout, contents.ListOffsetArray) and isinstance(layout.content, contents.RecordArray)):
            layout = ak.to_layout(ak.to_packed(collection))  # a sliced or indexed view: packed once
        self._layout = layout
        self.what, self.filename, self.entry_start = what, filename, entry_start
        self.offsets = np.asarray(layout.offsets.data, dtype=np.int64)
        self.length = len(layout.content)
        self.fields = set(layout.content.fields)

    def has(self, name: str) -> bool:
        return name in self.fields

    def content(self, name: str) -> Any:
        """The branch's content as it came (unread if nobody reads it); missing: BadInputError."""
        if name not in self.fields:
            raise BadInputError(self.filename, f"missing branch {self.what}_{name}")
        return self._layout.content[name]

    def get(self, name: str) -> np.ndarray:
        """The branch's values over the whole content (one per object)."""
        content = self.content(name)
        if isinstance(content, ak.contents.NumpyArray):
            return np.asarray(content.data)
        return np.asarray(ak.to_numpy(ak.Array(content)))

    def check_finite(self, name: str, values: np.ndarray) -> None:
        """Raise :class:`BadInputError` on NaN or infinite values of branch ``name`` (file, branch, entry)."""
        event = first_bad_entry(values, self.offsets)
        if event is not None:
            n_bad = int((~np.isfinite(values)).sum())
            raise BadInputError(self.filename, f"{n_bad} non-finite value(s) in {self.what}_{name} "
                                               f"(first at entry {self.entry_start + event})")

    def records(self, fields: dict[str, Any]) -> ak.Array:
        """Jagged records of numpy arrays (or untouched contents) with this collection's offsets.

        >>> FlatCollection(ak.Array([[{"pt": 1.0}], []]), "X", "f", 0).records({"pt": np.array([2.0])}).pt.tolist()
        [[2.0], []]
        """
        contents = ak.contents
        columns = [value if isinstance(value, contents.Content) else contents.NumpyArray(np.asarray(value))
                   for value in fields.values()]
        record = contents.RecordArray(columns, list(fields), length=self.length)
        return ak.Array(contents.ListOffsetArray(ak.index.Index64(self.offsets), record))
