"""TensorFlow process setup shared by the training and scoring workers.

Each Dask worker process imports TensorFlow itself; the first task in that process pins TF's
thread pools to the worker's share of the cores, so two workers on a 2-core machine do not
each spawn a full-width pool and thrash. GPUs are used automatically when present (memory
growth on, so several worker processes can share one card).
"""

from __future__ import annotations

import logging
import os
from typing import Any

__all__ = ["configure_tensorflow", "configured_threads", "device_name", "worker_address", "worker_threads"]

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
