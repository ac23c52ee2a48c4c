"""coffea processors and kernels: ROOT files -> selected events -> the Zarr feature store.

- :mod:`~adsearch.processors.reading`: fileset specs, input checks, ``open_events``
- :mod:`~adsearch.processors.objects`: one object model for NanoAOD (incl. v15) and PHYSLITE
  (:mod:`~adsearch.processors.nano_objects`: its NanoAOD collections as flat numpy columns;
  :mod:`~adsearch.processors.flat`: jagged collections as flat arrays for the selections)
- :mod:`~adsearch.processors.lepton`, :mod:`~adsearch.processors.dijet`: the two selections
- :mod:`~adsearch.processors.overlap`: ATLAS-order overlap removal (numba)
- :mod:`~adsearch.processors.rmm`, :mod:`~adsearch.processors.ecdf`: numba kernels
- :mod:`~adsearch.processors.run`: ``run_processor`` (coffea Runner on Dask), ``cli``: ``adsearch process``
  (:mod:`~adsearch.processors.prefetch`: a unit's branches in one bulk read; ``plan``: ``--dry-run``)
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_processor", "ProcessSummary"]


def __getattr__(name: str) -> Any:
    """``adsearch.processors.run_processor``, the twin of ``adsearch process``, imported on first use
    (it loads coffea and Dask, which the kernels alone do not need)."""
    if name in __all__:
        from adsearch.processors import run

        return getattr(run, name)
    raise AttributeError(f"module 'adsearch.processors' has no attribute {name!r}")
