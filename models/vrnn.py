"""Variational recurrent neural network (VRNN) per-jet anomaly score (arXiv:2105.09274, used by
ATLAS in the Y -> X H search arXiv:2306.03637), at numpy level: padded constituents in, score out.

**Preprocessing** (:func:`prepare_jets`, :mod:`adsearch.models.vrnn_preprocessing`): by default
massive constituent four-vectors (E, p_x, p_y, p_z) in a frame where the jet has mass 0.25 and
energy 1 (our reading of the paper text; ``ordering``, ``input_scaling="rms"``: each feature over
its RMS on the training jets, stored with the model). ``inputs="pt_eta_phi"`` is the authors'
Algorithm 1 (github.com/akahn1213/vrnn): massless constituents, Delta R < 1 in that frame,
k_t-ordered, the first 20, features (pT, eta, phi); :meth:`VRNNConfig.authors_code` is their recipe.

**Network** (Chung et al. 2015 VRNN with an LSTM state h): per constituent t,
prior p(z_t | h_{t-1}), encoder q(z_t | x_t, h_{t-1}), decoder y_t(z_t, h_{t-1}), state update
h_t = LSTM([phi_x(x_t), phi_z(z_t)], h_{t-1}); diagonal Gaussians; widths in :class:`VRNNConfig`.
**Loss** per jet L = mean_t |y(t) - x(t)|^2 + lambda mean_t w_t D_KL(q(z_t) || p(z_t)) over the
jet's real constituents, averaged over the batch; Adam, early stopping on a validation set.
w_t = 1 by default; ``kl_weighting="mean_pt"`` (the authors' code): the mean pT at step t of the
training jets with as many constituents, so the hard, early k_t steps count most.
**Score** (default ``score_term="kl"``, the method paper's Anomaly Score as ATLAS used it):
J = 1 - exp(-mean_t w_t D_KL(t)) in [0, 1) (``"loss"``: from the whole loss instead). Scoring
uses z = mean of q, so it is deterministic.

Training is unsupervised (no labels); :func:`vrnn_ensemble_scores` trains a k-fold ensemble as
Dask tasks (:mod:`adsearch.models.ensemble`), so no jet is scored by a network that saw it.
One compiled ``tf.function`` per process and configuration serves every network (weights are
re-initialised from the member's seed, not re-traced).

>>> cfg = VRNNConfig()
>>> cfg.score_term, cfg.inputs, cfg.ordering, cfg.input_scaling, cfg.kl_weight, cfg.n_features
('kl', 'four_momentum', 'kt', 'rms', 1.0, 4)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from adsearch.models.ensemble import EnsembleLayout, fold_of_ids, train_ensemble
from adsearch.models.initializers import glorot_uniform
from adsearch.models.runtime import configure_tensorflow
from adsearch.models.vrnn_preprocessing import preprocess, preprocess_pt_eta_phi
from pydantic import Field

from adsearch.config import StrictModel, load_config

__all__ = ["VRNNConfig", "VRNNModel", "preprocess", "prepare_jets", "mean_pt_step_weights", "jet_step_weights",
           "train_vrnn", "score_jets", "vrnn_train_member", "vrnn_ensemble_scores", "EnsembleScores"]

#: log sigma of the Gaussians is clipped to +-6 (an unbounded one gave infinite KL on rare jets)
_LOG_SIGMA_MAX = 6.0


class VRNNConfig(StrictModel):
    """VRNN sizes, inputs and training settings. Defaults: our reading of the method paper's text
    (four-momentum inputs; sizes our choice). :meth:`authors_code` gives the authors' published
    code's recipe (measured on the demo jets in docs/demo/hx/vrnn_diagnosis.md, section 4)."""

    hidden: int = Field(32, ge=2, description="LSTM state size")
    latent: int = Field(2, ge=1, description="z dimension")
    feature: int = Field(16, ge=2, description="width of phi_x, phi_z, prior, encoder and decoder layers")
    kl_weight: float = Field(1.0, gt=0, description="lambda in L = |y - x|^2 + lambda KL (1: the ELBO weighting)")
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(128, ge=8)
    epochs: int = Field(40, ge=1)
    patience: int = Field(5, ge=1, description="epochs without validation improvement before stopping")
    score_term: Literal["kl", "loss"] = Field("kl", description="score from the KL term (published) or the whole loss")
    reference_mass: float = Field(0.25, gt=0)
    reference_energy: float = Field(1.0, gt=0)
    ordering: Literal["pt", "kt"] = Field("kt", description="constituent order: k_t distance to the axis or pT "
                                          "(pt_eta_phi inputs: always k_t in the reference frame)")
    input_scaling: Literal["rms", "none"] = Field("rms", description="features / their RMS, or reference-frame units")
    inputs: Literal["pt_eta_phi", "four_momentum"] = Field(
        "four_momentum", description="per constituent: (E, px, py, pz), or (pT, eta, phi) of Algorithm 1 "
                                     "(the authors' code)")
    max_steps: int = Field(20, ge=1, description="constituents per jet after the k_t ordering (pt_eta_phi inputs)")
    dr_max: float = Field(1.0, gt=0, description="Delta R cut in the reference frame (pt_eta_phi inputs)")
    kl_weighting: Literal["mean_pt", "uniform"] = Field(
        "uniform", description="KL of step t weighted by 1, or by the training jets' mean pT at t (authors' code)")
    reconstruction: Literal["mean", "sum"] = Field(
        "sum", description="|y - x|^2 as the sum over features, or their mean (the authors' MSE)")

    @property
    def n_features(self) -> int:
        return 3 if self.inputs == "pt_eta_phi" else 4

    @classmethod
    def authors_code(cls, **overrides: Any) -> "VRNNConfig":
        """The recipe of the method paper's code (github.com/akahn1213/vrnn): Algorithm 1 inputs
        (pT, eta, phi), pT-weighted KL, MSE, h_dim = 16, z_dim = 2, KL weight 0.1, batch 256.
        Not theirs: the LSTM state (they use a GRU) and Adam at 1e-3 with early stopping (theirs:
        1e-5 for a fixed 100 epochs; pass ``learning_rate=1e-5, epochs=100, patience=100``).

        >>> cfg = VRNNConfig.authors_code()
        >>> cfg.inputs, cfg.kl_weighting, cfg.kl_weight, cfg.hidden, cfg.n_features
        ('pt_eta_phi', 'mean_pt', 0.1, 16, 3)
        """
        recipe = {"inputs": "pt_eta_phi", "kl_weighting": "mean_pt", "reconstruction": "mean", "input_scaling": "none",
                  "hidden": 16, "feature": 16, "latent": 2, "kl_weight": 0.1, "batch_size": 256}
        return cls(**{**recipe, **overrides})


def prepare_jets(constituents: np.ndarray, cfg: VRNNConfig) -> tuple[np.ndarray, np.ndarray]:
    """(features, mask) the network of ``cfg`` reads, from padded pT-ordered (pt, eta, phi, mass).

    >>> jets = np.zeros((2, 30, 4), np.float32)
    >>> jets[:, :3] = [[400., 0.0, 0.0, 1.], [200., 0.1, 0.05, 1.], [50., -0.1, 0.1, 0.]]
    >>> prepare_jets(jets, VRNNConfig())[0].shape, prepare_jets(jets, VRNNConfig.authors_code())[0].shape
    ((2, 30, 4), (2, 20, 3))
    """
    if cfg.inputs == "pt_eta_phi":
        return preprocess_pt_eta_phi(constituents, cfg.reference_mass, cfg.reference_energy, cfg.max_steps, cfg.dr_max)
    return preprocess(constituents, cfg.reference_mass, cfg.reference_energy, cfg.ordering)


def mean_pt_step_weights(features: np.ndarray) -> np.ndarray:
    """(N + 1, N) table: row n holds, per step t < n, the mean of feature 0 (pT) at t over the jets
    with exactly n real constituents (the authors' ``x_avg``: their jets are batched by count);
    counts absent from ``features`` fall back to the mean over all jets reaching step t.

    >>> x = np.zeros((3, 2, 3), np.float32)
    >>> x[:, 0, 0], x[1:, 1, 0] = [0.8, 0.6, 0.4], [0.2, 0.1]
    >>> mean_pt_step_weights(x).astype(float).round(3).tolist()
    [[0.0, 0.0], [0.8, 0.0], [0.5, 0.15]]
    """
    x = np.asarray(features, np.float64)
    n_steps = x.shape[1]
    real = x[..., 0] > 0
    count = real.sum(1)
    pt = np.where(real, x[..., 0], 0.0)
    reach = real.sum(0)
    overall = np.divide(pt.sum(0), reach, out=np.zeros(n_steps), where=reach > 0)
    table = np.zeros((n_steps + 1, n_steps))
    for n in range(1, n_steps + 1):
        rows = count == n
        table[n, :n] = pt[rows, :n].mean(0) if rows.any() else overall[:n]
    return table.astype(np.float32)


def jet_step_weights(table: np.ndarray | None, features: np.ndarray) -> np.ndarray:
    """(n, N) KL weights: each jet's row of ``table`` by its count of real constituents (1 if None)."""
    x = np.asarray(features)
    if table is None:
        return np.ones(x.shape[:2], np.float32)
    return table[(x[..., 0] > 0).sum(1)]


# -- the network ---------------------------------------------------------------------------------


def _shapes(cfg: VRNNConfig) -> dict[str, tuple[int, int]]:
    f, h, z, d = cfg.feature, cfg.hidden, cfg.latent, cfg.n_features
    return {"phi_x": (d, f), "phi_z": (z, f), "prior": (h, f), "prior_mu": (f, z), "prior_ls": (f, z),
            "enc": (f + h, f), "enc_mu": (f, z), "enc_ls": (f, z), "dec": (f + h, f), "dec_out": (f, d),
            "lstm": (2 * f + h, 4 * h)}


def initial_weights(cfg: VRNNConfig, seed: int) -> dict[str, np.ndarray]:
    """Glorot-uniform weights, zero biases (LSTM forget-gate bias 1), from ``seed``."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, (a, b) in _shapes(cfg).items():
        out[f"{name}/w"] = glorot_uniform(rng, a, b)
        bias = np.zeros(b, np.float32)
        if name == "lstm":
            bias[cfg.hidden:2 * cfg.hidden] = 1.0
        out[f"{name}/b"] = bias
    return out


class _Trainer:
    """Variables, Adam state and compiled train / evaluate functions for one configuration."""

    def __init__(self, cfg: VRNNConfig, n_steps: int) -> None:
        tf = configure_tensorflow()
        self.tf, self.cfg, self.n_steps = tf, cfg, n_steps
        init = initial_weights(cfg, 0)
        self.vars = {k: tf.Variable(v, name=k.replace("/", "_")) for k, v in init.items()}
        self.order = sorted(self.vars)
        self.m = {k: tf.Variable(tf.zeros_like(v)) for k, v in self.vars.items()}
        self.v = {k: tf.Variable(tf.zeros_like(v)) for k, v in self.vars.items()}
        self.t = tf.Variable(0.0)
        spec = tf.TensorSpec([None, n_steps, cfg.n_features], tf.float32)
        weights = tf.TensorSpec([None, n_steps], tf.float32)
        # no XLA: it compiles per batch shape (minutes for this graph on a loaded 2-core machine)
        self.train_step = tf.function(self._train_step, input_signature=[spec, weights, tf.TensorSpec([], tf.int64)])
        self.evaluate = tf.function(self._losses_mean, input_signature=[spec, weights])

    def reset(self, weights: dict[str, np.ndarray]) -> None:
        for k, var in self.vars.items():
            var.assign(weights[k])
            self.m[k].assign(np.zeros_like(weights[k]))
            self.v[k].assign(np.zeros_like(weights[k]))
        self.t.assign(0.0)

    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.numpy() for k, v in self.vars.items()}

    def _dense(self, name: str, x: Any, act: bool = True) -> Any:
        y = self.tf.matmul(x, self.vars[f"{name}/w"]) + self.vars[f"{name}/b"]
        return self.tf.nn.relu(y) if act else y

    def _losses(self, x: Any, w: Any, sample: bool, seed: Any = None) -> tuple[Any, Any, Any]:
        """Per-jet mean reconstruction error and KL (step t weighted by ``w[:, t]``) over real
        constituents, and the mask sum.

        The constituent loop is unrolled (measured at load ~12 on 2 cores, batch 256: 45 ms per
        training step and ~50 s of tracing once per process, against 210 ms / 26 s for a
        ``tf.scan`` and 70 ms / 45 s for a scan under XLA)."""
        tf, cfg = self.tf, self.cfg
        n = tf.shape(x)[0]
        mask = tf.cast(x[:, :, 0] > 0, tf.float32)
        if sample:
            eps = tf.random.stateless_normal([self.n_steps, n, cfg.latent], seed=tf.stack([seed, tf.constant(7, tf.int64)]))
        else:
            eps = tf.zeros([self.n_steps, n, cfg.latent])

        def step(carry: Any, inputs: Any) -> Any:
            h, c, _, _ = carry
            xt, mt, et = inputs
            fx = self._dense("phi_x", xt)
            hp = self._dense("prior", h)
            mu_p = self._dense("prior_mu", hp, False)
            ls_p = tf.clip_by_value(self._dense("prior_ls", hp, False), -_LOG_SIGMA_MAX, _LOG_SIGMA_MAX)
            he = self._dense("enc", tf.concat([fx, h], 1))
            mu_q = self._dense("enc_mu", he, False)
            ls_q = tf.clip_by_value(self._dense("enc_ls", he, False), -_LOG_SIGMA_MAX, _LOG_SIGMA_MAX)
            z = mu_q + tf.exp(ls_q) * et
            fz = self._dense("phi_z", z)
            y = self._dense("dec_out", self._dense("dec", tf.concat([fz, h], 1)), False)
            kl = tf.reduce_sum(ls_p - ls_q + (tf.exp(2 * ls_q) + (mu_q - mu_p) ** 2) / (2 * tf.exp(2 * ls_p)) - 0.5, 1)
            rec = (tf.reduce_mean if cfg.reconstruction == "mean" else tf.reduce_sum)((y - xt) ** 2, 1)
            gates = self._dense("lstm", tf.concat([fx, fz, h], 1), False)
            i, f, g, o = tf.split(gates, 4, axis=1)
            c_new = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h_new = tf.sigmoid(o) * tf.tanh(c_new)
            keep = mt[:, None]
            return (keep * h_new + (1 - keep) * h, keep * c_new + (1 - keep) * c, rec * mt, kl * mt)

        zeros = tf.zeros([n, cfg.hidden])
        carry = (zeros, zeros, tf.zeros([n]), tf.zeros([n]))
        rec_sum, kl_sum = tf.zeros([n]), tf.zeros([n])
        for t in range(self.n_steps):
            carry = step(carry, (x[:, t], mask[:, t], eps[t]))
            rec_sum += carry[2]
            kl_sum += carry[3] * w[:, t]
        count = tf.maximum(tf.reduce_sum(mask, 1), 1.0)
        return rec_sum / count, kl_sum / count, count

    def _losses_mean(self, x: Any, w: Any) -> tuple[Any, Any]:
        rec, kl, _ = self._losses(x, w, sample=False)
        return rec, kl

    def _train_step(self, x: Any, w: Any, seed: Any) -> Any:
        tf, cfg = self.tf, self.cfg
        variables = [self.vars[k] for k in self.order]
        with tf.GradientTape() as tape:
            rec, kl, _ = self._losses(x, w, sample=True, seed=seed)
            loss = tf.reduce_mean(rec + cfg.kl_weight * kl)
        grads = tape.gradient(loss, variables)
        self.t.assign_add(1.0)
        lr = cfg.learning_rate * tf.sqrt(1 - 0.999**self.t) / (1 - 0.9**self.t)
        for k, var, grad in zip(self.order, variables, grads):
            self.m[k].assign(0.9 * self.m[k] + 0.1 * grad)
            self.v[k].assign(0.999 * self.v[k] + 0.001 * grad * grad)
            var.assign_sub(lr * self.m[k] / (tf.sqrt(self.v[k]) + 1e-7))
        return loss


_TRAINERS: dict[tuple[Any, ...], _Trainer] = {}


def _trainer(cfg: VRNNConfig, n_steps: int) -> _Trainer:
    # only what the traced graph depends on: epochs, batch size or the score term reuse it
    key = (cfg.hidden, cfg.latent, cfg.feature, cfg.kl_weight, cfg.learning_rate, cfg.n_features, cfg.reconstruction,
           n_steps)
    if key not in _TRAINERS:
        _TRAINERS[key] = _Trainer(cfg, n_steps)
    return _TRAINERS[key]


@dataclass
class VRNNModel:
    """Trained weights with their configuration; :meth:`score` scores padded constituents."""

    config: VRNNConfig
    weights: dict[str, np.ndarray]
    n_steps: int
    #: per-feature divisor (RMS over the training jets' real constituents), so the loss is O(1)
    input_scale: np.ndarray | None = None
    history: list[float] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    #: (n_steps + 1, n_steps) KL weight of step t for a jet of n real constituents (row n);
    #: None: 1 everywhere (``kl_weighting="uniform"``)
    kl_step_weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.input_scale is None:
            self.input_scale = np.ones(self.config.n_features, np.float32)

    def step_weights(self, features: np.ndarray) -> np.ndarray:
        """Per-jet, per-step KL weights of *preprocessed* features (:func:`jet_step_weights`)."""
        return jet_step_weights(self.kl_step_weights, features)

    def losses(self, features: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """(reconstruction, KL) per jet, means over its real constituents, from *preprocessed* features."""
        trainer = _trainer(self.config, self.n_steps)
        trainer.reset(self.weights)
        scaled = np.asarray(features, np.float32) / self.input_scale
        w = self.step_weights(features)
        rec, kl = [], []
        for lo in range(0, len(scaled), batch):
            r, k = trainer.evaluate(np.ascontiguousarray(scaled[lo:lo + batch]), np.ascontiguousarray(w[lo:lo + batch]))
            rec.append(r.numpy())
            kl.append(k.numpy())
        if not rec:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return np.concatenate(rec), np.concatenate(kl)

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """Scores of *preprocessed* features (before the input scaling, which is applied here)."""
        rec, kl = self.losses(features)
        term = kl if self.config.score_term == "kl" else rec + self.config.kl_weight * kl
        return (1.0 - np.exp(-term)).astype(np.float32)

    def score(self, constituents: np.ndarray) -> np.ndarray:
        """Anomaly score in [0, 1) of every jet of a padded (n, N, 4) (pt, eta, phi, mass) array."""
        return self.score_features(prepare_jets(constituents, self.config)[0])


def _epoch_loss(trainer: _Trainer, x: np.ndarray, w: np.ndarray, kl_weight: float) -> float:
    rec, kl = [], []
    for lo in range(0, len(x), 4096):
        r, k = trainer.evaluate(x[lo:lo + 4096], w[lo:lo + 4096])
        rec.append(r.numpy())
        kl.append(k.numpy())
    return float(np.mean(np.concatenate(rec) + kl_weight * np.concatenate(kl)))


def train_vrnn(features: np.ndarray, config: VRNNConfig | dict[str, Any] | None = None, *, seed: int = 0,
               validation: np.ndarray | None = None) -> VRNNModel:
    """Train one VRNN on *preprocessed* features (unsupervised); early stopping on ``validation``
    (default: a seeded 20% of ``features``), best-epoch weights kept."""
    cfg = config if isinstance(config, VRNNConfig) else load_config(VRNNConfig, config)
    x = np.ascontiguousarray(features, np.float32)
    rng = np.random.default_rng(seed)
    if validation is None:
        is_val = rng.random(len(x)) < 0.2
        x, validation = x[~is_val], x[is_val]
    if len(x) < 2 or len(validation) < 1:
        raise ValueError(f"too few jets to train a VRNN: {len(x)} training, {len(validation)} validation")
    if x.shape[-1] != cfg.n_features:
        raise ValueError(f"features have {x.shape[-1]} per constituent, inputs={cfg.inputs!r} needs {cfg.n_features}")
    start = time.perf_counter()
    real = x[..., 0] > 0
    ones = np.ones(cfg.n_features, np.float32)
    scale = np.sqrt(np.mean(x[real] ** 2, axis=0)).astype(np.float32) if real.any() else ones
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    if cfg.input_scaling == "none":
        scale = ones
    table = mean_pt_step_weights(x) if cfg.kl_weighting == "mean_pt" else None
    w_train, w_val = jet_step_weights(table, x), jet_step_weights(table, validation)
    x = x / scale
    trainer = _trainer(cfg, x.shape[1])
    trainer.reset(initial_weights(cfg, seed))
    val = np.ascontiguousarray(np.asarray(validation, np.float32) / scale)
    best, best_weights, history, stale, epoch = np.inf, trainer.weights(), [], 0, 0
    step_seed = int(rng.integers(2**31))
    for epoch in range(1, cfg.epochs + 1):
        order = rng.permutation(len(x))
        for lo in range(0, len(x) - cfg.batch_size // 2, cfg.batch_size):  # no tiny last batch
            batch = order[lo:lo + cfg.batch_size]
            trainer.train_step(x[batch], w_train[batch], np.int64(step_seed))
            step_seed += 1
        loss = _epoch_loss(trainer, val, w_val, cfg.kl_weight)
        history.append(loss)
        if loss < best - 1e-6:
            best, best_weights, stale = loss, trainer.weights(), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    return VRNNModel(cfg, best_weights, x.shape[1], scale, history, epoch, time.perf_counter() - start, table)


def score_jets(constituents: np.ndarray, model: VRNNModel) -> np.ndarray:
    """Numpy-level scorer: anomaly score of every jet of a padded constituent array."""
    return model.score(constituents)


def vrnn_train_member(x_train: np.ndarray, y_train: np.ndarray, w_train: np.ndarray, x_val: np.ndarray,
                      y_val: np.ndarray, w_val: np.ndarray, x_score: np.ndarray, seed: int,
                      **options: Any) -> tuple[float, np.ndarray, int]:
    """:data:`adsearch.models.ensemble.TrainMember` for the VRNN: labels and weights are ignored
    (unsupervised); returns the best validation loss, the scores of ``x_score`` and the epochs."""
    model = train_vrnn(x_train, options.get("config"), seed=seed, validation=x_val)
    return min(model.history), model.score_features(x_score), model.epochs


@dataclass
class EnsembleScores:
    """Out-of-fold VRNN scores per jet and what each network did."""

    scores: np.ndarray
    folds: np.ndarray
    val_losses: list[float]
    epochs: list[int]
    seconds: list[float]
    n_train: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {"val_losses": self.val_losses, "epochs": self.epochs, "seconds": self.seconds,
                "n_train": self.n_train, "n_jets": int(len(self.scores))}


def vrnn_ensemble_scores(constituents: np.ndarray, ids: dict[str, np.ndarray], config: VRNNConfig | None = None, *,
                         layout: EnsembleLayout = EnsembleLayout(k=4, n_members=1, validation_choices=1),
                         seed: int = 0, client: Any = None, trainable: np.ndarray | None = None) -> EnsembleScores:
    """Score every jet with the networks that did not train or validate on it (mean over members).

    ``ids``: event id columns (run, luminosityBlock, event) that fix each jet's fold; each network
    of ``layout`` is one task of :func:`adsearch.models.ensemble.train_ensemble` (Dask when
    ``client``); ``trainable``: jets that may enter training (e.g. data, not injected truth).
    """
    cfg = config or VRNNConfig()
    x, _ = prepare_jets(constituents, cfg)
    folds = fold_of_ids(ids, layout.k)
    results = train_ensemble(vrnn_train_member, x, np.zeros(len(x)), folds, layout=layout, seed=seed, client=client,
                             trainable=trainable, options={"config": cfg.model_dump()})
    total = np.zeros(len(x))
    count = np.zeros(len(x))
    for r in results:
        rows = np.flatnonzero(folds == r.test_fold)
        total[rows] += r.scores
        count[rows] += 1
    scores = (total / np.maximum(count, 1)).astype(np.float32)
    return EnsembleScores(scores, folds, [r.val_loss for r in results], [r.epochs for r in results],
                          [r.seconds for r in results], [r.n_train for r in results])
