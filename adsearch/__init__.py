"""adsearch: ATLAS-style anomaly-detection resonance searches end to end.

The package is one import namespace whose subpackages mirror the repository's folders:
``adsearch.generator`` (Pythia 8 + FastJet samples), ``adsearch.processors`` (coffea selections
and numba kernels), ``adsearch.models`` (TensorFlow/Keras training workers), ``adsearch.searches``
(one package per search built from ``searches.common``), ``adsearch.stats`` (fits, BumpHunter,
pyhf). Data flows one way: processors -> store -> models -> searches -> stats.
"""

from __future__ import annotations

import os as _os
import warnings as _warnings

# Quiet by default where the noise carries no information for a physicist (both overridable):
# TensorFlow's C++ start-up logs (CUDA probing on CPU machines), and coffea's NanoAOD schema
# notes about cross-references that generated files do not carry (e.g. Jet_muonIdx1).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# XRootD's client library crashes the process (SIGSEGV) when it is loaded after TensorFlow
# (measured: `import tensorflow; import XRootD.client` segfaults, the other order works; the
# test suite died that way at its first root:// file). adsearch imports TensorFlow lazily, so
# loading XRootD here, where it is installed, lets remote inputs and training share a process.
# (A session that imports tensorflow before adsearch and then reads root:// still crashes.)
try:
    import XRootD.client as _xrootd_client  # noqa: F401
except ImportError:  # pragma: no cover - XRootD is optional at run time
    pass
_warnings.filterwarnings("ignore", message="Missing cross-reference index", category=RuntimeWarning)
_warnings.filterwarnings("ignore", message="Branch .* already exists but its values will be replaced",
                         category=RuntimeWarning)

__all__ = ["SQRT_S_GEV", "__version__"]

__version__ = "0.1.0"

#: Centre-of-mass energy of the LHC Run 2 in GeV; every ``x = m / sqrt(s)`` uses it.
SQRT_S_GEV: float = 13000.0
