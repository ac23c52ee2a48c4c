"""Anomaly score = ln(mean squared reconstruction error), streamed over the store as Dask tasks.

Why this approach: the lepton processor stores the RMM of every preselected event (dense
float32: 5148 bytes/event before compression; compressed on disk ~70-200 bytes/event on
generated lepton samples, 129 on the synthetic events of benchmarks/bench_ae.py; each run's
figure is ``ScoreSummary.rmm_bytes_per_event``), so scoring is a separate, restartable pass
that can use a different model without reprocessing ROOT files. The price is the stored RMM;
fusing the model into the processor would avoid it but tie every retraining to a full
reprocessing. Speed: ~11k events per CPU-second including the Zarr read (benchmarks/bench_ae.py).

Each task reads one block of RMM rows (whole store chunks), scores it with the model that its
worker process loaded once (cached per process), and returns 4 bytes per event; the driver
writes the ``ae_score`` column (NaN for events without an RMM) in one pass, so no two writers
ever touch a Zarr chunk. Inference runs through one compiled ``tf.function`` on fixed-size
batches (the last one zero-padded): one trace, and a row's score does not depend on which
block or batch it landed in.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from adsearch.cluster import run_tasks
from adsearch.models.autoencoder import RMM_WIDTH, check_rmm_rows
from adsearch.models.runtime import configure_tensorflow
from adsearch.store import RMM_CHUNK_ROWS, FeatureStore, open_store

__all__ = [
    "SCORE_COLUMN",
    "DEFAULT_BATCH",
    "Scorer",
    "ScoreSummary",
    "load_scorer",
    "score_rows",
    "score_events",
]

log = logging.getLogger(__name__)

SCORE_COLUMN = "ae_score"
#: Rows per compiled inference call: large enough for near-peak matmul throughput on CPU.
DEFAULT_BATCH = 4096
#: Smallest mean squared error kept before the log, so a perfect reconstruction is finite.
_MSE_FLOOR = float(np.finfo(np.float32).tiny)


class Scorer:
    """A loaded autoencoder with a compiled fixed-batch ``ln(MSE)`` function.

    XLA is off by default: for inference TF's own matmul kernels beat XLA's on CPU here
    (benchmarks/bench_ae.py), unlike for training.

    >>> scorer = Scorer("out/ae/autoencoder.keras")   # doctest: +SKIP
    >>> scores = scorer(rmm_rows)                        # (n,) float32
    """

    def __init__(self, model_path: str | Path, batch_size: int = DEFAULT_BATCH, jit_compile: bool = False) -> None:
        tf = configure_tensorflow()
        import keras

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"{self.model_path}: no saved autoencoder here (run `adsearch ae train`)")
        # safe_mode: a .keras file may come from anyone; no lambda/bytecode in it is ever run
        self.model = keras.models.load_model(self.model_path, compile=False, safe_mode=True)
        width = self.model.input_shape[-1]
        if width != RMM_WIDTH:
            raise ValueError(f"{self.model_path}: model takes {width} inputs, expected {RMM_WIDTH}")
        self.batch_size = batch_size
        model = self.model

        @tf.function(jit_compile=jit_compile, input_signature=[tf.TensorSpec([batch_size, RMM_WIDTH], tf.float32)])
        def mse(x: Any) -> Any:
            return tf.reduce_mean(tf.square(model(x, training=False) - x), axis=1)

        self._mse = mse

    def mse(self, rows: np.ndarray, source: str = "rows", row_offset: int = 0) -> np.ndarray:
        """Mean squared reconstruction error per row, float32 (errors name ``source``)."""
        rows = check_rmm_rows(rows, source, row_offset)
        out = np.empty(rows.shape[0], dtype=np.float32)
        step = self.batch_size
        for lo in range(0, rows.shape[0], step):
            block = rows[lo:lo + step]
            if block.shape[0] == step:
                out[lo:lo + step] = self._mse(block).numpy()
            else:  # zero-padded tail keeps the single compiled shape (a fresh buffer: thread-safe)
                padded = np.zeros((step, RMM_WIDTH), dtype=np.float32)
                padded[:block.shape[0]] = block
                out[lo:lo + block.shape[0]] = self._mse(padded).numpy()[:block.shape[0]]
        return out

    def __call__(self, rows: np.ndarray, source: str = "rows", row_offset: int = 0) -> np.ndarray:
        """Anomaly scores ``ln(MSE)`` per row, float32."""
        return np.log(np.maximum(self.mse(rows, source, row_offset), _MSE_FLOOR))


#: (model path, batch size) -> (file modification time, scorer): one model per process and file.
_SCORERS: dict[tuple[str, int], tuple[int, Scorer]] = {}


def load_scorer(model_path: str | Path, batch_size: int = DEFAULT_BATCH) -> Scorer:
    """The :class:`Scorer` for ``model_path``, loaded once per process (again if the file changed)."""
    path = Path(model_path).resolve()
    mtime = path.stat().st_mtime_ns if path.is_file() else -1
    cached = _SCORERS.get((str(path), batch_size))
    if cached is None or cached[0] != mtime:
        cached = _SCORERS[(str(path), batch_size)] = (mtime, Scorer(path, batch_size))
    return cached[1]


def score_rows(model_path: str | Path, rows: np.ndarray, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """``ln(MSE)`` scores of RMM rows (n, 1287) with the process-cached model."""
    return load_scorer(model_path, batch_size)(rows)


class ScoreSummary(NamedTuple):
    """What one dataset's scoring pass did and how fast."""

    dataset: str
    n_events: int
    n_scored: int  # events with an RMM; the others get NaN
    seconds: float
    events_per_s: float
    rmm_bytes_per_event: float  # compressed RMM bytes on disk per scored event
    dense_bytes_per_event: int  # 1287 float32 cells before compression


def _score_block(store_path: str, dataset: str, start: int, stop: int, model_path: str, batch_size: int) -> np.ndarray:
    """One Dask task: read RMM rows [start, stop) and return their scores."""
    rows = open_store(store_path, mode="r").read_rmm(dataset, start, stop)
    scorer = load_scorer(model_path, batch_size)
    return scorer(rows, f"{store_path}/{dataset}/rmm", row_offset=start)


def _stored_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def score_events(
    store: FeatureStore | str | Path,
    model_path: str | Path,
    datasets: list[str] | None = None,
    *,
    client: Any | None = None,
    block_rows: int = 4 * RMM_CHUNK_ROWS,
    batch_size: int = DEFAULT_BATCH,
    column: str = SCORE_COLUMN,
) -> list[ScoreSummary]:
    """Score every event with an RMM in ``datasets`` (default: all) and write ``column``.

    Blocks of ``block_rows`` RMM rows (whole store chunks) are Dask tasks when ``client`` is
    given, else run here. The column is per event: events without an RMM get NaN. An existing
    column is replaced; its attributes record the model file.

    >>> summaries = score_events("store.zarr", "ae/autoencoder.keras")   # doctest: +SKIP
    >>> summaries[0].n_scored                                            # doctest: +SKIP
    """
    path = Path(store.path if isinstance(store, FeatureStore) else store)
    writer = open_store(path, mode="a")
    model_path = str(Path(model_path).resolve())
    if not Path(model_path).is_file():
        raise FileNotFoundError(f"{model_path}: no saved autoencoder here (run `adsearch ae train`)")
    summaries = []
    for dataset in datasets or writer.datasets:
        start_time = time.perf_counter()
        rmm_rows = writer.rmm_index(dataset)  # raises StoreError naming the store if there is no RMM
        bounds = [(lo, min(lo + block_rows, rmm_rows.size)) for lo in range(0, rmm_rows.size, block_rows)]
        args = [(str(path), dataset, lo, hi, model_path, batch_size) for lo, hi in bounds]
        blocks = run_tasks(_score_block, args, client)
        scores = np.full(writer.n_events(dataset), np.nan, dtype=np.float32)
        if blocks:
            scores[rmm_rows] = np.concatenate(blocks)
        seconds = time.perf_counter() - start_time
        writer.write_column(dataset, column, scores, overwrite=True,
                            attrs={"model": model_path, "definition": "ln(mean squared reconstruction error)"})
        stored = _stored_bytes(path / dataset / "rmm")
        summary = ScoreSummary(dataset, scores.size, int(rmm_rows.size), seconds,
                               rmm_rows.size / seconds if seconds > 0 else 0.0,
                               stored / max(rmm_rows.size, 1), 4 * RMM_WIDTH)
        log.info("%s: scored %d of %d events in %.1f s (%.0f events/s)", dataset, summary.n_scored,
                 summary.n_events, seconds, summary.events_per_s)
        summaries.append(summary)
    return summaries
