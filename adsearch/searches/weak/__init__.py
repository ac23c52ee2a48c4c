"""The 2025 ATLAS weakly supervised dijet search: SALAD (and, to come, CURTAINS) templates.

For each sliding signal region and feature set, a classifier ensemble learns the data against a
background template; each member's selection is fitted (strategy B, signal region masked) and
the merged signal-region bin tested. :func:`weak_search` is the Python entry point;
``adsearch weak run`` the command line one.
"""

from __future__ import annotations

from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.pipeline import WeakResult, WindowResult, weak_search

__all__ = ["WeakSearchConfig", "WeakResult", "WindowResult", "weak_search"]
