"""``--cluster slurm``: a real one-node Slurm (Debian's slurm-wlm, started here as root with a private
munged) runs dask-jobqueue workers as batch jobs; the lepton processor gives the in-process store.
Slow (daemons, batch jobs): ``pytest -m slow tests/cluster/test_slurm.py``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from adsearch.cluster import dask_client
from adsearch.cluster_spec import ClusterSpec

pytestmark = pytest.mark.slow


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"Slurm test needs {missing}: apt-get install -y slurm-wlm")


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory, tools) -> Iterator[Path]:
    """slurmctld + slurmd on this machine, one partition 'debug'; yields the slurm.conf path."""
    _need("munged", "slurmctld", "slurmd", "sbatch", "runuser")
    if os.geteuid() != 0:
        pytest.fail("the one-node Slurm test starts slurmctld/slurmd as root")
    base = tmp_path_factory.mktemp("slurm")
    # munged runs as user munge: its folder must not sit below pytest's root-only (0700) temp folders
    munge = Path(tempfile.mkdtemp(prefix="adsearch-munge-", dir="/tmp"))
    munge.chmod(0o755)
    key = munge / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    shutil.chown(munge, "munge", "munge")
    shutil.chown(key, "munge", "munge")
    sock = munge / "munge.socket"
    procs = [subprocess.Popen(["runuser", "-u", "munge", "--", "munged", "-F", "-f", f"--key-file={key}",
                               f"--socket={sock}", f"--pid-file={munge / 'munged.pid'}",
                               f"--log-file={munge / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    host = socket.gethostname()
    mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    for sub in ("state", "spool", "log"):
        (base / sub).mkdir()
    conf = base / "slurm.conf"
    conf.write_text(f"""ClusterName=adsearchtest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
SlurmctldPort={tools.free_port()}
SlurmdPort={tools.free_port()}
StateSaveLocation={base / 'state'}
SlurmdSpoolDir={base / 'spool'}
SlurmctldPidFile={base / 'slurmctld.pid'}
SlurmdPidFile={base / 'slurmd.pid'}
SlurmctldLogFile={base / 'log' / 'slurmctld.log'}
SlurmdLogFile={base / 'log' / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName={host} CPUs={os.cpu_count()} RealMemory={max(mem_mb - 1024, 2048)} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=60 State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    deadline = time.monotonic() + 20
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    procs.append(subprocess.Popen(["slurmctld", "-D", "-f", str(conf)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)
    procs.append(subprocess.Popen(["slurmd", "-D", "-f", str(conf)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True).stdout.strip()
            if state in ("idle", "mix"):
                break
            time.sleep(0.5)
        assert state == "idle", f"slurm node state {state!r}: {(base / 'log' / 'slurmctld.log').read_text()[-1500:]}"
        old = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(conf)  # sbatch/squeue/scancel from dask-jobqueue read it
        try:
            yield conf
        finally:
            if old is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = old
    finally:
        for proc in reversed(procs):
            tools.stop(proc)
        shutil.rmtree(munge, ignore_errors=True)


def test_slurm_workers_give_the_in_process_store(slurm, tools, cluster_nano_files, tmp_path: Path) -> None:
    from adsearch.processors.run import run_processor

    profile = tmp_path / "slurm.yaml"
    profile.write_text(yaml.safe_dump({
        "cores": 1, "memory": "1500MB", "queue": "debug", "walltime": "00:20:00", "python": sys.executable,
        "shared_temp_directory": str(tmp_path), "log_directory": str(tmp_path / "logs"),
        "job_script_prologue": [f"export {k}={v}" for k, v in tools.WORKER_ENV.items()],
    }))
    fileset = {"bkg": [str(f) for f in cluster_nano_files]}
    spec = ClusterSpec.parse("slurm", n_workers=2, jobqueue_profile=str(profile))
    with dask_client(spec) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        assert len(workers) == 2 and all(a.startswith("tls://") for a in workers)  # TLS to the batch jobs
        jobs = subprocess.run(["squeue", "-h", "-o", "%j %T"], capture_output=True, text=True).stdout.split("\n")
        assert sum("RUNNING" in j for j in jobs) == 2, jobs
        run_processor("lepton", fileset, tmp_path / "slurm.zarr", client=client, chunksize=tools.CHUNKSIZE,
                      progress=False)
    run_processor("lepton", fileset, tmp_path / "local.zarr", n_workers=0, chunksize=tools.CHUNKSIZE, progress=False)
    assert tools.store_checksums(tmp_path / "slurm.zarr") == tools.store_checksums(tmp_path / "local.zarr")
    deadline = time.monotonic() + 30  # the jobs end with the cluster
    while subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip() == ""
