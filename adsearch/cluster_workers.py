"""The code on the workers: the same adsearch as the client, or installed there first.

Why: a facility's workers run an image or a software area that may hold another adsearch (or
none); tasks would then fail deep inside unpickling, or silently run other code. Every client
that is not the embedded cluster is checked once: each worker reports its adsearch version and a
fingerprint of its sources, and any difference is one line naming the workers and the fix.
``--install-on-workers`` first installs the client's adsearch on the workers: ``wheel`` (a wheel
built from this source tree, or ``wheel:PATH``) is uploaded and pip-installed into each worker's
local directory (no write access to the worker's environment needed), ``pip:SPEC`` runs
dask's ``PipInstall`` (the workers need an index to install from).

This module is shipped to the workers *by value* (cloudpickle), so the probes and the install
plugin run on workers that have no adsearch at all; it therefore imports only the standard library
and distributed at the top.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["prepare_workers", "check_worker_versions", "install_on_workers", "source_fingerprint", "build_wheel"]


def source_fingerprint() -> dict[str, str | None]:
    """This interpreter's adsearch: version and a hash of its Python modules (None: not installed).

    Hashed by dotted module name, so a source tree (``processors/`` beside ``adsearch/``) and an
    installed wheel (``adsearch/processors/``) of the same code agree.
    """
    try:
        import adsearch
    except ImportError:
        return {"version": None, "fingerprint": None}
    modules: dict[str, bytes] = {}
    for package, root in _package_folders():
        for path in root.rglob("*.py"):
            if "__pycache__" not in path.parts:
                modules[".".join((package, *path.relative_to(root).with_suffix("").parts))] = path.read_bytes()
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode() + b"\0" + modules[name])
    return {"version": adsearch.__version__, "fingerprint": digest.hexdigest()[:16]}


def _package_folders() -> list[tuple[str, Path]]:
    # adsearch.processors, .models, ... live in other folders of the source tree (pyproject package-dir);
    # located without importing them (an import that fails on one side must not change the answer)
    folders = []
    for name in ("adsearch", "adsearch.generator", "adsearch.processors", "adsearch.models", "adsearch.stats"):
        spec = importlib.util.find_spec(name)
        folders += [(name, Path(p)) for p in (spec.submodule_search_locations or [])] if spec else []
    return folders


def check_worker_versions(client: Any) -> dict[str, dict[str, str | None]]:
    """Raise :class:`~adsearch.errors.ClusterError` when any worker's adsearch differs from ours."""
    from adsearch.errors import ClusterError

    mine = source_fingerprint()
    theirs = client.run(source_fingerprint, on_error="return")
    if not theirs:
        return {}
    bad = {w: v for w, v in theirs.items() if not isinstance(v, dict) or v != mine}
    if bad:
        worker, got = next(iter(bad.items()))
        what = ("no adsearch" if isinstance(got, dict) and got["version"] is None
                else f"adsearch {got['version']} (sources {got['fingerprint']})" if isinstance(got, dict)
                else f"an error ({got!r})")
        raise ClusterError(f"{len(bad)} of {len(theirs)} workers do not run this adsearch {mine['version']} "
                           f"(sources {mine['fingerprint']}): e.g. {worker} has {what}; "
                           "use --install-on-workers wheel, or an image built from this version")
    try:
        client.get_versions(check=True)  # dask's own check: python, dask, distributed, numpy, ...
    except ValueError as exc:
        raise ClusterError(f"client and workers differ in Dask's required packages: {exc}") from exc
    return theirs


def build_wheel(out_dir: str | Path) -> Path:
    """A wheel of the adsearch source tree this process imports (``pip wheel --no-deps``)."""
    from adsearch.errors import ClusterError
    import adsearch

    root = Path(adsearch.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise ClusterError(f"adsearch at {root} is not a source tree: pass --install-on-workers wheel:PATH")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                             "-w", str(out_dir), str(root)], capture_output=True, text=True)
    wheels = sorted(Path(out_dir).glob("adsearch-*.whl"))
    if result.returncode != 0 or not wheels:
        raise ClusterError(f"building the adsearch wheel failed: {result.stderr.strip().splitlines()[-1:]}")
    return wheels[-1]


class WheelInstall(WorkerPlugin):
    """Worker plugin: pip-install an uploaded wheel into the worker's local directory, put it first on sys.path."""

    name = "adsearch-wheel-install"
    idempotent = True

    def __init__(self, wheel_name: str, data: bytes) -> None:
        self.wheel_name = wheel_name
        self.data = data

    def setup(self, worker: Any) -> None:
        base = Path(worker.local_directory) / "adsearch-site"
        base.mkdir(parents=True, exist_ok=True)
        wheel = base / self.wheel_name
        wheel.write_bytes(self.data)
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--upgrade", "-q",
                        "--target", str(base / "site"), str(wheel)], check=True, capture_output=True)
        site = str(base / "site")
        if site not in sys.path:
            sys.path.insert(0, site)
        for module in [m for m in sys.modules if m == "adsearch" or m.startswith("adsearch.")]:
            del sys.modules[module]
        importlib.invalidate_caches()


def install_on_workers(client: Any, install: str) -> None:
    """``wheel``, ``wheel:PATH`` or ``pip:SPEC`` (see the module text), on every current and future worker."""
    if install.startswith("pip:"):
        from distributed.diagnostics.plugin import PipInstall

        client.register_plugin(PipInstall(packages=[install[len("pip:"):]], restart_workers=True))
        return
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(install[len("wheel:"):]) if install.startswith("wheel:") else build_wheel(tmp)
        if not wheel.is_file():
            from adsearch.errors import ClusterError

            raise ClusterError(f"{wheel}: wheel not found")
        data = wheel.read_bytes()
    client.register_plugin(WheelInstall(wheel.name, data))


def prepare_workers(client: Any, install: str | None) -> None:
    """Install (when asked), then check that the workers run this adsearch."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if install:
        install_on_workers(client, install)
    check_worker_versions(client)
