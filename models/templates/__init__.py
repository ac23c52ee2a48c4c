"""Background templates of the 2025 weakly supervised search: SALAD (reweighted simulation),
CURTAINS (sideband events transported into the signal region by a conditional flow) and, beyond
the paper, CATHODE (events sampled from the sideband flow). Each takes numpy feature arrays and
returns weighted template events for one signal region."""

from __future__ import annotations

from adsearch.models.templates.cathode import cathode_template
from adsearch.models.templates.curtains import CurtainsConfig, curtains_template, fit_sideband_flow
from adsearch.models.templates.salad import SaladConfig, Template, salad_template

__all__ = ["CurtainsConfig", "SaladConfig", "Template", "cathode_template", "curtains_template",
           "fit_sideband_flow", "salad_template"]
