"""What ``--cluster`` (or ``cluster=`` in Python) names: one value describing where the tasks run.

Why one value: every stage (processing, training, scoring, searches) must run unchanged on a
laptop, a facility's dask-gateway, a batch pool or a bare scheduler, so the choice is parsed
once into a :class:`ClusterSpec` and every command hands it to :func:`adsearch.cluster.dask_client`.

>>> ClusterSpec.parse("local").kind, ClusterSpec.parse("tcp://10.0.0.1:8786").kind
('local', 'address')
>>> spec = ClusterSpec.parse("gateway:https://gw.example.org")
>>> spec.kind, spec.gateway_url
('gateway', 'https://gw.example.org')
>>> ClusterSpec.parse("slurm").kind
'slurm'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from adsearch.errors import ConfigError

__all__ = ["ClusterSpec", "CLUSTER_KINDS", "GATEWAY_AUTH_TYPES"]

#: What ``--cluster`` accepts, as shown in the help.
CLUSTER_KINDS = ("local", "tcp://HOST:PORT", "tls://HOST:PORT", "gateway[:URL]", "htcondor", "slurm")
#: dask-gateway authentication types (``token`` sends a JupyterHub API token, as a hub session does).
GATEWAY_AUTH_TYPES = ("jupyterhub", "token", "basic", "kerberos")
_ADDRESS_PREFIXES = ("tcp://", "tls://", "inproc://", "ucx://")


@dataclass(frozen=True)
class ClusterSpec:
    """Where and how big: the parsed ``--cluster`` value and its options.

    ``n_workers``: workers of the embedded cluster (0: this process, no Dask), or the number a
    gateway / batch cluster is scaled to (unless ``adapt_max`` asks for adaptive scaling).
    """

    kind: str = "local"  # local | address | gateway | htcondor | slurm
    address: str | None = None
    gateway_url: str | None = None
    n_workers: int = 2
    worker_cores: int | None = None
    worker_memory_gib: float | None = None
    image: str | None = None
    adapt_min: int | None = None
    adapt_max: int | None = None
    gateway_auth: str | None = None
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    jobqueue_profile: str | None = None
    install: str | None = None  # None | "wheel" | "wheel:PATH" | "pip:SPEC"

    @classmethod
    def parse(cls, value: "str | ClusterSpec | None", **options: Any) -> "ClusterSpec":
        """``local``, ``tcp://..``, ``tls://..``, ``gateway``, ``gateway:URL``, ``htcondor``, ``slurm``."""
        if isinstance(value, ClusterSpec):
            return replace(value, **options) if options else value
        text = (value or "local").strip()
        if text == "local":
            spec = cls(kind="local", **options)
        elif text.startswith(_ADDRESS_PREFIXES):
            spec = cls(kind="address", address=text, **options)
        elif text == "gateway" or text.startswith("gateway:"):
            url = text[len("gateway:"):] if text.startswith("gateway:") else None
            spec = cls(kind="gateway", gateway_url=url or None, **options)
        elif text in ("htcondor", "slurm"):
            spec = cls(kind=text, **options)
        else:
            raise ConfigError(f"--cluster {text!r}: expected one of {', '.join(CLUSTER_KINDS)}")
        spec.validate()
        return spec

    def validate(self) -> None:
        """One line naming the bad value, before any cluster is started."""
        if self.n_workers < 0:
            raise ConfigError(f"--workers must be >= 0, got {self.n_workers}")
        if self.n_workers == 0 and self.kind != "local":
            raise ConfigError("--workers 0 (run in this process) only goes with --cluster local")
        if (self.adapt_min is None) != (self.adapt_max is None):
            raise ConfigError("--adapt-min and --adapt-max go together")
        if self.adapt_max is not None and not 0 <= self.adapt_min <= self.adapt_max:  # type: ignore[operator]
            raise ConfigError(f"adaptive scaling needs 0 <= min <= max, got {self.adapt_min}..{self.adapt_max}")
        if self.gateway_auth is not None and self.gateway_auth not in GATEWAY_AUTH_TYPES:
            raise ConfigError(f"--gateway-auth {self.gateway_auth!r}: expected one of {', '.join(GATEWAY_AUTH_TYPES)}")
        tls = (self.tls_ca_file, self.tls_cert, self.tls_key)
        if any(tls) and not all(tls):
            raise ConfigError("--tls-ca, --tls-cert and --tls-key go together")
        if self.install is not None and not (self.install == "wheel" or self.install.startswith(("wheel:", "pip:"))):
            raise ConfigError(f"--install-on-workers {self.install!r}: expected wheel, wheel:PATH or pip:SPEC")

    @property
    def in_process(self) -> bool:
        """True when no Dask is wanted at all (``--cluster local --workers 0``)."""
        return self.kind == "local" and self.n_workers == 0

    def describe(self) -> str:
        """Short text for run records (no secrets: addresses and kinds only).

        >>> ClusterSpec.parse("local", n_workers=3).describe()
        'local (3 workers)'
        """
        where = {"local": "local", "address": self.address, "gateway": f"gateway {self.gateway_url or '(from dask config)'}",
                 "htcondor": "htcondor", "slurm": "slurm"}[self.kind]
        return f"{where} ({self.n_workers} workers)"


@contextmanager
def sized_client(cluster: Any, spec: ClusterSpec, connect: Callable[[], Any], timeout_s: float) -> Iterator[Any]:
    """Scale (or adapt) a started gateway/jobqueue cluster, connect, wait for fixed-size workers, close.

    One place for the sizing rule both backends share; each keeps its own start and teardown.
    """
    if spec.adapt_max is not None:
        cluster.adapt(minimum=spec.adapt_min, maximum=spec.adapt_max)
    else:
        cluster.scale(spec.n_workers)
    client = connect()
    try:
        if spec.adapt_max is None:
            client.wait_for_workers(spec.n_workers, timeout=timeout_s)
        yield client
    finally:
        client.close()
