"""Data-quality (lumi) masks: which (run, lumi block) pairs of collision data are good for physics.

- CMS golden JSON (``{"run": [[first_ls, last_ls], ...]}``): read by coffea's ``LumiMask``;
- ATLAS Good Run List XML (``<LumiRangeCollection><NamedLumiRange><LumiBlockCollection><Run>N</Run>
  <LBRange Start="a" End="b"/>...``): parsed here into the same (run -> ranges) form.

:func:`load_lumi_mask` picks the format from the file; the mask is a callable
``mask(runs, lumiblocks) -> bool array``. Simulated datasets take no mask.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import numpy as np

from adsearch.errors import BadInputError

__all__ = ["LumiMaskFn", "load_lumi_mask", "parse_grl_xml"]

LumiMaskFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def parse_grl_xml(path: str | Path) -> dict[int, list[tuple[int, int]]]:
    """run -> [(first, last) lumi blocks, inclusive] from an ATLAS GRL XML file.

    >>> import tempfile, os
    >>> xml = ('<LumiRangeCollection><NamedLumiRange><LumiBlockCollection><Run>350013</Run>'
    ...        '<LBRange Start="1" End="5"/><LBRange Start="9" End="9"/></LumiBlockCollection>'
    ...        '</NamedLumiRange></LumiRangeCollection>')
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False); _ = f.write(xml); f.close()
    >>> parse_grl_xml(f.name)
    {350013: [(1, 5), (9, 9)]}
    >>> os.unlink(f.name)
    """
    try:
        root = ET.parse(str(path)).getroot()
    except ET.ParseError as exc:
        raise BadInputError(str(path), f"not a Good Run List XML: {exc}") from None
    ranges: dict[int, list[tuple[int, int]]] = {}
    for block in root.iter("LumiBlockCollection"):
        run = block.find("Run")
        if run is None or run.text is None:
            raise BadInputError(str(path), "a LumiBlockCollection without <Run>")
        for lb in block.iter("LBRange"):
            ranges.setdefault(int(run.text), []).append((int(lb.get("Start", 0)), int(lb.get("End", 0))))
    if not ranges:
        raise BadInputError(str(path), "the Good Run List holds no run")
    return ranges


def _range_mask(ranges: dict[int, list[tuple[int, int]]]) -> LumiMaskFn:
    def mask(runs: np.ndarray, lumis: np.ndarray) -> np.ndarray:
        runs, lumis = np.asarray(runs, dtype=np.int64), np.asarray(lumis, dtype=np.int64)
        good = np.zeros(runs.size, dtype=bool)
        for run in np.unique(runs):
            where = runs == run
            for lo, hi in ranges.get(int(run), []):
                good[where] |= (lumis[where] >= lo) & (lumis[where] <= hi)
        return good

    return mask


def load_lumi_mask(path: str | Path) -> LumiMaskFn:
    """The mask of a CMS golden JSON (via coffea's ``LumiMask``) or an ATLAS GRL XML file."""
    text = Path(path).read_text(errors="replace").lstrip()
    if text.startswith("<"):
        return _range_mask(parse_grl_xml(path))
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(str(path), f"neither a CMS golden JSON nor an ATLAS GRL XML: {exc}") from None
    from coffea.lumi_tools import LumiMask

    lumi_mask = LumiMask(str(path))
    return lambda runs, lumis: np.asarray(lumi_mask(np.asarray(runs, dtype=np.uint32), np.asarray(lumis, dtype=np.uint32)), dtype=bool)
