"""Read a work unit's branches in one bulk request instead of one request per branch.

coffea's NanoEvents read each branch when the selection first touches it: one uproot request,
one basket walk and one awkward conversion per branch. The lepton processor reads ~48 branches
(kinematics, identification, isolation, impact parameters, triggers, ids, truth), so on small
units this per-branch cost is the larger part of the unit (measured, 5k-event generated units:
reading 54 ms lazily against 17 ms for one ``TTree.arrays`` of the same branches) and over
XRootD every branch is a round trip to the server.

:func:`preload_learned` and :func:`learn` learn which branches the selection reads (NanoEvents' access log, on every
unit, so a branch first needed in a later file joins the list) and, from then on, reads those
present in the unit's tree with one ``TTree.arrays`` call before the selection runs, handing the
arrays to NanoEvents as preloaded columns (the path coffea's own ``preload`` takes). The read
happens inside the processor, so an unreadable basket is still the unit's one-line bad-file
record. coffea's mapping is not public API: when its layout differs from what is used here, the
unit is read lazily as before (same columns, only slower).
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["preload_learned", "learn"]

#: (processor kind, schema) -> branches read so far in this process. Module-level, not on the
#: processor: a Dask worker receives a fresh copy of the processor with every work unit.
_LEARNED: dict[tuple[str, str], set[str]] = {}
_LOCK = threading.Lock()


def preload_learned(events: Any, key: tuple[str, str]) -> Any:
    """Preload the branches learned for ``key`` into ``events``' mapping and start recording what
    the selection reads; return the mapping for :func:`learn` (None: NanoEvents internals differ)."""
    mapping = _mapping(events)
    if mapping is None:
        return None
    mapping._access_log = []
    with _LOCK:
        names = sorted(_LEARNED.get(key, ()))
    tree = _tree(mapping) if names else None
    if tree is not None and mapping.preloaded_arrays is None:
        from coffea.nanoevents.factory import _OnlySliceableAs

        start, stop = mapping._start, mapping._stop
        present = [name for name in names if name in tree]
        arrays = tree.arrays(present, entry_start=start, entry_stop=stop, how=dict, ak_add_doc=True)
        mapping.preloaded_arrays = {name: _OnlySliceableAs(array, slice(start, stop))
                                    for name, array in arrays.items()}
    return mapping


def learn(mapping: Any, key: tuple[str, str]) -> None:
    """Add the branches this unit read (NanoEvents' access log) to ``key``'s list."""
    if mapping is None or not mapping._access_log:
        return
    read = {entry.branch for entry in mapping._access_log}
    with _LOCK:
        _LEARNED.setdefault(key, set()).update(read)


def _mapping(events: Any) -> Any:
    """NanoEvents' uproot mapping behind ``events`` when it has the expected layout, else None."""
    try:
        mapping = events.attrs["@events_factory"]._mapping
    except (AttributeError, KeyError, TypeError):
        return None
    if not all(hasattr(mapping, a) for a in ("preloaded_arrays", "_access_log", "_cache", "_start", "_stop")):
        return None
    return mapping


def _tree(mapping: Any) -> Any:
    """The unit's uproot TTree (NanoEvents caches the opened tree in its mapping)."""
    import uproot

    for value in mapping._cache.values():
        if isinstance(value, uproot.behaviors.TTree.TTree):
            return value
    return None
