"""A conditional normalizing flow p(x | c) in TensorFlow Probability (masked autoregressive).

Why a flow: the CURTAINS and CATHODE templates need the density of the jet features *as a
function of mJJ*, learned where there is no signal (the sidebands) and used where there might
be (the signal region). A conditional flow gives both an exact log-likelihood to train on and
an invertible map x <-> z (z standard normal) at every c, so it can sample new events at a
chosen c (CATHODE) and move an event from one c to another by going through the latent space,
x' = T(x; c_out)^-1 applied to T(x; c_in) (CURTAINS transport).

Architecture: ``n_layers`` masked autoregressive transforms (MADE with ``hidden`` ReLU units,
conditioned on c; log-scales bounded by 2 tanh for stability), reversed feature order between
layers. Inputs and conditions are standardised with the training rows' mean and sd. Adam,
early stopping on the validation negative log-likelihood with the best weights restored.

Reproducibility: the MADE kernels are Glorot-uniform (TFP's default) but drawn from a numpy
generator seeded by ``FlowConfig.seed``. TFP leaves its Keras initializers unseeded, and
tf_keras then takes each initializer's seed from Python's global ``random`` module (seeded from
OS entropy in every process, and drawn from by other threads of a Dask worker), which
``tf.random.set_seed`` does not touch: the same seed gave a different flow, hence a different
CURTAINS template, on every run. Everything after the initial weights (split, batch order,
training, transport) was already bitwise reproducible (measured on CPU, also across 1 and 2 TF threads).

>>> rng = np.random.default_rng(0)
>>> c = rng.uniform(0.0, 1.0, (2000, 1)); x = np.hstack([c + 0.1 * rng.normal(size=(2000, 1)),
...                                                      rng.normal(size=(2000, 1))])
>>> flow = train_conditional_flow(x, c, FlowConfig(max_epochs=3, n_layers=2, hidden=[16]))  # doctest: +SKIP
>>> flow.sample(np.full((5, 1), 0.5), seed=1).shape                                       # doctest: +SKIP
(5, 2)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from pydantic import Field

from adsearch.config import StrictModel
from adsearch.models.initializers import glorot_uniform
from adsearch.models.runtime import configure_tensorflow

__all__ = ["FlowConfig", "ConditionalFlow", "train_conditional_flow", "conditional_training_data", "early_stopped"]


class FlowConfig(StrictModel):
    """A conditional MAF and its training (our settings: the 2025 paper does not list them)."""

    n_layers: int = Field(4, ge=1)
    hidden: list[int] = Field(default_factory=lambda: [64, 64])
    learning_rate: float = Field(3e-3, gt=0)
    batch_size: int = Field(256, ge=1)
    max_epochs: int = Field(100, ge=1)
    patience: int = Field(10, ge=1)
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    tf_threads: int | None = Field(None, ge=1)


def _moments(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = a.std(axis=0)
    return a.mean(axis=0).astype(np.float32), np.where(sd > 0, sd, 1.0).astype(np.float32)


def conditional_training_data(
    x: np.ndarray, c: np.ndarray, validation_fraction: float, seed: int, what: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator, tuple[np.ndarray, ...]]:
    """(x, c as float32 2-D, validation mask, rng, (x_mean, x_sd, c_mean, c_sd) of the training rows)."""
    x = np.atleast_2d(np.asarray(x, np.float32))
    c = np.asarray(c, np.float32).reshape(len(x), -1)
    if len(x) < 10:
        raise ValueError(f"{what} needs at least 10 training events, got {len(x)}")
    rng = np.random.default_rng(seed)
    val = rng.random(len(x)) < validation_fraction
    return x, c, val, rng, (*_moments(x[~val]), *_moments(c[~val]))


def early_stopped(
    run_epoch: Callable[[int], Any], val_loss: Callable[[], Any], variables: list[Any], max_epochs: int, patience: int,
) -> tuple[float, int, int]:
    """Epochs until the validation loss has not improved for ``patience`` epochs; the best
    epoch's values are restored. Returns (best loss, best epoch, epochs run)."""
    best, best_epoch, best_values = np.inf, 0, [v.numpy() for v in variables]
    n_epochs = 0
    for n_epochs in range(1, max_epochs + 1):
        run_epoch(n_epochs)
        loss = float(val_loss())
        if loss < best:
            best, best_epoch, best_values = loss, n_epochs, [v.numpy() for v in variables]
        elif n_epochs - best_epoch >= patience:
            break
    for v, value in zip(variables, best_values):
        v.assign(value)
    return float(best), best_epoch, n_epochs


class _SeededGlorotUniform:
    """Keras' ``glorot_uniform`` with draws from one numpy generator: every call (one per Dense
    layer, in the network's fixed build order) a fresh draw, so equal-shaped layers differ
    (a seeded Keras initializer would repeat itself) and the same seed gives the same flow."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, shape: Any, dtype: Any = None, **_: Any) -> Any:
        import tensorflow as tf

        fan_in, fan_out = (int(d) for d in shape)  # MADE's Dense kernels
        return tf.constant(glorot_uniform(self.rng, fan_in, fan_out), dtype=tf.as_dtype(dtype or "float32"))


class _MAF:
    """The TFP pieces of one flow: MADE layers and their masked autoregressive bijectors."""

    def __init__(self, dim: int, dim_c: int, config: FlowConfig) -> None:
        tf = configure_tensorflow(config.tf_threads)
        import tensorflow_probability as tfp

        tfb = tfp.bijectors
        self.tf, self.dim = tf, dim
        # the initial weights' own stream, independent of the split / batch-order stream default_rng(seed)
        kernels = _SeededGlorotUniform(np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(1,))))
        self.mades = [tfb.AutoregressiveNetwork(params=2, event_shape=[dim], conditional=True,
                                                conditional_event_shape=[dim_c], hidden_units=list(config.hidden),
                                                activation="relu", kernel_initializer=kernels,
                                                input_order="left-to-right" if i % 2 == 0
                                                else "right-to-left") for i in range(config.n_layers)]
        self.bijectors = [tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=self._bounded(made)) for made in self.mades]
        # build the variables once
        self.inverse(tf.zeros([1, dim]), tf.zeros([1, dim_c]))
        self.variables = [v for made in self.mades for v in made.trainable_variables]

    def _bounded(self, made: Any) -> Any:
        tf = self.tf

        def fn(y: Any, conditional_input: Any = None) -> tuple[Any, Any]:
            out = made(y, conditional_input=conditional_input)
            return out[..., 0], 2.0 * tf.tanh(out[..., 1] / 2.0)

        return fn

    def inverse(self, x: Any, c: Any) -> tuple[Any, Any]:
        """x -> z and log|dz/dx| (one pass per layer)."""
        z, log_det = x, 0.0
        for bij in reversed(self.bijectors):
            log_det += bij.inverse_log_det_jacobian(z, event_ndims=1, conditional_input=c)
            z = bij.inverse(z, conditional_input=c)
        return z, log_det

    def forward(self, z: Any, c: Any) -> Any:
        """z -> x (sequential over the features within each layer)."""
        x = z
        for bij in self.bijectors:
            x = bij.forward(x, conditional_input=c)
        return x

    def log_prob(self, x: Any, c: Any) -> Any:
        tf = self.tf
        z, log_det = self.inverse(x, c)
        return -0.5 * tf.reduce_sum(z * z, axis=-1) - 0.5 * self.dim * np.log(2 * np.pi) + log_det


@dataclass
class ConditionalFlow:
    """A trained p(x | c): log-density, sampling, latent maps and transport between conditions."""

    maf: Any
    x_mean: np.ndarray
    x_sd: np.ndarray
    c_mean: np.ndarray
    c_sd: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def _c(self, c: np.ndarray) -> Any:
        c = np.asarray(c, np.float32).reshape(-1, self.c_mean.size)
        return self.maf.tf.constant((c - self.c_mean) / self.c_sd)

    def log_prob(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """log p(x | c) in the original units of x."""
        xs = (np.asarray(x, np.float32) - self.x_mean) / self.x_sd
        lp = self.maf.log_prob(self.maf.tf.constant(xs), self._c(c)).numpy()
        return lp - float(np.log(self.x_sd).sum())

    def to_latent(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        xs = (np.asarray(x, np.float32) - self.x_mean) / self.x_sd
        return self.maf.inverse(self.maf.tf.constant(xs), self._c(c))[0].numpy()

    def from_latent(self, z: np.ndarray, c: np.ndarray, batch: int = 65536) -> np.ndarray:
        z = np.asarray(z, np.float32)
        parts = [self.maf.forward(self.maf.tf.constant(z[i:i + batch]), self._c(np.asarray(c)[i:i + batch])).numpy()
                 for i in range(0, len(z), batch)]
        x = np.concatenate(parts) if parts else np.zeros((0, self.x_mean.size), np.float32)
        return x * self.x_sd + self.x_mean

    def sample(self, c: np.ndarray, seed: int) -> np.ndarray:
        """One event per row of ``c``."""
        c = np.asarray(c, np.float32).reshape(-1, self.c_mean.size)
        z = np.random.default_rng(seed).standard_normal((len(c), self.x_mean.size)).astype(np.float32)
        return self.from_latent(z, c)

    def transport(self, x: np.ndarray, c_in: np.ndarray, c_out: np.ndarray) -> np.ndarray:
        """Move events observed at ``c_in`` to ``c_out``: the same latent point, another condition."""
        return self.from_latent(self.to_latent(x, c_in), c_out)


def train_conditional_flow(x: np.ndarray, c: np.ndarray, config: FlowConfig | None = None) -> ConditionalFlow:
    """Fit p(x | c) by maximum likelihood on a random split (train / validation)."""
    config = config or FlowConfig()
    start = time.perf_counter()
    x, c, val, rng, (x_mean, x_sd, c_mean, c_sd) = conditional_training_data(
        x, c, config.validation_fraction, config.seed, "a conditional flow")
    maf = _MAF(x.shape[1], c.shape[1], config)
    tf = maf.tf
    import tf_keras

    opt = tf_keras.optimizers.Adam(config.learning_rate)
    xs, cs = (x - x_mean) / x_sd, (c - c_mean) / c_sd
    xt, ct = tf.constant(xs[~val]), tf.constant(cs[~val])
    xv, cv = tf.constant(xs[val]), tf.constant(cs[val])

    @tf.function
    def epoch(order: Any) -> Any:
        n = tf.shape(order)[0]
        b = config.batch_size
        total = 0.0
        for i in tf.range((n + b - 1) // b):
            idx = order[i * b: tf.minimum((i + 1) * b, n)]
            with tf.GradientTape() as tape:
                loss = -tf.reduce_mean(maf.log_prob(tf.gather(xt, idx), tf.gather(ct, idx)))
            opt.apply_gradients(zip(tape.gradient(loss, maf.variables), maf.variables))
            total += loss
        return total

    val_loss = tf.function(lambda: -tf.reduce_mean(maf.log_prob(xv, cv)))
    best, best_epoch, n_epochs = early_stopped(
        lambda _: epoch(tf.constant(rng.permutation(int(xt.shape[0])).astype(np.int32))), val_loss, maf.variables,
        config.max_epochs, config.patience)
    seconds = time.perf_counter() - start
    info = {"val_nll": best + float(np.log(x_sd).sum()), "epochs": n_epochs, "best_epoch": best_epoch,
            "n_train": int((~val).sum()), "train_seconds": seconds,
            "train_samples_per_s": float((~val).sum()) * n_epochs / max(seconds, 1e-9)}
    return ConditionalFlow(maf, x_mean, x_sd, c_mean, c_sd, info)
