"""The Dask executor keeps both workers busy from the first unit on.

coffea's stock ``DaskExecutor`` makes every unit depend on one task holding the processor, and
distributed assigns them all to the worker that ran it; work stealing then moves some away. On a
fresh cluster, 4 units of 0.4 s split 3:1 with it (1.74 s), 2:2 with ours (0.82 s).
"""

from __future__ import annotations

import os
import time

from adsearch.processors.executor import SpreadDaskExecutor


def _unit_where_run(item_and_processor: tuple[int, bytes]) -> dict[str, int]:
    """A work unit as coffea calls it with a heavy input: (item, processor) in, counts out."""
    from distributed import get_worker

    item, heavy = item_and_processor
    assert heavy.startswith(b"processor")
    time.sleep(0.4)  # long enough that work stealing cannot rebalance before the units finish
    return {get_worker().address: 1, "items": item}


def test_long_units_split_evenly_over_two_workers(dask_cluster) -> None:
    executor = SpreadDaskExecutor(client=dask_cluster, status=False, retries=0, compression=None)
    # what coffea's Runner sets before calling; fresh bytes, so no worker holds a copy from before
    executor.heavy_input = b"processor" + os.urandom(8)
    counts, _ = executor([1, 2, 3, 4], _unit_where_run, {})
    per_worker = sorted(v for k, v in counts.items() if k != "items")
    assert counts["items"] == 10  # every unit ran once
    assert per_worker == [2, 2], counts
