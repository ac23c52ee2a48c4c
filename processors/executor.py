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

With a ``receiver`` (the "client" write mode, for workers that cannot see the store: no shared
disk), each unit's result comes back to the client as soon as it is done (``as_completed``, not
coffea's tree reduction, which would carry the parts' bytes from worker to worker) and the
receiver writes and commits the part before the result, now small, is accumulated. Units the
receiver already holds committed are not sent at all.

Every unit first records its file and entry range as a scheduler event, so a unit that keeps
killing its workers (Dask reschedules it on another worker each time, up to
``distributed.scheduler.allowed-failures``) is reported as one :class:`ClusterError` naming the
file, the entries and the cause, instead of Dask's ``KilledWorker`` with an anonymous task key;
a unit that raises is tried :data:`UNIT_ATTEMPTS` times on its worker, then reported as one
:class:`BadInputError` with its file, entries and root cause.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from coffea import processor
from coffea.processor.accumulator import accumulate
from coffea.processor.executor import _compression_wrapper, _decompress

__all__ = ["SpreadDaskExecutor", "InProcessExecutor", "UNIT_EVENTS"]

#: Scheduler event topic: ``{"key", "file", "entries", "worker"}`` when a work unit starts, and again
#: with ``"done": True`` when it returned.
UNIT_EVENTS = "adsearch-units"


#: Attempts of a work unit that raises (a storage hiccup: a file briefly unreadable) before it is
#: reported with its file, entries and cause; a unit whose worker dies is Dask's to reschedule.
UNIT_ATTEMPTS = 3


class _NamedUnit:
    """coffea's work function, announcing its unit (file, entries) and retrying it when it raises."""

    def __init__(self, function: Callable) -> None:
        self.function = function
        functools.update_wrapper(self, function)  # same task names (key prefix) on the dashboard

    def __call__(self, item: Any) -> Any:
        from distributed import get_worker

        from adsearch.errors import AdsearchError, BadInputError

        unit = item[0] if isinstance(item, tuple) else item
        try:
            worker = get_worker()
        except ValueError:  # not on a Dask worker
            return self.function(item)
        if not hasattr(unit, "filename"):  # not a coffea WorkItem
            return self.function(item)
        entries = f"{unit.entrystart}-{unit.entrystop}"
        event = {"key": worker.get_current_task(), "file": unit.filename, "entries": entries, "worker": worker.address}
        worker.log_event(UNIT_EVENTS, event)
        for attempt in range(1, UNIT_ATTEMPTS + 1):
            try:
                output = self.function(item)
                break
            except AdsearchError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then reported with its root cause
                cause = _root_cause(exc)
                if attempt == UNIT_ATTEMPTS:
                    raise BadInputError(unit.filename, f"entries {entries} failed {attempt} times, "
                                                       f"last: {cause}") from exc
                worker.log_event(UNIT_EVENTS, {**event, "retry": attempt, "cause": cause})
                time.sleep(attempt)
        worker.log_event(UNIT_EVENTS, {**event, "done": True})
        return output


def _root_cause(exc: BaseException) -> str:
    """The innermost exception's type and message (coffea wraps each one with the WorkItem's repr)."""
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return f"{type(exc).__name__}: {exc}"[:300]


def _killed_unit_error(client: Any, exc: BaseException) -> Exception:
    """The unit whose workers died. coffea may report KilledWorker on the tree reduction above it,
    so the unit is the one that started most often and never returned (a finished unit whose result
    died with a worker is computed again, but it returned the first time)."""
    from collections import defaultdict

    from adsearch.errors import ClusterError

    starts: dict[str, list[dict[str, str]]] = defaultdict(list)
    finished: set[str] = set()
    for _, msg in client.get_events(UNIT_EVENTS):
        if msg.get("done"):
            finished.add(str(msg.get("key")))
        elif "retry" not in msg:
            starts[str(msg.get("key"))].append(msg)
    key = str(getattr(exc, "task", None))
    unfinished = [m for k, m in starts.items() if k not in finished]
    runs = starts.get(key) or max(unfinished, key=len, default=[])
    where = f"{runs[-1]['file']} (entries {runs[-1]['entries']})" if runs else "a work unit"
    n_dead = len({u["worker"] for u in runs}) or getattr(exc, "allowed_failures", 0) + 1
    return ClusterError(f"{where}: the work unit killed {n_dead} workers in a row (each died running it: out of "
                        "memory or a crash in compiled code?); see the workers' logs")


@dataclass
class SpreadDaskExecutor(processor.DaskExecutor):
    """``DaskExecutor`` whose work units carry the processor instead of depending on a task.

    ``receiver``: an object with ``committed(item) -> output | None`` and ``receive(output) ->
    output`` (see :class:`adsearch.processors.transfer.ClientWriter`); None: coffea's reduction.
    """

    receiver: Any = None

    def __call__(self, items: Iterable, function: Callable, accumulator: Any) -> Any:
        if self.heavy_input is not None:
            # coffea's work function unpacks ``(item, processor)`` when told "heavy"; giving it
            # the pair directly keeps that contract without the shared dependency
            heavy, self.heavy_input = self.heavy_input, None
            items = [(item, heavy) for item in items]
        if self.function_name == "get_metadata":
            return super().__call__(items, function, accumulator)
        from distributed import KilledWorker

        try:
            if self.receiver is None:
                return super().__call__(items, _NamedUnit(function), accumulator)
            return self._gather_on_client(list(items), _NamedUnit(function), accumulator)
        except KilledWorker as exc:
            raise _killed_unit_error(self.client, exc) from None
        except RuntimeError as exc:  # coffea's rewording of KilledWorker, which drops the task key
            if isinstance(exc.__context__, KilledWorker):
                raise _killed_unit_error(self.client, exc.__context__) from None
            raise

    def _gather_on_client(self, items: list[Any], function: Callable, accumulator: Any) -> Any:
        from distributed import as_completed

        todo = []
        for item in items:
            done = self.receiver.committed(item[0] if isinstance(item, tuple) else item)
            if done is None:
                todo.append(item)
            else:
                accumulator = accumulate([done], accumulator)
        if self.compression is not None:
            function = _compression_wrapper(self.compression, function, name=self.function_name)
        futures = self.client.map(function, todo, pure=False, priority=self.priority, retries=self.retries)
        progress = _Progress(len(todo), self.desc) if self.status and todo else None
        for future in as_completed(futures):
            output = self.receiver.receive(_decompress(future.result()))
            future.release()  # the part's bytes leave the cluster's memory as soon as written
            accumulator = accumulate([output], accumulator)
            if progress is not None:
                progress.advance()
        if progress is not None:
            progress.close()
        return accumulator, 0


@dataclass
class InProcessExecutor(processor.IterativeExecutor):
    """coffea's ``IterativeExecutor`` that draws no progress bar when ``status`` is False.

    coffea's own passes ``disable=not status`` to rich's ``add_task``, which takes it as a task
    field, so the bar is drawn whatever ``status`` says (and printed once into logs and pipes).
    """

    def __call__(self, items: Iterable, function: Callable, accumulator: Any) -> Any:
        if self.status:
            return super().__call__(items, function, accumulator)
        if len(items) == 0:
            return accumulator  # what coffea's returns for no items
        return accumulate(map(function, items), accumulator), 0


class _Progress:
    """A rich progress bar over units received by the client."""

    def __init__(self, total: int, description: str) -> None:
        from rich.progress import Progress

        self._bar = Progress(transient=True)
        self._bar.start()
        self._task = self._bar.add_task(description, total=total)

    def advance(self) -> None:
        self._bar.advance(self._task)

    def close(self) -> None:
        self._bar.stop()
