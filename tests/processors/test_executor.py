"""The Dask executor's work units carry the processor, so the scheduler may place each anywhere.

coffea's stock ``DaskExecutor`` makes every unit depend on one task holding the processor, and
distributed assigns them all to the worker that ran it; work stealing then moves some away. On a
fresh cluster, 4 units of 0.4 s split 3:1 with it (1.74 s), 2:2 with ours (0.82 s). Which worker
runs which unit is the scheduler's choice (queueing, work stealing), so the tests assert what
the executor itself guarantees, read from the scheduler's own task states: no unit depends on
another task, and every unit runs once with the processor inline.
"""

from __future__ import annotations

import os

from coffea import processor
from distributed.diagnostics.plugin import SchedulerPlugin
from distributed.utils import key_split

from adsearch.processors.executor import SpreadDaskExecutor

_PLUGIN = "adsearch-test-unit-dependencies"


class _UnitDependencies(SchedulerPlugin):
    """Records, for every work-unit task the scheduler starts, the keys it depends on."""

    name = _PLUGIN

    def start(self, scheduler) -> None:  # noqa: ANN001 - distributed's Scheduler
        self.scheduler = scheduler
        self.dependencies: dict[str, list[str]] = {}

    def transition(self, key, start, finish, *args, **kwargs) -> None:  # noqa: ANN001
        if finish == "processing" and key_split(key) == "unit_where_run":
            deps = self.scheduler.tasks[key].dependencies
            self.dependencies[str(key)] = sorted(str(d.key) for d in deps)


def _unit_where_run(item_and_processor: tuple[int, bytes]) -> dict[str, int]:
    """A work unit as coffea calls it with a heavy input: (item, processor) in, counts out."""
    from distributed import get_worker

    item, heavy = item_and_processor
    assert heavy.startswith(b"processor")
    return {get_worker().address: 1, "items": item, "units": 1}


def _run_units(client, executor) -> tuple[dict[str, int], dict[str, list[str]]]:  # noqa: ANN001
    """Run 4 units through ``executor``; (summed unit outputs, per-unit task dependencies)."""
    client.register_plugin(_UnitDependencies(), name=_PLUGIN)
    try:
        # what coffea's Runner sets before calling; fresh bytes, so no worker holds a copy from before
        executor.heavy_input = b"processor" + os.urandom(8)
        counts, _ = executor([1, 2, 3, 4], _unit_where_run, {})
        deps = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.plugins[_PLUGIN].dependencies)
    finally:
        client.unregister_scheduler_plugin(_PLUGIN)
    return counts, deps


def test_units_carry_the_processor_without_a_shared_dependency(dask_cluster) -> None:
    executor = SpreadDaskExecutor(client=dask_cluster, status=False, retries=0, compression=None)
    counts, deps = _run_units(dask_cluster, executor)
    assert counts["items"] == 10 and counts["units"] == 4  # every unit ran once
    assert sum(v for k, v in counts.items() if k.startswith("tcp://")) == 4
    assert len(deps) == 4 and all(d == [] for d in deps.values()), deps  # free to run on any worker


def test_stock_executor_ties_every_unit_to_the_processor_task(dask_cluster) -> None:
    """What SpreadDaskExecutor avoids (so the test above can tell the two apart)."""
    executor = processor.DaskExecutor(client=dask_cluster, status=False, retries=0, compression=None)
    counts, deps = _run_units(dask_cluster, executor)
    assert counts["units"] == 4 and len(deps) == 4
    shared = {tuple(d) for d in deps.values()}
    assert len(shared) == 1 and len(next(iter(shared))) == 1, deps  # one task, the same for all units
