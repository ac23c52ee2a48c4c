"""Batch pools through dask-jobqueue (``--cluster slurm|htcondor``), job resources from a YAML profile.

Why a profile file: a facility's batch jobs need its queue/partition, account, wall time and
memory, which belong next to the site (``deploy/jobqueue/*.yaml``), not on every command line.
The scheduler runs in this process and must be reachable from the batch nodes, so it listens
with TLS (temporary certificates shipped to the jobs through ``shared_temp_directory``) unless
the profile says ``tls: false``; then it binds to loopback only, which suits a one-node pool,
unless ``listen_beyond_loopback_without_tls: true`` is set as well (the user asked).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adsearch.cluster_spec import ClusterSpec, sized_client
from adsearch.errors import ConfigError

__all__ = ["JobqueueProfile", "load_profile", "jobqueue_client"]


class JobqueueProfile(BaseModel):
    """One batch job = ``processes`` Dask workers sharing ``cores`` and ``memory``.

    >>> JobqueueProfile(cores=4, memory="8GB").processes
    1
    """

    model_config = ConfigDict(extra="forbid")

    cores: int = Field(1, ge=1)
    memory: str = "4GB"
    processes: int = Field(1, ge=1)
    queue: str | None = None  # Slurm partition / (HTCondor: unused)
    account: str | None = None
    walltime: str | None = "01:00:00"
    disk: str | None = None  # HTCondor request_disk
    job_extra_directives: list[str] | dict[str, str] = Field(default_factory=list)
    job_script_prologue: list[str] = Field(default_factory=list)
    python: str | None = None  # the worker's interpreter; default: this one (a shared software area)
    local_directory: str | None = None
    log_directory: str | None = None
    shared_temp_directory: str | None = None  # where the temporary TLS certificates are written for the jobs
    worker_extra_args: list[str] = Field(default_factory=list)
    resources: dict[str, float] = Field(default_factory=dict)  # e.g. {GPU: 1} on a GPU partition
    interface: str | None = None
    tls: bool = True
    listen_beyond_loopback_without_tls: bool = False


def load_profile(path: str | Path | None) -> JobqueueProfile:
    """Safe-load and validate a profile; no path: the defaults (1 core, 4 GB, TLS)."""
    if path is None:
        return JobqueueProfile()
    from adsearch.config import load_config

    return load_config(JobqueueProfile, path)


def _cluster_kwargs(profile: JobqueueProfile, kind: str) -> dict[str, Any]:
    kwargs = profile.model_dump(exclude={"tls", "listen_beyond_loopback_without_tls", "resources", "python",
                                         "job_extra_directives", "worker_extra_args", "disk", "queue", "account"},
                                exclude_none=True)
    kwargs["python"] = profile.python or sys.executable
    extra_args = list(profile.worker_extra_args)
    if profile.resources:
        extra_args += ["--resources", ",".join(f"{k}={v:g}" for k, v in profile.resources.items())]
    kwargs["worker_extra_args"] = extra_args
    if kind == "slurm":
        kwargs["job_extra_directives"] = list(profile.job_extra_directives)
        kwargs.update({k: v for k, v in (("queue", profile.queue), ("account", profile.account)) if v})
    else:
        extra = profile.job_extra_directives
        kwargs["job_extra_directives"] = dict(extra) if isinstance(extra, dict) else {}
        kwargs["disk"] = profile.disk or profile.memory
    scheduler_options: dict[str, Any] = {"dashboard_address": "127.0.0.1:0"}
    if profile.tls:
        kwargs["security"] = True  # dask-jobqueue: temporary self-signed certificates
        kwargs.setdefault("shared_temp_directory", profile.shared_temp_directory or os.getcwd())
    elif not profile.listen_beyond_loopback_without_tls:
        scheduler_options["host"] = "127.0.0.1"
    if profile.interface and (profile.tls or profile.listen_beyond_loopback_without_tls):
        scheduler_options["interface"] = profile.interface
    kwargs.pop("interface", None)
    kwargs["scheduler_options"] = scheduler_options
    return kwargs


@contextmanager
def jobqueue_client(spec: ClusterSpec) -> Iterator[Any]:
    """Start a SLURMCluster / HTCondorCluster from the profile, scale it, yield a client, close it."""
    import dask_jobqueue

    profile = load_profile(spec.jobqueue_profile)
    cluster_class = {"slurm": dask_jobqueue.SLURMCluster, "htcondor": dask_jobqueue.HTCondorCluster}[spec.kind]
    try:
        cluster = cluster_class(**_cluster_kwargs(profile, spec.kind))
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigError(f"--cluster {spec.kind}: cannot start the cluster: {exc}") from exc
    from distributed import Client

    try:
        with sized_client(cluster, spec, lambda: Client(cluster), 600) as client:
            yield client
    finally:
        cluster.close()
