"""Pythia 8 + FastJet samples written as NanoAOD-schema ROOT files (``adsearch generate``).

Two sample kinds, each with optional BSM signals (see :mod:`.processes` for the list):

* ``dijet``: QCD 2 -> 2 above pTHat > 400 GeV by default (``pthat_min_gev``), MPI off by
  default (``mpi=True`` switches it on, as the LHC Olympics R&D sample left it off), and
  A -> BC signals ``wprime_<mA>_<mB>_<mC>``.
* ``lepton``: an unweighted SM mix (W+jets, ttbar, single top, Z+jets) in proportion to the
  Pythia cross-sections, and ``ssm_wprime_<m>`` / ``lq_<m>`` signals.

The detector response is documented in :mod:`.detector`, large-R jets in :mod:`.substructure`,
the file layout and resume rules in :mod:`.sample`.

>>> from adsearch.generator import generate_sample                        # doctest: +SKIP
>>> summary = generate_sample("dijet", 300, seed=7, out_dir="samples")     # doctest: +SKIP
"""

from __future__ import annotations

from adsearch.generator.processes import NAMED_SIGNALS
from adsearch.generator.sample import (
    DEFAULT_DIJET_PTHAT_MIN_GEV,
    KINDS,
    GenerationSummary,
    GeneratorOptions,
    ProcessSummary,
    generate_sample,
)

__all__ = [
    "generate_sample",
    "GenerationSummary",
    "GeneratorOptions",
    "ProcessSummary",
    "NAMED_SIGNALS",
    "KINDS",
    "DEFAULT_DIJET_PTHAT_MIN_GEV",
]
