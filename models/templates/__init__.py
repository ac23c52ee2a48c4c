"""Background templates of the 2025 weakly supervised search: SALAD (reweighted simulation),
CURTAINS (transported sidebands, to come). Each takes numpy feature arrays and returns weighted
template events for one signal region."""

from __future__ import annotations

from adsearch.models.templates.salad import SaladConfig, Template, salad_template

__all__ = ["SaladConfig", "Template", "salad_template"]
