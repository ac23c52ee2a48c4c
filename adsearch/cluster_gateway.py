"""dask-gateway clusters (``--cluster gateway[:URL]``): the analysis facilities' JupyterHub way.

Why a module: a gateway cluster is created, sized and shut down through the gateway's REST API
(authenticated: JupyterHub token, Kerberos or a password), and its options (worker cores,
memory, image) are whatever the facility's gateway exposes. Options the gateway does not offer
are a one-line error naming the ones it does, never a silent default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adsearch.cluster_spec import ClusterSpec, sized_client
from adsearch.errors import ConfigError

__all__ = ["gateway_client", "gateway_auth"]

# The names facilities' gateways commonly give these options (daskhub's chart, the local backend).
_OPTION_NAMES = {
    "worker_cores": ("worker_cores", "cores"),
    "worker_memory_gib": ("worker_memory", "memory"),
    "image": ("image", "worker_image"),
}


def gateway_auth(kind: str | None) -> Any:
    """A dask-gateway authenticator: ``token`` sends ``$DASK_GATEWAY_TOKEN`` or ``$JUPYTERHUB_API_TOKEN``.

    ``basic`` takes the user name and ``$DASK_GATEWAY_PASSWORD``; None follows the dask config
    (``gateway.auth.type``, which JupyterHub deployments set to ``jupyterhub``).
    """
    from dask_gateway.auth import BasicAuth, JupyterHubAuth, get_auth

    if kind == "token":
        token = os.environ.get("DASK_GATEWAY_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN")
        if not token:
            raise ConfigError("--gateway-auth token: set DASK_GATEWAY_TOKEN or JUPYTERHUB_API_TOKEN")
        return JupyterHubAuth(api_token=token)
    if kind == "basic" and os.environ.get("DASK_GATEWAY_PASSWORD"):
        return BasicAuth(username=os.environ.get("DASK_GATEWAY_USER"), password=os.environ["DASK_GATEWAY_PASSWORD"])
    try:
        return get_auth(kind)
    except (ValueError, TypeError, ImportError) as exc:
        raise ConfigError(f"dask-gateway authentication {kind or '(from dask config)'}: {exc}") from exc


def _cluster_options(gateway: Any, spec: ClusterSpec) -> Any:
    options = gateway.cluster_options()
    wanted = {"worker_cores": spec.worker_cores, "worker_memory_gib": spec.worker_memory_gib, "image": spec.image}
    for field, value in wanted.items():
        if value is None:
            continue
        name = next((n for n in _OPTION_NAMES[field] if n in options), None)
        if name is None:
            raise ConfigError(f"this dask-gateway offers no {field.replace('_gib', '')} option "
                              f"(it offers: {', '.join(options) or 'none'})")
        options[name] = value
    return options


@contextmanager
def gateway_client(spec: ClusterSpec) -> Iterator[Any]:
    """Create a gateway cluster, scale or adapt it, yield its client, shut it down afterwards."""
    from dask_gateway import Gateway

    try:
        gateway = Gateway(address=spec.gateway_url, auth=gateway_auth(spec.gateway_auth))
    except ValueError as exc:  # no address given or configured
        raise ConfigError(f"--cluster gateway: {exc} (use gateway:URL or set DASK_GATEWAY__ADDRESS)") from exc
    try:
        try:
            cluster = gateway.new_cluster(_cluster_options(gateway, spec))
        except ConfigError:
            raise
        except Exception as exc:  # HTTP errors (401, unreachable) carry the server's reason
            raise ConfigError(f"dask-gateway {gateway.address}: cannot create a cluster: {exc}") from exc
        try:
            with sized_client(cluster, spec, lambda: cluster.get_client(set_as_default=False), 300) as client:
                yield client
        finally:
            cluster.shutdown()
    finally:
        gateway.close()
