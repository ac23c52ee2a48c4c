"""``--cluster tcp://`` and ``tls://``: a ``dask scheduler`` and 2 ``dask worker`` processes started
here, the lepton processor through the CLI gives the LocalCluster's store; TLS is required by the
scheduler (certificates made in the test) and a client without them fails in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adsearch.cli import cli
from adsearch.cluster import dask_client
from adsearch.errors import ConfigError


def test_tcp_scheduler_through_the_cli(tools, local_reference, cluster_nano_files, tmp_path: Path) -> None:
    sched = tools.start_scheduler(tmp_path)
    try:
        store = tmp_path / "store.zarr"
        fileset = tmp_path / "fileset.yaml"
        fileset.write_text("bkg:\n" + "".join(f"  - {f}\n" for f in cluster_nano_files))
        result = CliRunner().invoke(cli, ["process", "lepton", "--fileset", str(fileset), "--out", str(store),
                                          "--cluster", sched.address, "--chunksize", str(tools.CHUNKSIZE)],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert tools.store_checksums(store) == tools.store_checksums(local_reference[0])
        # the deprecated --scheduler spelling still points at the same cluster
        again = CliRunner().invoke(cli, ["process", "lepton", "--fileset", str(fileset), "--out",
                                         str(tmp_path / "again.zarr"), "--scheduler", sched.address,
                                         "--chunksize", str(tools.CHUNKSIZE)], catch_exceptions=False)
        assert again.exit_code == 0, again.output
        assert tools.store_checksums(tmp_path / "again.zarr") == tools.store_checksums(store)
    finally:
        sched.close()


def test_tls_scheduler_with_certificates(tools, local_reference, cluster_nano_files, tmp_path: Path) -> None:
    from adsearch.processors.run import run_processor

    sched = tools.start_scheduler(tmp_path, tls=tools.make_tls_files(tmp_path))
    try:
        assert sched.address.startswith("tls://")
        with dask_client(sched.spec()) as client:
            assert all(a.startswith("tls://") for a in client.scheduler_info()["workers"])
            run_processor("lepton", {"bkg": [str(f) for f in cluster_nano_files]}, tmp_path / "store.zarr",
                          client=client, chunksize=tools.CHUNKSIZE, progress=False)
        assert tools.store_checksums(tmp_path / "store.zarr") == tools.store_checksums(local_reference[0])
        with pytest.raises(ConfigError, match="needs --tls-ca"):
            with dask_client(sched.address):
                pass
        with pytest.raises(ConfigError, match="cannot reach Dask scheduler"):  # tcp:// to a TLS-only scheduler
            with dask_client(sched.address.replace("tls://", "tcp://")):
                pass
    finally:
        sched.close()


def test_embedded_cluster_and_its_dashboard_listen_on_loopback_only() -> None:
    import psutil

    with dask_client("local", n_workers=1, memory_limit="1GiB") as client:
        info = client.scheduler_info()
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
        ports = {int(client.scheduler.address.rsplit(":", 1)[1]), info["services"]["dashboard"]}
        listening = {c.laddr.port: c.laddr.ip for c in psutil.Process().net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN}
        assert {listening[p] for p in ports} == {"127.0.0.1"}


def test_training_tasks_ask_for_the_gpu_workers(tools, tmp_path: Path) -> None:
    """``run_tasks(gpu=True)`` (retrains, classifier ensembles) lands only on the worker declaring a GPU
    resource; on a cluster without GPU workers the same tasks run on the CPU workers."""
    import os

    from adsearch.cluster import gpu_workers, run_tasks

    sched = tools.start_scheduler(tmp_path, n_workers=1)
    try:
        with dask_client(sched.spec()) as client:
            assert gpu_workers(client) == []
            pids = client.run(os.getpid)
            assert set(run_tasks(os.getpid, [()] * 4, client, gpu=True)) == set(pids.values())  # CPU only: runs
            sched.add_worker("w1", "--resources", "GPU=1")
            sched.add_worker("w2")
            client.wait_for_workers(3)
            gpus = gpu_workers(client)
            assert len(gpus) == 1
            gpu_pid = client.run(os.getpid, workers=gpus)[gpus[0]]
            assert set(run_tasks(os.getpid, [()] * 20, client, gpu=True)) == {gpu_pid}
    finally:
        sched.close()



def test_keras_models_refuse_embedded_code(tmp_path: Path) -> None:
    """A .keras file whose Lambda layer carries Python bytecode is refused (safe_mode), never run."""
    import keras

    from adsearch.models.scoring import RMM_WIDTH, Scorer

    inputs = keras.Input((RMM_WIDTH,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    path = tmp_path / "autoencoder.keras"
    model.save(path)
    with pytest.raises(ValueError, match="(?i)unsafe|safe_mode"):
        Scorer(path)
