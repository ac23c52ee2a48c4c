"""TensorFlow process setup shared by the training and scoring workers.

Each Dask worker process imports TensorFlow itself; the first task in that process pins TF's
thread pools to the worker's share of the cores, so two workers on a 2-core machine do not
each spawn a full-width pool and thrash. GPUs are used automatically when present (memory
growth on, so several worker processes can share one card).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

__all__ = ["configure_tensorflow", "configured_threads", "device_name", "filter_native_log_text",
           "keep_native_log_line", "native_logs_filtered", "worker_address", "worker_threads"]

log = logging.getLogger(__name__)

_CONFIGURED: dict[str, Any] = {}


def worker_threads(default: int | None = None) -> int:
    """Threads this process may use: the Dask worker's ``nthreads`` inside a worker, else all cores."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return max(1, default if default is not None else (os.cpu_count() or 1))


def worker_address() -> str:
    """The Dask worker's address when running inside a task, else ``"local"`` (for run records)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def configure_tensorflow(threads: int | None = None) -> Any:
    """Import TensorFlow once per process with ``threads`` intra-op threads; return the module.

    Thread counts can only be set before TF's runtime starts, so a later call with a different
    count keeps the first setting (logged) instead of failing a task. TF's global op
    determinism is deliberately not enabled: Keras then refuses XLA (``jit_compile``), which
    halves CPU training speed, and XLA on CPU already gives the same weights for the same seed
    (tested).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        with native_logs_filtered():
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, inside the filter
    import tensorflow as tf

    if _CONFIGURED:
        if threads is not None and threads != _CONFIGURED["threads"]:
            log.debug("TensorFlow already configured with %s threads", _CONFIGURED["threads"])
        return tf
    threads = threads if threads is not None else worker_threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError as exc:  # runtime already initialised by someone else in this process
        log.debug("TensorFlow runtime already initialised: %s", exc)
    _CONFIGURED["threads"] = threads
    log.info("TensorFlow %s on %s with %d intra-op threads", tf.__version__, device_name(), threads)
    return tf


#: C++ log lines look like ``I0000 00:00:1796196082.810166    7916 port.cc:153] message``.
_NATIVE_LOG = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ [^\]]+\] ")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
#: TF 2.21's MLIR graph importer (used by grappler's remapper) rejects the graphs of TFP's MADE
#: layers ("... has an empty op name"): it logs an error, grappler skips that pass, nothing fails
_TFG_IMPORT_REJECT = ("tfg_optimizer_hook.cc", "has an empty op name")
_TFG_IMPORT_CONTINUATION = "when importing GraphDef to MLIR module in GrapplerHook"


def keep_native_log_line(line: str, min_level: int, gpu_probe_failed_ok: bool = True) -> bool:
    """Whether a line TensorFlow's C++ runtime wrote at start-up should reach the user.

    TensorFlow 2.21 logs through absl before absl is initialised, and such messages ignore
    ``TF_CPP_MIN_LOG_LEVEL`` (absl-cpp PR #1957, open): every Dask worker printed the oneDNN and
    CUDA-probe lines. This applies the level the variable asks for (0 info, 1 warning, 2 error,
    3 fatal), drops absl's preamble with them and, on a machine without a GPU driver, the
    failed cuInit probe; anything else (a real error, other programs' output) is kept.

    >>> keep_native_log_line("I0000 00:00:1.5    7916 port.cc:153] oneDNN custom operations are on.", 2)
    False
    >>> keep_native_log_line("E0000 00:00:1.5    7916 cuda_platform.cc:52] failed call to cuInit: x", 2)
    False
    >>> keep_native_log_line("E0000 00:00:1.5    7916 op.cc:1] something broke", 2)
    True
    >>> keep_native_log_line("I0000 00:00:1.5    7916 port.cc:153] oneDNN custom operations are on.", 0)
    True
    >>> keep_native_log_line("Traceback (most recent call last):", 3)
    True
    """
    if line.strip() == _ABSL_PREAMBLE:
        return min_level < 1
    match = _NATIVE_LOG.match(line)
    if match is None:
        return True
    if gpu_probe_failed_ok and "failed call to cuInit" in line:
        return False
    if all(part in line for part in _TFG_IMPORT_REJECT):
        return False
    return "IWEF".index(match.group(1)) >= min_level


def filter_native_log_text(text: str, min_level: int) -> str:
    r"""The lines of ``text`` :func:`keep_native_log_line` keeps; a dropped message's indented
    continuation line goes with it.

    >>> noise = ("E0000 00:00:1.5    7 tfg_optimizer_hook.cc:135] tfg_optimizer{} failed: INVALID_ARGUMENT: "
    ...          "Node x/Relu has an empty op name\n\twhen importing GraphDef to MLIR module in GrapplerHook\n")
    >>> filter_native_log_text(noise + "kept\n", 2)
    'kept\n'
    """
    kept, dropped = [], False
    for line in text.splitlines(keepends=True):
        if dropped and line.startswith("\t") and _TFG_IMPORT_CONTINUATION in line:
            continue
        dropped = not keep_native_log_line(line, min_level)
        if not dropped:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def native_logs_filtered() -> Iterator[None]:
    """Route file descriptor 2 to a temporary file while TensorFlow starts (or traces graphs that
    make it log known-harmless errors), then write back the lines :func:`filter_native_log_text`
    keeps (C++ code writes to the descriptor, not to ``sys.stderr``, so only a descriptor-level
    redirect catches it; nothing else is lost, only delayed to the end of the block)."""
    try:
        min_level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        min_level = 0
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (some embedded interpreters): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = filter_native_log_text(capture.read().decode(errors="replace"), min_level)
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def configured_threads() -> int | None:
    """TF intra-op threads set by :func:`configure_tensorflow` in this process (None before)."""
    return _CONFIGURED.get("threads")


def device_name() -> str:
    """``"GPU:0 (<name>)"`` when TensorFlow sees a GPU, else ``"CPU"``; recorded in model sidecars."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU:0 ({details.get('device_name', 'unknown')})"
