"""Pythia 8 + FastJet samples written as NanoAOD-schema ROOT files (``adsearch generate``).

Two sample kinds, each with optional BSM signals (see :mod:`.processes` for the list):

* ``dijet``: QCD 2 -> 2 above pTHat > 400 GeV by default (``pthat_min_gev``), MPI off by
  default (``mpi=True`` switches it on; the LHC Olympics R&D sample also had none), and
  A -> BC signals ``wprime_<mA>_<mB>_<mC>``.  LO sigma(pTHat > 400) = 2.04 nb, so 10k events
  are 4.9 pb^-1.  Completeness for the dijet selection (leading large-R jet pT > 500 GeV),
  measured by generating pTHat 300-400 GeV separately (6k events each, 2026-11-23): with
  |Delta eta_JJ| < 1.3 the pTHat cut removes < 1% of selected events for mJJ > 1.4 TeV
  (3-7% at 1.0-1.3 TeV), so the sample is fully efficient above mJJ = 1.4 TeV; without a
  Delta-eta cut ~10% of selected events at *every* mJJ come from pTHat 300-400 GeV (wide-angle
  pairs with ISR), and ``pthat_min_gev=300`` is needed (3.2x the CPU per selected event).
  42% of pTHat > 400 events pass leading pT > 500 GeV, 25% with the |Delta eta| cut.
* ``lepton``: an unweighted SM mix (W+jets, ttbar, single top, Z+jets) in proportion to the
  Pythia cross-sections, and ``ssm_wprime_<m>`` / ``lq_<m>`` signals.  With the default cuts
  (pTHat > 100 GeV, hard-process e/mu pT > 50 GeV) the LO mix is 290 pb (W+jets 66%,
  ttbar 19%, Z+jets 13%, single top 1.3%): 10k events are 34.5 pb^-1; ~72% of events have a
  reconstructed e or mu above 60 GeV and all have a jet above 30 GeV.

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
