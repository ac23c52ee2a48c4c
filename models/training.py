"""Train the RMM autoencoder N times (one Dask task each) and keep the median retrain.

Each retrain minimises ln(MSE) of the training batches with Adam (the paper's objective: the
log flattens the loss surface once the reconstruction error is small, ~1e-5 for RMM cells) and
stops early on the validation reconstruction loss, the MSE of all validation rows, restoring
the weights of its best epoch. The paper retrains 50 times with different initialisations and train/validation splits and
uses the retrain whose validation loss is the median, so the chosen model is neither a lucky
nor an unlucky minimum. Each retrain is an independent, seeded task: the rows are scattered
to the workers once, every task returns its best weights (about 9 MB) and loss history, and
the driver saves the chosen one as ``autoencoder.keras`` with a JSON sidecar recording the
config, seeds, the SHA-256 of the training rows and every retrain's validation loss.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adsearch.cluster import run_tasks
from adsearch.models.autoencoder import RMM_WIDTH, AutoencoderConfig, build_autoencoder, check_rmm_rows
from adsearch.models.runtime import configure_tensorflow, configured_threads, device_name, worker_address
from adsearch.provenance import run_record, write_json
from adsearch.store import RMM_CHUNK_ROWS, FeatureStore, StoreError, open_store

__all__ = [
    "MODEL_FILENAME",
    "SIDECAR_FILENAME",
    "RetrainResult",
    "TrainedAutoencoder",
    "retrain_seeds",
    "median_index",
    "kept_retrains",
    "rows_sha256",
    "log_mse_loss",
    "split_rows",
    "train_once",
    "train_on_rows",
    "sample_training_rows",
    "train_autoencoder",
]

log = logging.getLogger(__name__)

MODEL_FILENAME = "autoencoder.keras"
SIDECAR_FILENAME = "autoencoder.json"
#: Folder (inside the model folder) of the retrains kept for the retraining systematic.
RETRAINS_DIR = "retrains"


@dataclass(frozen=True)
class RetrainResult:
    """One retrain: its seed, losses per epoch and best (restored) weights."""

    index: int
    seed: int
    best_val_loss: float  # validation reconstruction loss (MSE) of the restored weights
    best_epoch: int  # 0-based epoch whose weights were restored
    epochs_run: int
    stopped_early: bool
    val_loss: list[float]  # validation reconstruction loss (MSE) per epoch: what early stopping watches
    train_loss: list[float]  # the objective Adam minimised per epoch (ln MSE by default)
    seconds: float
    device: str
    worker: str  # Dask worker address, or "local"
    tf_threads: int | None  # TF intra-op threads of the process that trained it
    weights: list[np.ndarray] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly record without the weights."""
        return {k: v for k, v in asdict(self).items() if k != "weights"}


@dataclass(frozen=True)
class TrainedAutoencoder:
    """Where the chosen model was saved and why it was chosen."""

    model_path: Path
    sidecar_path: Path
    chosen_index: int
    val_losses: list[float]
    data_sha256: str
    n_rows: int
    seconds: float


def retrain_seeds(seed: int, n_retrains: int) -> list[int]:
    """Independent per-retrain seeds derived from one config seed (same seed -> same list)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(n_retrains)]


def median_index(val_losses: list[float] | np.ndarray) -> int:
    """Index of the retrain whose validation loss is the median (the lower median for even N).

    Ties keep the earlier retrain (stable sort), so the choice is deterministic.
    """
    losses = np.asarray(val_losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"need a non-empty 1-d list of validation losses, got shape {losses.shape}")
    if not np.isfinite(losses).all():
        raise ValueError(f"validation losses must be finite, got {losses.tolist()}")
    order = np.argsort(losses, kind="stable")
    return int(order[(losses.size - 1) // 2])


def kept_retrains(val_losses: list[float], keep: int) -> list[int]:
    """Indices of the retrains saved for the retraining systematic: all when there are at most
    ``keep``, else ``keep`` spread evenly over the validation-loss ranks (best to worst).

    >>> kept_retrains([5.0, 1.0, 3.0, 2.0, 4.0], 3)
    [0, 1, 2]
    """
    order = np.argsort(np.asarray(val_losses, dtype=float), kind="stable")
    if keep <= 0:
        return []
    if keep >= order.size:
        return sorted(int(i) for i in order)
    ranks = np.unique(np.round(np.linspace(0, order.size - 1, keep)).astype(int))
    return sorted(int(order[r]) for r in ranks)


def rows_sha256(rows: np.ndarray) -> str:
    """SHA-256 of the float32 training rows (C order): the data hash in the sidecar."""
    return hashlib.sha256(np.ascontiguousarray(rows, dtype=np.float32).tobytes()).hexdigest()


def log_mse_loss(y_true: Any, y_pred: Any) -> Any:
    """ln of the batch's mean squared reconstruction error: the paper's training objective.

    A scalar per batch (Keras reduces a scalar loss to itself).

    >>> import numpy as np
    >>> x = np.zeros((2, 3), "float32"); y = np.full((2, 3), 0.1, "float32")
    >>> round(float(log_mse_loss(x, y)), 4) == round(float(np.log(0.01)), 4)
    True
    """
    from keras import ops

    return ops.log(ops.mean(ops.square(ops.convert_to_tensor(y_true) - ops.convert_to_tensor(y_pred))))


def split_rows(n_rows: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, validation) row indices of one retrain's fresh random split."""
    order = np.random.default_rng(seed).permutation(n_rows)
    n_val = max(1, int(round(validation_fraction * n_rows)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def train_once(config: AutoencoderConfig, index: int, seed: int, *, rows: np.ndarray) -> RetrainResult:
    """One retrain on a fresh 7:3 split of ``rows``: the function each Dask task runs.

    Adam minimises ``config.loss`` (ln MSE by default); early stopping watches the validation
    reconstruction loss ``val_mse`` (Keras' MSE metric over all validation rows) with
    ``config.patience`` and restores the best weights (whether or not the patience ran out).
    """
    configure_tensorflow(config.tf_threads)
    import keras

    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    train_idx, val_idx = split_rows(rows.shape[0], config.validation_fraction, seed)
    train, val = rows[train_idx], rows[val_idx]

    model = build_autoencoder(config.negative_slope, seed=seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=log_mse_loss if config.loss == "log_mse" else "mse",
        metrics=[keras.metrics.MeanSquaredError(name="mse")],
        jit_compile=config.jit_compile,
    )
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_mse", mode="min", patience=config.patience, restore_best_weights=True
    )
    history = model.fit(
        train, train,
        validation_data=(val, val),
        epochs=config.max_epochs,
        batch_size=config.batch_size,
        shuffle=True,
        callbacks=[stopper],
        verbose=0,
    )
    val_loss = [float(v) for v in history.history["val_mse"]]
    best_epoch = int(np.argmin(val_loss))
    return RetrainResult(
        index=index,
        seed=seed,
        best_val_loss=val_loss[best_epoch],
        best_epoch=best_epoch,
        epochs_run=len(val_loss),
        stopped_early=stopper.stopped_epoch > 0,
        val_loss=val_loss,
        train_loss=[float(v) for v in history.history["loss"]],
        seconds=time.perf_counter() - start,
        device=device_name(),
        worker=worker_address(),
        tf_threads=configured_threads(),
        weights=model.get_weights(),
    )


def _run_retrains(rows: np.ndarray, config: AutoencoderConfig, client: Any | None) -> list[RetrainResult]:
    """All retrains, as Dask tasks when a client is given, else one after another here."""
    seeds = retrain_seeds(config.seed, config.n_retrains)
    results = run_tasks(train_once, [(config, i, s) for i, s in enumerate(seeds)], client, shared={"rows": rows},
                        gpu=True)
    return sorted(results, key=lambda r: r.index)


def train_on_rows(
    rows: np.ndarray,
    config: AutoencoderConfig | None = None,
    out_dir: str | Path = "autoencoder",
    *,
    client: Any | None = None,
    source: str = "array",
    extra_record: dict[str, Any] | None = None,
) -> TrainedAutoencoder:
    """Train ``config.n_retrains`` autoencoders on ``rows`` (n, 1287) and save the median one.

    ``rows`` is the already-sampled training set; :func:`adsearch.models.train_autoencoder`
    samples it from a store. Writes ``out_dir/autoencoder.keras`` and ``autoencoder.json``.

    >>> trained = train_on_rows(rmm_rows, AutoencoderConfig(n_retrains=3), "out/ae")  # doctest: +SKIP
    """
    config = config or AutoencoderConfig()
    rows = check_rmm_rows(rows, source)
    if rows.shape[0] < 10:
        raise ValueError(f"{source}: need at least 10 training rows, got {rows.shape[0]}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    configure_tensorflow(config.tf_threads)
    results = _run_retrains(rows, config, client)
    val_losses = [r.best_val_loss for r in results]
    chosen = median_index(val_losses)
    for r in results:
        log.info("retrain %d (seed %d): val_loss %.4g after %d epochs on %s (%s)%s", r.index, r.seed,
                 r.best_val_loss, r.epochs_run, r.device, r.worker, "  <- median, kept" if r.index == chosen else "")

    model = build_autoencoder(config.negative_slope)
    model.set_weights(results[chosen].weights)
    model_path = out / MODEL_FILENAME
    model.save(model_path)
    kept = kept_retrains(val_losses, config.keep_retrains)
    if kept:
        (out / RETRAINS_DIR).mkdir(exist_ok=True)
    for i in kept:
        model.set_weights(results[i].weights)
        model.save(out / RETRAINS_DIR / f"retrain_{i:03d}.keras")
    seconds = time.perf_counter() - start
    data_hash = rows_sha256(rows)
    sidecar = out / SIDECAR_FILENAME
    write_json(sidecar, run_record(
        "ae-train",
        config.model_dump(),
        seed=config.seed,
        source=source,
        n_rows=int(rows.shape[0]),
        data_sha256=data_hash,
        val_losses=val_losses,
        chosen_index=chosen,
        kept_retrains=kept,
        retrains=[r.summary() for r in results],
        seconds=seconds,
        **(extra_record or {}),
    ))
    return TrainedAutoencoder(model_path, sidecar, chosen, val_losses, data_hash, int(rows.shape[0]), seconds)


def sample_training_rows(store: FeatureStore, dataset: str, config: AutoencoderConfig) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random ``train_fraction`` of the dataset's events, read chunk by chunk.

    The fraction is of all stored (preselected) events; when the store kept RMMs for only a
    random subset of them, the sample is drawn from that subset (capped at its size). Returns
    (RMM rows, their positions in ``rmm_index`` order).
    """
    n_rmm = store.rmm_index(dataset).size
    n_take = min(n_rmm, max(10, int(round(config.train_fraction * store.n_events(dataset)))))
    if config.max_train_rows is not None:
        n_take = min(n_take, config.max_train_rows)
    if n_take < 10:
        raise StoreError(f"{store.path}: dataset {dataset!r} has {n_rmm} RMM rows; need at least 10 to train")
    picks = np.sort(np.random.default_rng(config.seed).choice(n_rmm, size=n_take, replace=False))
    rows = np.empty((n_take, RMM_WIDTH), dtype=np.float32)
    chunk_of = picks // RMM_CHUNK_ROWS
    for chunk in np.unique(chunk_of):
        lo = int(chunk) * RMM_CHUNK_ROWS
        where = np.flatnonzero(chunk_of == chunk)
        block = store.read_rmm(dataset, lo, lo + RMM_CHUNK_ROWS)
        rows[where] = block[picks[where] - lo]
    return rows, picks


def train_autoencoder(
    store: FeatureStore | str | Path,
    config: AutoencoderConfig | None = None,
    out_dir: str | Path = "autoencoder",
    *,
    dataset: str | None = None,
    client: Any | None = None,
) -> TrainedAutoencoder:
    """Sample a random ``train_fraction`` of ``dataset``'s RMM rows and train the median model.

    ``dataset`` may be omitted when the store holds exactly one. Retrains run as Dask tasks on
    ``client`` (e.g. from :func:`adsearch.cluster.dask_client`) when given. The sample is read
    here chunk by chunk; with a 1% fraction nearly every stored chunk holds a pick, so this
    decompresses the dataset's whole RMM once (fast: ~100-200 B/event on disk).

    >>> with dask_client(n_workers=2) as client:                                  # doctest: +SKIP
    ...     trained = train_autoencoder("out/store", AutoencoderConfig(), "out/ae", client=client)
    """
    config = config or AutoencoderConfig()
    store = store if isinstance(store, FeatureStore) else open_store(store, mode="r")
    if dataset is None:
        if len(store.datasets) != 1:
            raise StoreError(f"{store.path}: choose a dataset to train on; the store has {store.datasets}")
        dataset = store.datasets[0]
    rows, picks = sample_training_rows(store, dataset, config)
    log.info("%s/%s: training on %d sampled RMM rows", store.path, dataset, rows.shape[0])
    return train_on_rows(
        rows, config, out_dir, client=client, source=f"{store.path}/{dataset}/rmm",
        extra_record={"store": str(store.path), "dataset": dataset,
                      "n_events": store.n_events(dataset),
                      "picks_sha256": hashlib.sha256(picks.astype(np.int64).tobytes()).hexdigest()},
    )
