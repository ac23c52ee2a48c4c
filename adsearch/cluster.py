"""One place that owns Dask: every stage gets its client from :func:`dask_client`.

Where the tasks run is one value, ``--cluster`` on every command and ``cluster=`` here
(:class:`~adsearch.cluster_spec.ClusterSpec`): ``local`` (default) starts an embedded
``distributed.LocalCluster`` with worker *processes* (numba and awkward hold the GIL in places,
so threads would not scale), bound to loopback with no dashboard; ``tcp://`` / ``tls://`` connect
to a running scheduler (TLS files from the options or the dask config) and leave it running;
``gateway[:URL]`` creates a dask-gateway cluster (:mod:`adsearch.cluster_gateway`);
``slurm`` / ``htcondor`` start dask-jobqueue batch jobs (:mod:`adsearch.cluster_jobqueue`).
Every client that is not the embedded one is checked first: workers must run the same adsearch
(:mod:`adsearch.cluster_workers`), else one line says which differ.

The embedded workers run without Dask's statistical profiler: it samples the task thread's
stack every 10 ms and keeps 1000 one-second profile trees per worker, and with the deep
awkward/uproot stacks of a processor unit that history grew a worker by ~1.5 MB per 100k-event
unit (measured: 473 -> 684 MB RSS over 12 units), i.e. worker memory rose with the number of
input files. And they allocate large arrays from the heap: the nanny sets glibc's
``MALLOC_TRIM_THRESHOLD_`` (to hand freed memory back to the OS), which also freezes glibc's mmap
threshold at 128 kB, so every array above that was a fresh mmap, page-faulted on first touch:
108k page faults and +25% time per 100k-event lepton unit. ``MALLOC_MMAP_THRESHOLD_`` = 32 MiB
(glibc's own dynamic ceiling) keeps the trimming and brings the faults down to ~8k (worker
peak memory +55 MB). ``deploy/dask.yaml`` sets both for external clusters.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from adsearch.cluster_spec import ClusterSpec
from adsearch.errors import ConfigError

__all__ = ["dask_client", "cluster_client", "run_tasks", "gpu_workers", "ClusterSpec", "DEFAULT_MEMORY_LIMIT", "WORKER_DASK_CONFIG"]

T = TypeVar("T")

#: Per-worker memory limit of the embedded cluster (the machine is shared; keep workers modest).
DEFAULT_MEMORY_LIMIT = "4GiB"

# Every worker process runs numba/numpy kernels single-threaded: one Dask thread per core.
_SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
#: Dask settings of the embedded workers (handed to the worker processes by their nannies).
WORKER_DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 32 * 2**20,
}


@contextmanager
def dask_client(
    cluster: "str | ClusterSpec | None" = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | int = DEFAULT_MEMORY_LIMIT,
) -> Iterator["distributed.Client"]:  # noqa: F821
    """Yield a ``distributed.Client`` for ``cluster`` (see the module text); close what it started.

    ``n_workers`` overrides the spec's (embedded workers, or the size a gateway / batch cluster is
    scaled to). ``--workers 0`` callers check :attr:`ClusterSpec.in_process` and use no client.

    >>> with dask_client("local", n_workers=2) as client:   # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    spec = ClusterSpec.parse(cluster, **({} if n_workers is None else {"n_workers": n_workers}))
    if spec.kind == "local":
        with _local_client(spec.n_workers, threads_per_worker, memory_limit) as client:
            yield client
        return
    from adsearch.cluster_workers import prepare_workers

    if spec.kind == "address":
        context = _address_client(spec)
    elif spec.kind == "gateway":
        from adsearch.cluster_gateway import gateway_client

        context = gateway_client(spec)
    else:
        from adsearch.cluster_jobqueue import jobqueue_client

        context = jobqueue_client(spec)
    with context as client:
        prepare_workers(client, spec.install)
        yield client


@contextmanager
def cluster_client(cluster: "str | ClusterSpec | None" = None) -> Iterator[Any | None]:
    """Like :func:`dask_client`, but None (run in this process) for ``local`` with 0 workers.

    >>> with cluster_client(ClusterSpec(n_workers=0)) as client:
    ...     client is None
    True
    """
    spec = ClusterSpec.parse(cluster)
    if spec.in_process:
        yield None
        return
    with dask_client(spec) as client:
        yield client


def _security(spec: ClusterSpec) -> Any:
    from distributed.security import Security

    if spec.tls_ca_file:
        return Security(tls_ca_file=spec.tls_ca_file, tls_client_cert=spec.tls_cert, tls_client_key=spec.tls_key,
                        require_encryption=True)
    return Security()  # the dask config's distributed.comm.tls.* (a facility's dask.yaml)


@contextmanager
def _address_client(spec: ClusterSpec) -> Iterator[Any]:
    from distributed import Client

    address = spec.address or ""
    if address.startswith("tls://") and not (spec.tls_ca_file or _security(spec).tls_ca_file):
        raise ConfigError(f"{address}: a tls:// scheduler needs --tls-ca/--tls-cert/--tls-key "
                          "(or distributed.comm.tls.* in the dask config)")
    try:
        client = Client(address, timeout="20s", security=_security(spec))
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach Dask scheduler {address}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _local_client(n_workers: int, threads_per_worker: int, memory_limit: str | int) -> Iterator[Any]:
    """The embedded cluster: worker processes on this machine, loopback only, no dashboard."""
    from distributed import Client, LocalCluster

    if n_workers < 1 or threads_per_worker < 1:
        raise ConfigError(f"n_workers and threads_per_worker must be >= 1, got {n_workers}, {threads_per_worker}")
    import dask

    saved = {key: os.environ.get(key) for key in _SINGLE_THREAD_ENV}
    os.environ.update(_SINGLE_THREAD_ENV)  # inherited by the spawned worker processes
    try:
        with dask.config.set(WORKER_DASK_CONFIG):
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                host="127.0.0.1",
                memory_limit=memory_limit,
                dashboard_address="127.0.0.1:0",  # distributed's HTTP server runs anyway: loopback only
                silence_logs=logging.ERROR,
            )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def gpu_workers(client: Any) -> list[str]:
    """Addresses of the workers that declare a ``GPU`` resource (``dask worker --resources GPU=1``)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return [a for a, w in workers.items() if w.get("resources", {}).get("GPU", 0) > 0]


def run_tasks(
    func: Callable[..., T],
    calls: Sequence[tuple[Any, ...]],
    client: Any | None = None,
    *,
    shared: Mapping[str, Any] | None = None,
    broadcast: bool = True,
    gpu: bool = False,
) -> list[T]:
    """``[func(*args, **shared) for args in calls]``: as Dask tasks on ``client``, else here.

    Why one helper: every stage (input checks, retrains, scoring blocks, statistics tasks,
    classifier ensembles) needs the same "client or in-process" switch, results in call order.
    ``shared`` keyword arguments are large inputs every task reads (training rows): with a
    client they are scattered once, to every worker when ``broadcast`` (so the first wave of
    tasks is not pinned to the one worker holding them), instead of once per task.
    ``gpu``: training work; when the cluster has GPU workers each task asks for one ``GPU``
    (so it lands on them, one at a time per GPU), else it runs on the CPU workers as any task.

    >>> run_tasks(pow, [(2, 3), (3, 2)])
    [8, 9]
    >>> run_tasks(lambda a, b: a * b, [(7,)], shared={"b": 2})
    [14]
    """
    extra = dict(shared or {})
    if client is None:
        return [func(*args, **extra) for args in calls]
    resources = {"GPU": 1} if gpu and gpu_workers(client) else None
    if extra:
        names = list(extra)
        futures = client.scatter([extra[n] for n in names], broadcast=broadcast, hash=False)
        extra = dict(zip(names, futures))
    submitted = [client.submit(func, *args, pure=False, resources=resources, **extra) for args in calls]
    return client.gather(submitted)
