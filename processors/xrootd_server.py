"""A real XRootD server on 127.0.0.1 serving one local folder, for tests and benchmarks.

It runs Debian's ``xrootd`` binary (package ``xrootd-server``) in the foreground as a child
process, so it stops with the ``with`` block. As root the server refuses to start ("Security
reasons prohibit running as superuser") unless told whom to run as: it then runs as ``nobody``,
and the exported folder, its parents and the log folder must be readable (the log writable) by
that user; :func:`serve_folder` makes its own world-readable folder for that reason.

>>> with serve_folder() as server:                                   # doctest: +SKIP
...     path = make_file(server.folder / "a.root")
...     uproot.open(server.url(path))          # root://127.0.0.1:<port>//<abs path>
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["XRootDServer", "serve_folder", "xrootd_binary"]


def xrootd_binary() -> str | None:
    """Path of the ``xrootd`` server binary, or None when it is not installed."""
    return shutil.which("xrootd")


@dataclass(frozen=True)
class XRootDServer:
    """A running server: ``folder`` is exported at ``root://127.0.0.1:<port>//<folder>``."""

    folder: Path
    port: int
    log: Path

    def url(self, path: str | Path) -> str:
        """The root:// URL of a file under ``folder`` (the double slash makes the path absolute)."""
        return f"root://127.0.0.1:{self.port}/{Path(path).resolve()}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"xrootd exited with {process.returncode}: {_tail(log)}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"xrootd did not listen on 127.0.0.1:{port} within {timeout_s} s: {_tail(log)}")


def _tail(log: Path) -> str:
    return " | ".join(log.read_text(errors="replace").splitlines()[-5:]) if log.is_file() else "(no log)"


@contextmanager
def serve_folder(folder: str | Path | None = None, *, timeout_s: float = 15.0) -> Iterator[XRootDServer]:
    """Start ``xrootd`` exporting ``folder`` (default: a fresh world-readable temp folder).

    Raises RuntimeError (with the server log's last lines) if it does not come up.
    """
    binary = xrootd_binary()
    if binary is None:
        raise RuntimeError("the xrootd binary is not installed (apt-get install -y xrootd-server)")
    own = folder is None
    folder = Path(tempfile.mkdtemp(prefix="adsearch-xrootd-") if own else folder).resolve()
    work = Path(tempfile.mkdtemp(prefix="adsearch-xrootd-run-"))
    for path in (folder, work):
        path.chmod(0o777)  # the server runs as nobody when started by root
    port = _free_port()
    config, log = work / "xrootd.cfg", work / "xrootd.log"
    config.write_text(f"all.export {folder}\nxrd.port {port}\nxrd.network nodnr\n")
    command = [binary, "-c", str(config), "-l", str(log), "-s", str(work / "xrootd.pid")]
    if os.geteuid() == 0:
        command += ["-R", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=work)
    try:
        _wait_listening(port, process, log, timeout_s)
        yield XRootDServer(folder, port, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)
        if own:
            shutil.rmtree(folder, ignore_errors=True)
