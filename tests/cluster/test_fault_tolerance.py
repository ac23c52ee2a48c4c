"""Nothing lost when a process dies: a worker killed (SIGKILL) while it runs a processing unit or a
retrain, and the driver killed mid-run and started again, each end with exactly the results of an
undisturbed run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from adsearch.cluster import dask_client

FINE_CHUNKS = 100  # 30 short units: there is always one in flight to kill


def _kill_when_busy(client, sched, victim: int, ready, timeout: float = 120.0) -> str:
    """SIGKILL worker ``victim`` as soon as ``ready()`` and it is running a task; return that task's key."""
    proc = sched.workers[victim]
    name = f"w{victim}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            address = next((a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
                            if w["name"] == name), None)
            running = client.processing(workers=[address]).get(address, ()) if address else ()
            if running:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                return str(running[0])
        time.sleep(0.02)
    raise AssertionError(f"worker {name} never ran a task to kill")


def _commits(store: Path) -> int:
    return len(list((store / "_parts").glob("*/*.commit")))


@pytest.fixture(scope="module")
def fine_reference(cluster_nano_files, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adsearch.processors.run import run_processor

    out = tmp_path_factory.mktemp("fine_reference") / "store.zarr"
    run_processor("lepton", {"bkg": [str(f) for f in cluster_nano_files]}, out, n_workers=0,
                  chunksize=FINE_CHUNKS, progress=False)
    return out


def test_worker_killed_mid_processing_loses_nothing(tools, fine_reference, cluster_nano_files,
                                                    tmp_path: Path) -> None:
    from adsearch.processors.run import run_processor

    sched = tools.start_scheduler(tmp_path)
    store = tmp_path / "store.zarr"
    try:
        with dask_client(sched.spec()) as client:
            result: dict[str, object] = {}

            def _run() -> None:
                try:
                    result["summary"] = run_processor("lepton", {"bkg": [str(f) for f in cluster_nano_files]}, store,
                                                      client=client, chunksize=FINE_CHUNKS, progress=False,
                                                      keep_parts=True)
                except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test thread
                    result["error"] = exc

            thread = threading.Thread(target=_run)
            thread.start()
            killed = _kill_when_busy(client, sched, 0, ready=lambda: _commits(store) >= 3)
            thread.join(300)
            assert "error" not in result, result.get("error")
            committed_at_kill = killed
        # every unit accounted for once (a unit the victim committed just before dying is loaded, not redone)
        assert result["summary"].datasets["bkg"].n_units == 30 and committed_at_kill
        assert tools.store_checksums(store) == tools.store_checksums(fine_reference)
    finally:
        sched.close()


def test_driver_killed_and_restarted_resumes_without_recompute(tools, fine_reference, cluster_nano_files,
                                                               tmp_path: Path) -> None:
    """``adsearch process`` killed (SIGKILL) mid-run: the rerun loads the committed units, processes only
    the rest, and the store holds each event once, as an undisturbed run does."""
    sched = tools.start_scheduler(tmp_path)
    store = tmp_path / "store.zarr"
    fileset = tmp_path / "fileset.yaml"
    fileset.write_text("bkg:\n" + "".join(f"  - {f}\n" for f in cluster_nano_files))
    command = [str(Path(sys.executable).parent / "adsearch"), "process", "lepton", "--fileset", str(fileset),
               "--out", str(store), "--cluster", sched.address, "--chunksize", str(FINE_CHUNKS)]
    try:
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={**os.environ, **tools.WORKER_ENV})
        deadline = time.monotonic() + 180
        while _commits(store) < 5 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        time.sleep(1.0)  # units already on the workers may still commit: snapshot after they settle
        markers = {p: p.stat().st_mtime_ns for p in (store / "_parts").glob("*/*.commit")}
        assert 5 <= len(markers) < 30, f"{len(markers)} units committed when the driver was killed"
        from adsearch.processors.run import run_processor

        summary = run_processor("lepton", str(fileset), store, scheduler=sched.address, chunksize=FINE_CHUNKS,
                                progress=False, keep_parts=True)
        bkg = summary.datasets["bkg"]
        assert bkg.n_units == 30 and bkg.n_units_resumed >= len(markers)
        assert bkg.n_units_processed == 30 - bkg.n_units_resumed
        assert {p: p.stat().st_mtime_ns for p in markers} == markers  # committed parts were not written again
        assert tools.store_checksums(store) == tools.store_checksums(fine_reference)  # no duplicates, none lost
    finally:
        sched.close()


@pytest.mark.slow
def test_worker_killed_mid_training_reruns_the_retrain(tools, local_reference, tmp_path: Path) -> None:
    """A retrain whose worker is SIGKILLed is run again elsewhere: same seed, same weights and losses
    as the undisturbed LocalCluster training of the same store."""
    from adsearch.models import AutoencoderConfig
    from adsearch.models.training import train_autoencoder

    ref_store, ref_trained = local_reference
    sched = tools.start_scheduler(tmp_path)
    try:
        with dask_client(sched.spec()) as client:
            result: dict[str, object] = {}

            def _train() -> None:
                try:
                    result["trained"] = train_autoencoder(ref_store, AutoencoderConfig(**tools.AE_CONFIG),
                                                          tmp_path / "ae", client=client)
                except BaseException as exc:  # noqa: BLE001
                    result["error"] = exc

            thread = threading.Thread(target=_train)
            thread.start()
            killed = _kill_when_busy(client, sched, 0, ready=lambda: True)
            assert "train_once" in killed
            thread.join(300)
            assert "error" not in result, result.get("error")
        tools.assert_same_training(result["trained"], ref_trained)
    finally:
        sched.close()


@pytest.mark.slow  # ~10 s quiet; the default run keeps the raising-unit case below
def test_unit_that_keeps_killing_its_worker_is_reported_with_its_file(tools, cluster_nano_files,
                                                                       tmp_path: Path) -> None:
    """One unit's worker dies every time it runs it (SIGKILL, as the OOM killer does): Dask reruns it on
    a fresh worker, and after ``allowed-failures`` the run stops with one line naming the file and entries."""
    from adsearch.errors import ClusterError
    from adsearch.processors.executor import UNIT_EVENTS
    from adsearch.processors.run import run_processor

    sched = tools.start_scheduler(tmp_path, scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"})
    poisoned = str(cluster_nano_files[1])
    try:
        with dask_client(sched.spec()) as client:
            result: dict[str, object] = {}

            def _run() -> None:
                try:
                    run_processor("lepton", {"bkg": [str(f) for f in cluster_nano_files]}, tmp_path / "s.zarr",
                                  client=client, chunksize=FINE_CHUNKS, progress=False)
                except BaseException as exc:  # noqa: BLE001
                    result["error"] = exc

            thread = threading.Thread(target=_run)
            thread.start()
            killed: set[str] = set()
            deadline = time.monotonic() + 180
            while thread.is_alive() and time.monotonic() < deadline:
                for _, msg in client.get_events(UNIT_EVENTS):
                    if msg["file"] == poisoned and msg["entries"] == "0-100" and msg["worker"] not in killed:
                        killed.add(msg["worker"])
                        victim = next(p for p, a in zip(sched.workers, _worker_addresses(client, sched))
                                      if a == msg["worker"])
                        victim.send_signal(signal.SIGKILL)
                        sched.add_worker(f"w{len(sched.workers)}")  # capacity back, as a batch system would
                time.sleep(0.02)
            thread.join(60)
        error = result.get("error")
        assert isinstance(error, ClusterError), repr(error)
        assert f"{poisoned} (entries 0-100)" in str(error) and "killed 2 workers" in str(error)
        assert len(killed) == 2
    finally:
        sched.close()


def _worker_addresses(client, sched) -> list[str | None]:
    """Address of each of ``sched.workers`` (by the --name given at start), None when gone."""
    by_name = {w["name"]: a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
    return [by_name.get(f"w{i}") for i in range(len(sched.workers))]


def test_unit_that_keeps_raising_is_retried_then_reported(tools, cluster_nano_files, tmp_path: Path) -> None:
    """An input file disappears mid-run (a storage outage): each of its remaining units is tried
    UNIT_ATTEMPTS times on its worker, then the run stops with one line naming the file and the cause."""
    import shutil

    from adsearch.errors import BadInputError
    from adsearch.processors.executor import UNIT_ATTEMPTS, UNIT_EVENTS
    from adsearch.processors.run import run_processor

    files = [Path(shutil.copy(f, tmp_path / f.name)) for f in cluster_nano_files]
    sched = tools.start_scheduler(tmp_path)
    store = tmp_path / "s.zarr"
    try:
        with dask_client(sched.spec()) as client:
            result: dict[str, object] = {}

            def _run() -> None:
                try:
                    run_processor("lepton", {"bkg": [str(f) for f in files]}, store, client=client,
                                  chunksize=FINE_CHUNKS, progress=False)
                except BaseException as exc:  # noqa: BLE001
                    result["error"] = exc

            thread = threading.Thread(target=_run)
            thread.start()
            deadline = time.monotonic() + 120
            while _commits(store) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            files[2].rename(tmp_path / "gone.root")  # its later units can no longer open it
            thread.join(300)
            retries = [m for _, m in client.get_events(UNIT_EVENTS) if "retry" in m]
        error = result.get("error")
        assert isinstance(error, BadInputError), repr(error)
        assert error.path == str(files[2]) and f"failed {UNIT_ATTEMPTS} times" in error.reason
        assert "FileNotFoundError" in error.reason or "No such file" in error.reason
        assert retries and {m["file"] for m in retries} == {str(files[2])}
    finally:
        sched.close()
