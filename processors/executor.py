"""coffea's Dask executor, with work units that Dask can spread evenly over the workers.

coffea's ``Runner`` ships the processor to the cluster as the result of one task
(``client.submit(lambda x: x, processor)``) and makes every work unit depend on it. Distributed
places a task on a worker that already holds its dependencies, so all units are first assigned
to the one worker that ran that task; only work stealing moves some away, late and partially
(measured on 2 workers, 4 units of 100k lepton events: 3 units on one worker, 1 on the other,
so the second worker idled half of the time).

:class:`SpreadDaskExecutor` hands each unit the (lz4-compressed, a few kB) processor inline
instead. The units then have no dependency, the scheduler queues them and gives each worker
the next unit when it is free: the load stays balanced to the last unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from coffea import processor

__all__ = ["SpreadDaskExecutor"]


class SpreadDaskExecutor(processor.DaskExecutor):
    """``DaskExecutor`` whose work units carry the processor instead of depending on a task."""

    def __call__(self, items: Iterable, function: Callable, accumulator: Any) -> Any:
        if self.heavy_input is not None:
            # coffea's work function unpacks ``(item, processor)`` when told "heavy"; giving it
            # the pair directly keeps that contract without the shared dependency
            heavy, self.heavy_input = self.heavy_input, None
            items = [(item, heavy) for item in items]
        return super().__call__(items, function, accumulator)
