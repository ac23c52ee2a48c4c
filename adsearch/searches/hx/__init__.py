"""The Y -> X H search (ATLAS arXiv:2306.03637): VRNN anomaly score on the X jet's constituents,
per-m_X-bin m_Y fits, a bump hunt over the (m_X, m_Y) grid with the look-elsewhere effect of the
whole grid, pyhf significances and CLs limits, and a tau21 two-prong comparison.

Python entry point :func:`hx_search` (typed :class:`HxResult`, ``to_dict()``); CLI
``adsearch hx run STORE --out DIR``.
"""

from __future__ import annotations

from adsearch.searches.hx.config import HxSearchConfig
from adsearch.searches.hx.grid import GridBackground, GridHunt, SignalSensitivity
from adsearch.searches.hx.pipeline import REGIONS, HxRegionResult, HxResult, hx_search

__all__ = ["hx_search", "HxSearchConfig", "HxResult", "HxRegionResult", "GridBackground", "GridHunt",
           "SignalSensitivity", "REGIONS"]
