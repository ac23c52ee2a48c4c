"""CATHODE-style template (beyond the 2025 paper, off by default): sample the sideband density
in the signal region.

Why compare it: CURTAINS moves real sideband events; CATHODE (Hallin et al. 2022) instead draws
new events from the conditional density p(x | mJJ) learned in the sidebands, at signal-region
masses drawn from the fitted mJJ spectrum. Both use the same flow
(:func:`adsearch.models.templates.curtains.fit_sideband_flow`); CATHODE needs no sideband event
per template event, so its template can be as large as wanted, but it inherits every flaw of
the density model, whereas transport keeps the real events' fine structure.
"""

from __future__ import annotations

import numpy as np

from adsearch.models.flows import ConditionalFlow
from adsearch.models.templates.curtains import CurtainsConfig, fit_sideband_flow
from adsearch.models.templates.salad import Template

__all__ = ["cathode_template"]


def cathode_template(
    x_sb: np.ndarray, mjj_sb_gev: np.ndarray, mjj_target_gev: np.ndarray, config: CurtainsConfig | None = None,
    *, flow: ConditionalFlow | None = None,
) -> Template:
    """One event sampled from p(x | m) per target mass (weights 1)."""
    config = config or CurtainsConfig()
    flow = flow or fit_sideband_flow(x_sb, mjj_sb_gev, config.flow)
    targets = np.asarray(mjj_target_gev, float)
    x = flow.sample(targets[:, None] / 1000.0, seed=config.seed + 7)
    return Template("cathode", x.astype(np.float32), targets, np.ones(targets.size),
                    {"n_sideband": int(len(np.atleast_2d(x_sb))), **{f"flow_{k}": v for k, v in flow.info.items()}})
