"""Real clusters on 127.0.0.1, started by the tests: a dask-gateway server (local backend), a
``dask scheduler`` with worker processes over tcp:// and tls:// (certificates made here), and the
small inputs every cluster test runs on (generated NanoAOD files, an AE training config)."""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
DASK = str(VENV_BIN / "dask")
# the embedded cluster's single-threaded kernels, for workers started outside adsearch too
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "2", "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
GATEWAY_PASSWORD = "test-gateway-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _load_processor_conftest():  # the NanoAOD file maker of tests/processors (not importable as a package)
    path = Path(__file__).resolve().parents[1] / "processors" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_processors_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cluster_nano_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three small generated NanoAOD files (a pre-triggered skim: all events fired), disjoint event numbers."""
    make_nano_file = _load_processor_conftest().make_nano_file
    base = tmp_path_factory.mktemp("cluster_nano")
    return [make_nano_file(base / f"part_{i}.root", 1000, seed=40 + i, first_event=100_000 * i, trigger="all")
            for i in range(3)]


@dataclass
class Gateway:
    url: str
    proxy_address: str
    password: str
    log: Path

    def spec(self, **options):
        from adsearch.cluster_spec import ClusterSpec

        return ClusterSpec.parse(f"gateway:{self.url}", gateway_auth="basic", **options)


@pytest.fixture(scope="session")
def gateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """``dask-gateway-server`` on 127.0.0.1 (local backend, password auth), workers from this venv."""
    base = tmp_path_factory.mktemp("gateway")
    api, proxy = free_port(), free_port()
    config = base / "gateway_config.py"
    config.write_text(f"""
from dask_gateway_server.options import Options, Integer, Float, String
c.DaskGateway.address = "127.0.0.1:{api}"
c.Proxy.address = "127.0.0.1:{proxy}"
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.LocalBackend.clusters_directory = {str(base / 'clusters')!r}
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = {GATEWAY_PASSWORD!r}
c.ClusterConfig.scheduler_cmd = [{DASK!r}, "scheduler"]
c.ClusterConfig.worker_cmd = [{DASK!r}, "worker"]
c.ClusterConfig.environment = {WORKER_ENV!r}
c.ClusterConfig.idle_timeout = 600
def _options(options, user):
    return {{"worker_cores": options.worker_cores, "worker_memory": int(options.worker_memory * 2**30),
            "environment": {{**{WORKER_ENV!r}, "ADSEARCH_TEST_IMAGE": options.image}}}}
c.Backend.cluster_options = Options(
    Integer("worker_cores", 1, min=1, max=2), Float("worker_memory", 1.5, min=0.5, max=4),
    String("image", "adsearch:test"), handler=_options)
""")
    log = base / "gateway.log"
    env = {**os.environ, **WORKER_ENV}
    with log.open("w") as out:
        proc = subprocess.Popen([str(VENV_BIN / "dask-gateway-server"), "-f", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=base, env=env, start_new_session=True)
    try:
        wait_for_port(api, proc, log)
        wait_for_port(proxy, proc, log)
        import dask

        with dask.config.set({"gateway.proxy-address": f"gateway://127.0.0.1:{proxy}"}):
            os.environ["DASK_GATEWAY_PASSWORD"] = GATEWAY_PASSWORD
            try:
                yield Gateway(f"http://127.0.0.1:{api}", f"gateway://127.0.0.1:{proxy}", GATEWAY_PASSWORD, log)
            finally:
                os.environ.pop("DASK_GATEWAY_PASSWORD", None)
    finally:
        stop(proc)


@dataclass
class Scheduler:
    """A ``dask scheduler`` and its ``dask worker`` processes (no nanny: killing one kills the worker)."""

    address: str
    base: Path
    tls: dict[str, str] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)
    workers: list[subprocess.Popen] = field(default_factory=list)

    def _tls_args(self) -> list[str]:
        if not self.tls:
            return []
        return ["--tls-ca-file", self.tls["ca"], "--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"]]

    def add_worker(self, name: str, *extra: str) -> subprocess.Popen:
        log = self.base / f"{name}.log"
        with log.open("w") as out:
            proc = subprocess.Popen([DASK, "worker", self.address, "--no-nanny", "--nthreads", "1", "--name", name,
                                     "--memory-limit", "2GiB", "--no-dashboard", "--host", "127.0.0.1",
                                     *self._tls_args(), *extra],
                                    stdout=out, stderr=subprocess.STDOUT,
                                    env={**os.environ, **WORKER_ENV, **self.worker_env}, cwd=self.base,
                                    start_new_session=True)
        self.workers.append(proc)
        return proc

    def spec(self, **options):
        from adsearch.cluster_spec import ClusterSpec

        tls = ({"tls_ca_file": self.tls["ca"], "tls_cert": self.tls["cert"], "tls_key": self.tls["key"]}
               if self.tls else {})
        return ClusterSpec.parse(self.address, **tls, **options)

    def wait_for_workers(self, n: int, timeout: float = 60.0) -> None:
        from distributed import Client
        from distributed.security import Security

        security = Security(tls_ca_file=self.tls["ca"], tls_client_cert=self.tls["cert"],
                            tls_client_key=self.tls["key"], require_encryption=True) if self.tls else None
        with Client(self.address, security=security, timeout="20s") as client:
            client.wait_for_workers(n, timeout=timeout)

    def close(self) -> None:
        for proc in [*self.workers, *self.procs]:
            stop(proc)


def start_scheduler(base: Path, n_workers: int = 2, tls: dict[str, str] | None = None,
                    worker_args: tuple[str, ...] = (), scheduler_env: dict[str, str] | None = None,
                    worker_env: dict[str, str] | None = None) -> Scheduler:
    port = free_port()
    protocol = "tls" if tls else "tcp"
    sched = Scheduler(f"{protocol}://127.0.0.1:{port}", base, tls or {}, worker_env or {})
    log = base / "scheduler.log"
    with log.open("w") as out:
        proc = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--protocol", protocol,
                                 "--no-dashboard", *sched._tls_args()], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **WORKER_ENV, **(scheduler_env or {})}, cwd=base,
                                start_new_session=True)
    sched.procs.append(proc)
    try:
        wait_for_port(port, proc, log)
        for i in range(n_workers):
            sched.add_worker(f"w{i}", *worker_args)
        sched.wait_for_workers(n_workers)
    except BaseException:
        sched.close()
        raise
    return sched


def make_tls_files(base: Path) -> dict[str, str]:
    """A CA and one certificate it signed for 127.0.0.1/localhost (scheduler, workers and client share it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def _name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("adsearch test CA")).issuer_name(_name("adsearch test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = {"ca": base / "ca.pem", "cert": base / "cert.pem", "key": base / "key.pem"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return {k: str(v) for k, v in files.items()}


@pytest.fixture(scope="session")
def local_reference(cluster_nano_files: list[Path], tmp_path_factory: pytest.TempPathFactory):
    """The lepton store and AE retrains made on the embedded LocalCluster: what every other cluster must match."""
    from adsearch.cluster import dask_client

    base = tmp_path_factory.mktemp("local_reference")
    with dask_client("local", n_workers=2, memory_limit="2GiB") as client:
        store, trained = run_lepton_and_retrain(client, cluster_nano_files, base)
    return store, trained


AE_CONFIG = {"train_fraction": 1.0, "n_retrains": 2, "max_epochs": 2, "patience": 2, "jit_compile": False}
CHUNKSIZE = 500  # 6 work units


def run_lepton_and_retrain(client, files: list[Path], base: Path):
    """Lepton processor -> store, then 2 AE retrains on it: the stages a facility run distributes."""
    from adsearch.models import AutoencoderConfig
    from adsearch.models.training import train_autoencoder
    from adsearch.processors.run import run_processor

    store = base / "store.zarr"
    run_processor("lepton", {"bkg": [str(f) for f in files]}, store, client=client, chunksize=CHUNKSIZE, progress=False)
    trained = train_autoencoder(store, AutoencoderConfig(**AE_CONFIG), base / "ae", client=client)
    return store, trained


def store_checksums(path: Path) -> dict[str, object]:
    """Per dataset: event count, sha256 of every column and of the RMM rows and index, and the cutflow."""
    import hashlib

    import numpy as np

    from adsearch.store import open_store

    store = open_store(path)
    out: dict[str, object] = {}
    for ds in store.datasets:
        columns = store.read(ds, store.columns(ds))
        sums = {c: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()[:16] for c, v in sorted(columns.items())}
        if "rmm_features" in store.attrs(ds):
            sums["rmm"] = hashlib.sha256(np.ascontiguousarray(store.read_rmm(ds)).tobytes()).hexdigest()[:16]
            sums["rmm_index"] = hashlib.sha256(np.ascontiguousarray(store.rmm_index(ds)).tobytes()).hexdigest()[:16]
        out[ds] = {"n_events": store.n_events(ds), "checksums": sums, "cutflow": store.attrs(ds)["cutflow"]}
    return out


def model_weights(trained) -> list:
    import keras

    return keras.models.load_model(trained.model_path, safe_mode=True, compile=False).get_weights()


def assert_same_training(a, b) -> None:
    import numpy as np

    assert a.val_losses == b.val_losses and a.chosen_index == b.chosen_index and a.data_sha256 == b.data_sha256
    for wa, wb in zip(model_weights(a), model_weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.fixture(scope="session")
def tools():
    """This module's helpers (start_scheduler, store_checksums, ...): conftest files are not importable."""
    return sys.modules[__name__]
