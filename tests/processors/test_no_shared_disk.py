"""A store without a shared disk: real `dask worker` processes in their own mount namespace
(`unshare -m`) with the store's parent folder hidden under an empty tmpfs. They send their
finished parts to the client, which writes the store: the same store as a shared-disk run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from adsearch.processors.run import run_processor
from adsearch.store import open_store

CHUNK = 1500
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                reason="hiding a folder from workers needs root and unshare (util-linux)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def hidden_cluster(tmp_path_factory: pytest.TempPathFactory):
    """(client, hidden folder): a scheduler and two workers that see ``hidden`` as an empty tmpfs."""
    from distributed import Client

    hidden = tmp_path_factory.mktemp("client_only")
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "33554432"}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                   "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    worker = (f"mount -t tmpfs none {hidden} && exec {dask} worker {address} --nthreads 1 --no-dashboard "
              "--memory-limit 2GiB")
    logs = [tmp_path_factory.mktemp("worker_log") / "stderr" for _ in range(2)]
    processes += [subprocess.Popen(["unshare", "-m", "sh", "-c", worker], stdout=subprocess.DEVNULL,
                                   stderr=log.open("wb"), env=env) for log in logs]
    try:
        time.sleep(1.0)
        for process, log in zip(processes[1:], logs):
            if process.poll() is not None:  # e.g. no CAP_SYS_ADMIN for a new mount namespace
                raise RuntimeError(f"worker in its own mount namespace exited: {log.read_text()[-500:]}")
        deadline = time.monotonic() + 30
        while True:
            try:
                client = Client(address, timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        client.wait_for_workers(2, timeout=30)
        yield client, hidden
        client.close()
    finally:
        for process in processes[::-1]:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def shared_store(nano_files, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shared") / "store.zarr"
    run_processor("lepton", {"bkg": [str(f) for f in nano_files]}, out, n_workers=0, chunksize=CHUNK, progress=False)
    return out


def _same_store(a: Path | str, b: Path | str) -> None:
    sa, sb = open_store(a), open_store(b)
    assert sa.datasets == sb.datasets
    for ds in sa.datasets:
        assert sa.columns(ds) == sb.columns(ds) and sa.n_events(ds) == sb.n_events(ds) > 0
        for col in sa.columns(ds):
            np.testing.assert_array_equal(sa.read(ds, [col])[col], sb.read(ds, [col])[col], err_msg=col)
        np.testing.assert_array_equal(sa.rmm_index(ds), sb.rmm_index(ds))
        np.testing.assert_array_equal(sa.read_rmm(ds), sb.read_rmm(ds))
        for key in ("cutflow", "files", "n_rmm", "n_events"):
            assert sa.attrs(ds)[key] == sb.attrs(ds)[key], key


def test_workers_without_the_store_folder_send_their_parts(hidden_cluster, shared_store, nano_files) -> None:
    client, hidden = hidden_cluster
    out = hidden / "store.zarr"
    (hidden / "client_sees_this").write_text("x")
    # the workers' view: the folder is an empty tmpfs, the input files are visible
    assert set(client.run(os.path.exists, str(hidden / "client_sees_this")).values()) == {False}
    assert set(client.run(os.path.exists, str(nano_files[0])).values()) == {True}

    summary = run_processor("lepton", {"bkg": [str(f) for f in nano_files]}, out, client=client,
                            chunksize=CHUNK, progress=False)  # write_mode="auto" finds out
    assert summary.write_mode == "client" and summary.n_events_in == 6000
    _same_store(shared_store, out)
    assert not (out / "_parts").exists()  # consolidated and cleaned up on the client

    with pytest.raises(FileNotFoundError):  # told to write on the workers, the parts land in their tmpfs
        run_processor("lepton", {"bkg": [str(f) for f in nano_files]}, hidden / "wrong.zarr", client=client,
                      chunksize=CHUNK, progress=False, write_mode="workers")


def test_resume_on_the_client_skips_committed_units(hidden_cluster, shared_store, nano_files) -> None:
    """Parts written by the client are the resume record: a rerun over a store whose dataset was
    never consolidated (``keep_parts`` kept, then the dataset group removed) sends no unit again."""
    import zarr

    client, hidden = hidden_cluster
    out = hidden / "resume.zarr"
    fileset = {"bkg": [str(f) for f in nano_files]}
    run_processor("lepton", fileset, out, client=client, chunksize=CHUNK, progress=False, keep_parts=True)
    del zarr.open_group(str(out), mode="a")["bkg"]
    summary = run_processor("lepton", fileset, out, client=client, chunksize=CHUNK, progress=False)
    units = summary.datasets["bkg"]
    assert units.n_units >= len(nano_files) and units.n_units_resumed == units.n_units
    _same_store(shared_store, out)


def test_store_at_an_fsspec_url(hidden_cluster, shared_store, nano_files) -> None:
    """memory:// is private to each process: the workers cannot reach it, the client writes it."""
    client, _ = hidden_cluster
    url = f"memory://adsearch-test-{os.getpid()}/store.zarr"
    summary = run_processor("lepton", {"bkg": [str(f) for f in nano_files]}, url, client=client,
                            chunksize=CHUNK, progress=False)
    assert summary.write_mode == "client" and summary.store == url
    _same_store(shared_store, url)
