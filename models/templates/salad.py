"""SALAD: simulation reweighted to the data, learned in the sidebands (2025 ATLAS search).

Why: a simulation sample describes the background's features well but not perfectly (tune,
shower, detector). A classifier parameterised in mJJ learns data (label 1) versus simulation
(label 0) in the sidebands; with balanced classes its output f(x, mJJ) gives the density ratio
p_data / p_sim = f / (1 - f). Evaluated at the signal-region mJJ of the simulated events (an
interpolation in mJJ, since both sidebands train it), the weights turn simulated signal-region
events into a template of the data's background there; a signal in the data's signal region
never entered training, so the template does not learn it.

As published: dense 64-64-64, ReLU, dropout 5%, BCE, Adam 1e-3, batch 512, up to 200 epochs,
early stopping with patience 25, half the sideband events train and half validate. Inputs are
the features and mJJ (TeV), standardised with the training rows (our choice: the paper is
silent). The classifier's output is clipped to [1e-6, 1 - 1e-6] before forming the ratio.

>>> rng = np.random.default_rng(0)
>>> sb = rng.normal(size=(400, 1)); m = rng.uniform(2.0, 2.6, 400)
>>> t = salad_template(sb, m, sb, m, sb[:50], np.full(50, 2.9e3), SaladConfig(max_epochs=2))  # doctest: +SKIP
>>> t.weights.shape                                                                            # doctest: +SKIP
(50,)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field

from adsearch.models.weak import NetworkConfig, fit_network

__all__ = ["SaladConfig", "Template", "salad_inputs", "salad_template"]


class SaladConfig(NetworkConfig):
    """The SALAD reweighting classifier (defaults: the 2025 ATLAS search)."""

    max_epochs: int = Field(200, ge=1)
    patience: int = Field(25, ge=1)
    validation_fraction: float = Field(0.5, gt=0, lt=1)
    seed: int = 0


@dataclass
class Template:
    """Weighted template events of one signal region: features, mJJ and per-event weights."""

    method: str
    features: np.ndarray
    mjj_gev: np.ndarray
    weights: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_effective(self) -> float:
        """Kish effective sample size of the weights."""
        w = self.weights
        return float(w.sum() ** 2 / max(float((w * w).sum()), 1e-300))


def salad_inputs(x: np.ndarray, mjj_gev: np.ndarray) -> np.ndarray:
    """Features with mJJ (TeV) appended: the classifier is parameterised in mJJ.

    >>> salad_inputs(np.zeros((1, 2)), np.array([3000.0])).tolist()
    [[0.0, 0.0, 3.0]]
    """
    x = np.atleast_2d(np.asarray(x, np.float32))
    return np.concatenate([x, (np.asarray(mjj_gev, np.float32) / 1000.0).reshape(-1, 1)], axis=1)


def salad_template(
    x_data_sb: np.ndarray, mjj_data_sb: np.ndarray, x_sim_sb: np.ndarray, mjj_sim_sb: np.ndarray,
    x_sim_sr: np.ndarray, mjj_sim_sr: np.ndarray, config: SaladConfig | None = None,
) -> Template:
    """Train data-vs-simulation in the sidebands; weight the simulated SR events by f / (1 - f)."""
    config = config or SaladConfig()
    xd, xs = salad_inputs(x_data_sb, mjj_data_sb), salad_inputs(x_sim_sb, mjj_sim_sb)
    if len(xd) < 2 or len(xs) < 2:
        raise ValueError(f"SALAD needs sideband events of data and simulation, got {len(xd)} and {len(xs)}")
    x = np.concatenate([xd, xs])
    y = np.concatenate([np.ones(len(xd)), np.zeros(len(xs))]).astype(np.float32)
    w = np.concatenate([np.ones(len(xd)), np.full(len(xs), len(xd) / len(xs))]).astype(np.float32)
    rng = np.random.default_rng(config.seed)
    val = rng.random(len(x)) < config.validation_fraction
    fit, mean, sd = fit_network(x[~val], y[~val], w[~val], x[val], y[val], w[val], config.seed, config)
    x_sr = salad_inputs(x_sim_sr, mjj_sim_sr)
    f = np.clip(fit.predict((x_sr - mean) / sd), 1e-6, 1.0 - 1e-6)
    return Template("salad", np.asarray(x_sim_sr, np.float32), np.asarray(mjj_sim_sr, float), f / (1.0 - f),
                    {"val_loss": fit.val_loss, "epochs": fit.epochs, "n_data_sb": len(xd), "n_sim_sb": len(xs)})
