"""CWoLa hunting (ATLAS 2020, PRL 125 131801): weak supervision on dijet events.

For each mJJ region, classifiers learn signal region versus sidebands from the two jet masses
(each mapped to its region's ECDF); the 10% and 1% most signal-like events are fitted across
1.8-8.2 TeV and the fit signal region is tested. :func:`cwola_hunt` is the Python entry point;
``adsearch cwola run`` the command line one.
"""

from __future__ import annotations

from adsearch.searches.cwola.config import CWoLaSearchConfig, InjectionScan
from adsearch.searches.cwola.pipeline import CWoLaResult, cwola_hunt

__all__ = ["CWoLaSearchConfig", "InjectionScan", "CWoLaResult", "cwola_hunt"]
