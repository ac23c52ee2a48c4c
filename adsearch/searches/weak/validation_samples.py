"""The 2025 search's signal-free validation samples, each drawn in several instances.

- LARGE |dY|: the events with |y1 - y2| > 1.2 (the dijet processor's ``is_validation`` flag),
  where a resonance decaying centrally leaves almost nothing; the whole chain runs on them.
- MONTE CARLO: a background-only generated sample (``mc_dataset``) in place of the data.
- DOWN-UP-SAMPLING: a conditional flow-matching model p(x | mJJ) (:mod:`adsearch.models.flow_matching`)
  trained on a small random fraction of the data and sampled at every data event's mJJ: the
  data's mJJ spectrum with smooth, signal-free features.

Instances: a DOWN-UP-SAMPLING instance is a new fraction, a new model and a new draw; a LARGE
|dY| or MONTE CARLO instance is a Poisson bootstrap of the sample (each event kept k ~ Poisson(1)
times; copies share the event id, hence the fold, so no copy is scored by a network that trained
on another) with the chain's seeds moved on, so the spread over instances holds both the
statistical and the training fluctuations (our reading: the paper does not say how those
instances differ).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from scipy.special import expit

from adsearch.config import StrictModel
from adsearch.models.flow_matching import FlowMatchingConfig, train_flow_matching
from adsearch.searches.common.samples import Sample
from adsearch.searches.weak.features import BOUNDED, FEATURE_SETS, feature_matrix

__all__ = ["VALIDATION_SAMPLES", "DownUpConfig", "ValidationConfig", "bootstrap", "down_up_sample"]

VALIDATION_SAMPLES = ("large_dy", "monte_carlo", "down_up_sampling")


class DownUpConfig(StrictModel):
    """DOWN-UP-SAMPLING: the fraction of the data the flow-matching model learns from."""

    fraction: float = Field(0.1, gt=0, le=1)
    model: FlowMatchingConfig = Field(default_factory=FlowMatchingConfig)


class ValidationConfig(StrictModel):
    """Which validation samples run, in how many instances, and the rule's thresholds."""

    samples: list[Literal["large_dy", "monte_carlo", "down_up_sampling"]] = Field(
        default_factory=lambda: list(VALIDATION_SAMPLES))
    instances: int = Field(10, ge=1)
    mc_dataset: str = "mc"
    #: ensemble members per instance (None: the search's N); fewer members make instances cheaper
    n_members: int | None = Field(None, ge=1)
    max_median_z: float = 1.0
    max_spread_z: float = 1.0
    down_up: DownUpConfig = Field(default_factory=DownUpConfig)


def bootstrap(sample: Sample, seed: int) -> Sample:
    """Each event repeated k ~ Poisson(1) times (seeded).

    >>> s = bootstrap(Sample("d", {"m": np.arange(1000.0)}), seed=0)
    >>> 900 < s.n_events < 1100 and set(np.unique(s["m"])) <= set(range(1000))
    True
    """
    k = np.random.default_rng(seed).poisson(1.0, sample.n_events)
    return sample.subset(np.repeat(np.arange(sample.n_events), k))


def down_up_sample(data: Sample, config: DownUpConfig, seed: int) -> tuple[Sample, dict[str, float]]:
    """A flow-matching model of all features given mJJ, trained on a random fraction of ``data``
    and sampled once at each data event's mJJ; (new sample, training info).

    The features are modelled as the networks see them (masses in TeV, logit of the tau ratios)
    and mapped back to the store's units; event ids and mJJ stay the data's.
    """
    names = FEATURE_SETS["M_tau21_tau32"]
    x = feature_matrix(data, "M_tau21_tau32")
    m = np.asarray(data["mjj_gev"], np.float32)[:, None] / 1000.0
    rng = np.random.default_rng(seed)
    pick = rng.random(len(x)) < config.fraction
    model = train_flow_matching(x[pick], m[pick], config.model.model_copy(update={"seed": config.model.seed + seed}))
    new = model.sample(m, seed=seed + 1)
    columns = dict(data.columns)
    for j, name in enumerate(names):
        columns[name] = expit(new[:, j]) if name in BOUNDED else new[:, j] * 1000.0
    return Sample(data.name + "_down_up", columns), {**model.info, "n_fraction": int(pick.sum())}
