"""``--cluster gateway:URL`` against a real dask-gateway server on 127.0.0.1 (local backend): the
cluster is created with our options, scaled to 2 workers, runs the lepton processor and an AE
retrain with the LocalCluster's results, and is shut down; wrong credentials are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adsearch.cluster import dask_client
from adsearch.errors import ConfigError


def test_gateway_cluster_gives_the_local_results(gateway_server, local_reference, cluster_nano_files, tools,
                                                 tmp_path: Path) -> None:
    from dask_gateway import Gateway
    from dask_gateway.auth import BasicAuth

    spec = gateway_server.spec(n_workers=2, worker_cores=1, worker_memory_gib=1.5, image="adsearch:test")
    with dask_client(spec) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        assert len(workers) == 2
        assert {w["nthreads"] for w in workers.values()} == {1}
        assert {w["memory_limit"] for w in workers.values()} == {int(1.5 * 2**30)}
        assert set(client.run(os.getenv, "ADSEARCH_TEST_IMAGE").values()) == {"adsearch:test"}  # the image option reached the workers
        assert client.dashboard_link.startswith(gateway_server.url)  # served through the gateway, not a new port
        store, trained = tools.run_lepton_and_retrain(client, cluster_nano_files, tmp_path)
    ref_store, ref_trained = local_reference
    assert tools.store_checksums(store) == tools.store_checksums(ref_store)
    tools.assert_same_training(trained, ref_trained)
    gateway = Gateway(gateway_server.url, proxy_address=gateway_server.proxy_address,
                      auth=BasicAuth(password=gateway_server.password))
    try:
        assert gateway.list_clusters() == []  # shut down on leaving the context
    finally:
        gateway.close()


def test_gateway_refuses_a_wrong_password(gateway_server, monkeypatch) -> None:
    monkeypatch.setenv("DASK_GATEWAY_PASSWORD", "not-the-password")
    with pytest.raises(ConfigError, match="cannot create a cluster"):
        with dask_client(gateway_server.spec(n_workers=1)):
            pass


def test_gateway_authentication_and_address_come_from_the_hub_environment(monkeypatch) -> None:
    """``--gateway-auth token`` sends the JupyterHub API token a hub session carries; without an address
    (neither gateway:URL nor the dask config) the error says where to put one."""
    import dask

    from adsearch.cluster_gateway import gateway_auth

    monkeypatch.delenv("DASK_GATEWAY_TOKEN", raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-123")
    headers, _ = gateway_auth("token").pre_request(None)
    assert headers == {"Authorization": "jupyterhub hub-token-123"}
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    with pytest.raises(ConfigError, match="set DASK_GATEWAY_TOKEN or JUPYTERHUB_API_TOKEN"):
        gateway_auth("token")
    with dask.config.set({"gateway.address": None}), pytest.raises(ConfigError, match="gateway:URL or set DASK_GATEWAY__ADDRESS"):
        with dask_client("gateway"):
            pass
