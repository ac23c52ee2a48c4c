"""``@cluster_options``: the one set of cluster options every command that runs Dask tasks takes.

Why one decorator: a facility user points *every* stage at the same cluster with the same words
(``--cluster gateway --workers 20 --worker-memory 8``), and a new option lands in every command
at once. The decorated command receives one ``cluster`` argument, a
:class:`~adsearch.cluster_spec.ClusterSpec`; it hands it to
:func:`adsearch.cluster.cluster_client`. ``ADSEARCH_CLUSTER`` sets the default (e.g. in a
JupyterHub image), and ``--scheduler ADDRESS`` stays as a hidden, deprecated alias.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from adsearch.cluster_spec import CLUSTER_KINDS, GATEWAY_AUTH_TYPES, ClusterSpec
from adsearch.errors import ConfigError

__all__ = ["cluster_options"]

_OPTIONS = (
    click.option("--cluster", "cluster_", default="local", show_default=True, envvar="ADSEARCH_CLUSTER",
                 help="Where the Dask tasks run: " + " | ".join(CLUSTER_KINDS) + " (env ADSEARCH_CLUSTER)."),
    click.option("--scheduler", "scheduler_", default=None, hidden=True,
                 help="Deprecated: use --cluster tcp://host:port."),
    click.option("--workers", "workers_", default=2, show_default=True, type=click.IntRange(0),
                 help="Workers: of the embedded cluster (0: run in this process), or the size a gateway / "
                      "batch cluster is scaled to."),
    click.option("--worker-cores", "worker_cores_", default=None, type=click.IntRange(1),
                 help="gateway: cores per worker."),
    click.option("--worker-memory", "worker_memory_", default=None, type=click.FloatRange(0, min_open=True),
                 help="gateway: memory per worker in GiB."),
    click.option("--image", "image_", default=None, help="gateway: worker image (e.g. the deploy/ Dockerfile's)."),
    click.option("--adapt-min", "adapt_min_", default=None, type=click.IntRange(0),
                 help="gateway / batch: adaptive scaling between --adapt-min and --adapt-max workers."),
    click.option("--adapt-max", "adapt_max_", default=None, type=click.IntRange(1)),
    click.option("--gateway-auth", "gateway_auth_", default=None, type=click.Choice(GATEWAY_AUTH_TYPES),
                 help="gateway: authentication (default: the dask config's; a JupyterHub session's token)."),
    click.option("--tls-ca", "tls_ca_", default=None, type=click.Path(exists=True, dir_okay=False),
                 help="tls://: CA certificate (with --tls-cert and --tls-key)."),
    click.option("--tls-cert", "tls_cert_", default=None, type=click.Path(exists=True, dir_okay=False)),
    click.option("--tls-key", "tls_key_", default=None, type=click.Path(exists=True, dir_okay=False)),
    click.option("--jobqueue-profile", "jobqueue_profile_", default=None, type=click.Path(exists=True, dir_okay=False),
                 help="slurm / htcondor: YAML job resources (see deploy/jobqueue/)."),
    click.option("--install-on-workers", "install_", default=None, metavar="wheel|wheel:PATH|pip:SPEC",
                 help="Install this adsearch on the workers first (wheel built from this source tree)."),
)
_NAMES = ("cluster_", "scheduler_", "workers_", "worker_cores_", "worker_memory_", "image_", "adapt_min_",
          "adapt_max_", "gateway_auth_", "tls_ca_", "tls_cert_", "tls_key_", "jobqueue_profile_", "install_")


def spec_from_options(values: dict[str, Any]) -> ClusterSpec:
    """The :class:`ClusterSpec` of the parsed options (a bad combination is a usage error).

    >>> spec_from_options({"cluster_": "local", "workers_": 0}).in_process
    True
    """
    target = values.get("scheduler_") or values.get("cluster_") or "local"
    try:
        return ClusterSpec.parse(
            target, n_workers=values.get("workers_", 2), worker_cores=values.get("worker_cores_"),
            worker_memory_gib=values.get("worker_memory_"), image=values.get("image_"),
            adapt_min=values.get("adapt_min_"), adapt_max=values.get("adapt_max_"),
            gateway_auth=values.get("gateway_auth_"), tls_ca_file=values.get("tls_ca_"),
            tls_cert=values.get("tls_cert_"), tls_key=values.get("tls_key_"),
            jobqueue_profile=values.get("jobqueue_profile_"), install=values.get("install_"))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def cluster_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the cluster options to a click command; it is called with ``cluster=ClusterSpec``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _NAMES if name in kwargs}
        return func(*args, cluster=spec_from_options(values), **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
