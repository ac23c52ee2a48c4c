"""A compiled TensorFlow trainer for the small dense classifiers of the weakly supervised searches.

Why not ``keras.Model.fit``: the dijet searches train hundreds of tiny networks (2-6 inputs,
64-32-8 or 64-64-64 units) per region; with Keras each network pays model building, tracing of
its train/predict functions and per-step Python dispatch, ~18 s per network on this machine for
a 4k-event region. Here one :class:`DenseTrainer` per process and architecture holds the
variables, and one ``tf.function`` per epoch loops over the batches inside the graph; a new
network re-initialises the same variables (Glorot-uniform from its own seed), so nothing is
traced twice. Weighted binary cross-entropy, Adam (Keras' update rule and defaults), optional
dropout (stateless, seeded), early stopping on the weighted validation loss with the best
epoch's weights restored.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(2000, 2)).astype("float32"); y = (x[:, 0] > 0).astype("float32")
>>> fit = train_dense(x[:1500], y[:1500], None, x[1500:], y[1500:], None, seed=1, max_epochs=30)
>>> fit.val_loss < 0.2, float(((fit.predict(x[1500:]) > 0.5) == y[1500:]).mean()) > 0.95
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from adsearch.models.initializers import glorot_uniform
from adsearch.models.runtime import configure_tensorflow

__all__ = ["DenseFit", "DenseTrainer", "train_dense", "trainer_for"]

_TRAINERS: dict[tuple[Any, ...], DenseTrainer] = {}


class DenseTrainer:
    """Variables, Adam state and the compiled epoch/loss/predict functions of one architecture."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], learning_rate: float, dropout: float) -> None:
        tf = configure_tensorflow()
        self.tf = tf
        self.shapes = [(a, b) for a, b in zip((n_features, *hidden), (*hidden, 1))]
        self.weights = [tf.Variable(tf.zeros(s), trainable=True) for s in self.shapes]
        self.biases = [tf.Variable(tf.zeros(s[1]), trainable=True) for s in self.shapes]
        self.params = [v for pair in zip(self.weights, self.biases) for v in pair]
        self.m = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.v = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.step = tf.Variable(0.0)
        self.lr, self.dropout = float(learning_rate), float(dropout)
        spec = [tf.TensorSpec([None, n_features], tf.float32), tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([None], tf.float32)]
        self._epoch = tf.function(self._epoch_impl, input_signature=[
            *spec, tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32), tf.TensorSpec([2], tf.int32)])
        self._loss = tf.function(self._loss_impl, input_signature=spec)
        self._predict = tf.function(self._forward, input_signature=[spec[0]])

    def reset(self, seed: int) -> None:
        """Fresh Glorot-uniform weights from ``seed``, zero biases, zero Adam state."""
        rng = np.random.default_rng(seed)
        for w, (a, b) in zip(self.weights, self.shapes):
            w.assign(glorot_uniform(rng, a, b))
        for var in (*self.biases, *self.m, *self.v):
            var.assign(self.tf.zeros_like(var))
        self.step.assign(0.0)

    def _forward(self, x: Any, train_seed: Any = None) -> Any:
        tf = self.tf
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = tf.matmul(h, w) + b
            if i < len(self.weights) - 1:
                h = tf.nn.relu(h)
                if train_seed is not None and self.dropout > 0:
                    keep = tf.random.stateless_uniform(tf.shape(h), seed=train_seed + [0, i]) >= self.dropout
                    h = tf.where(keep, h / (1.0 - self.dropout), 0.0)
        return tf.reshape(h, [-1])  # logits

    def _bce(self, logits: Any, y: Any, w: Any) -> Any:
        tf = self.tf
        per_event = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        return tf.reduce_sum(w * per_event) / tf.maximum(tf.reduce_sum(w), 1e-12)

    def _loss_impl(self, x: Any, y: Any, w: Any) -> Any:
        return self._bce(self._forward(x), y, w)

    def _epoch_impl(self, x: Any, y: Any, w: Any, order: Any, batch: Any, seed: Any) -> Any:
        tf = self.tf
        n = tf.shape(order)[0]
        n_batches = (n + batch - 1) // batch
        total = tf.constant(0.0)
        for i in tf.range(n_batches):
            idx = order[i * batch: tf.minimum((i + 1) * batch, n)]
            xb, yb, wb = tf.gather(x, idx), tf.gather(y, idx), tf.gather(w, idx)
            with tf.GradientTape() as tape:
                loss = self._bce(self._forward(xb, seed + [i, 0]), yb, wb)
            grads = tape.gradient(loss, self.params)
            self.step.assign_add(1.0)
            t = self.step
            scale = self.lr * tf.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
            for p, g, m, v in zip(self.params, grads, self.m, self.v):
                m.assign(0.9 * m + 0.1 * g)
                v.assign(0.999 * v + 0.001 * g * g)
                p.assign_sub(scale * m / (tf.sqrt(v) + 1e-7))
            total += loss
        return total / tf.cast(n_batches, tf.float32)

    def get(self) -> list[np.ndarray]:
        return [p.numpy() for p in self.params]

    def set(self, values: list[np.ndarray]) -> None:
        for p, value in zip(self.params, values):
            p.assign(value)


def trainer_for(n_features: int, hidden: tuple[int, ...], learning_rate: float, dropout: float = 0.0) -> DenseTrainer:
    """The process's trainer for this architecture (built and traced once per worker)."""
    key = (n_features, tuple(hidden), float(learning_rate), float(dropout))
    if key not in _TRAINERS:
        _TRAINERS[key] = DenseTrainer(n_features, tuple(hidden), learning_rate, dropout)
    return _TRAINERS[key]


@dataclass
class DenseFit:
    """A trained network: its best validation loss, epochs run and best weights."""

    val_loss: float
    epochs: int
    best_epoch: int
    values: list[np.ndarray]
    trainer: DenseTrainer

    def predict(self, x: np.ndarray, batch: int = 65536) -> np.ndarray:
        """Sigmoid outputs of the best weights."""
        self.trainer.set(self.values)
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = [self.trainer._predict(x[i:i + batch]).numpy() for i in range(0, len(x), batch)]
        logits = np.concatenate(out) if out else np.zeros(0, np.float32)
        return expit(logits.astype(np.float64))  # 1 / (1 + e^-x) without overflow warnings at large |x|


def train_dense(
    x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray | None,
    x_val: np.ndarray, y_val: np.ndarray, w_val: np.ndarray | None,
    *, seed: int, hidden: tuple[int, ...] = (64, 32, 8), learning_rate: float = 1e-3, batch_size: int = 256,
    max_epochs: int = 100, patience: int = 10, dropout: float = 0.0,
) -> DenseFit:
    """Train one classifier; early stopping on the weighted validation BCE (best weights kept)."""
    tf = configure_tensorflow()
    trainer = trainer_for(x_train.shape[1], hidden, learning_rate, dropout)
    trainer.reset(seed)
    rng = np.random.default_rng(seed)
    as32 = lambda a, n: tf.constant(np.ones(n, np.float32) if a is None else np.asarray(a, np.float32))  # noqa: E731
    xt, yt, wt = tf.constant(np.asarray(x_train, np.float32)), as32(y_train, len(x_train)), as32(w_train, len(x_train))
    xv, yv, wv = tf.constant(np.asarray(x_val, np.float32)), as32(y_val, len(x_val)), as32(w_val, len(x_val))
    best, best_epoch, best_values = np.inf, -1, trainer.get()
    batch = tf.constant(int(batch_size), tf.int32)
    epoch = 0
    for epoch in range(max_epochs):
        order = tf.constant(rng.permutation(len(x_train)).astype(np.int32))
        trainer._epoch(xt, yt, wt, order, batch, tf.constant([seed % 2**31, epoch], tf.int32))
        val = float(trainer._loss(xv, yv, wv))
        if val < best:
            best, best_epoch, best_values = val, epoch, trainer.get()
        elif epoch - best_epoch >= patience:
            break
    return DenseFit(float(best), epoch + 1, best_epoch, best_values, trainer)
