"""CURTAINS: sideband events transported to signal-region masses by a conditional flow (2025 ATLAS).

Why: the background's features change smoothly with mJJ. A conditional normalizing flow of the
features given mJJ, trained on the sidebands only (where a narrow resonance in the signal region
leaves no trace), knows how an event's features move with mJJ. The transport flow
x' = T(x; m_target)^-1(T(x; m_in)) keeps each sideband event's latent point and changes its
condition from its own mJJ to a target mJJ inside the signal region, so real sideband events,
their correlations intact, become the signal region's background template.

Target masses are drawn (by the search, :func:`adsearch.searches.weak.masses.target_masses`)
from the p1 (1 - z)^p2 z^p3 fit of the sideband mJJ spectrum; each sideband event is moved to
``m`` independent target masses (oversampling factor m: the template holds m x n events, each
of weight 1). The flow here is masked autoregressive (:mod:`adsearch.models.flows`); the
transport uses the flow's own latent space instead of a second, separately trained top flow
(the CURTAINs-F4F variant): the latent map is exact wherever the base flow is.

>>> rng = np.random.default_rng(0)
>>> m = rng.uniform(2000.0, 2600.0, 500); x = np.stack([m / 1e4, rng.normal(size=500)], 1)
>>> t = curtains_template(x, m, np.repeat(rng.uniform(2600, 3200, 500), 2),
...                       CurtainsConfig(flow={"max_epochs": 2}))  # doctest: +SKIP
>>> t.features.shape                                               # doctest: +SKIP
(1000, 2)
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from adsearch.config import StrictModel
from adsearch.models.flows import ConditionalFlow, FlowConfig, train_conditional_flow
from adsearch.models.runtime import native_logs_filtered
from adsearch.models.templates.salad import Template

__all__ = ["CurtainsConfig", "curtains_template", "fit_sideband_flow"]


class CurtainsConfig(StrictModel):
    """The CURTAINS flow and the template's oversampling factor m (our defaults, stated)."""

    flow: FlowConfig = Field(default_factory=FlowConfig)
    oversampling: int = Field(4, ge=1)
    seed: int = 0


def fit_sideband_flow(x_sb: np.ndarray, mjj_sb_gev: np.ndarray, flow: FlowConfig | None = None) -> ConditionalFlow:
    """p(features | mJJ in TeV) on the sideband events (TF's harmless graph-import errors about
    the MADE layers, 3 lines per traced function, filtered out of the log)."""
    m = np.asarray(mjj_sb_gev, np.float32).reshape(-1, 1) / 1000.0
    with native_logs_filtered():
        return train_conditional_flow(np.asarray(x_sb, np.float32), m, flow or FlowConfig())


def curtains_template(
    x_sb: np.ndarray, mjj_sb_gev: np.ndarray, mjj_target_gev: np.ndarray, config: CurtainsConfig | None = None,
    *, flow: ConditionalFlow | None = None,
) -> Template:
    """Transport every sideband event to ``len(mjj_target_gev) / len(x_sb)`` target masses.

    ``mjj_target_gev``: m x n target masses, row i * m + j is the j-th target of event i.
    ``flow``: an already trained sideband flow (else one is trained here).
    """
    config = config or CurtainsConfig()
    x = np.atleast_2d(np.asarray(x_sb, np.float32))
    m_in = np.asarray(mjj_sb_gev, float)
    targets = np.asarray(mjj_target_gev, float)
    if len(x) == 0 or targets.size % len(x):
        raise ValueError(f"need a whole number of target masses per sideband event: {targets.size} for {len(x)}")
    k = targets.size // len(x)
    flow = flow or fit_sideband_flow(x, m_in, config.flow)
    moved = flow.transport(np.repeat(x, k, axis=0), np.repeat(m_in, k)[:, None] / 1000.0, targets[:, None] / 1000.0)
    return Template("curtains", moved.astype(np.float32), targets, np.ones(targets.size),
                    {"oversampling": k, "n_sideband": len(x), **{f"flow_{key}": v for key, v in flow.info.items()}})
