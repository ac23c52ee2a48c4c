"""coffea processors and kernels: ROOT files -> selected events -> the Zarr feature store.

- :mod:`~adsearch.processors.reading`: fileset specs, input checks, ``open_events``
- :mod:`~adsearch.processors.objects`: one object model for NanoAOD (incl. v15) and PHYSLITE
- :mod:`~adsearch.processors.lepton`, :mod:`~adsearch.processors.dijet`: the two selections
- :mod:`~adsearch.processors.overlap`: ATLAS-order overlap removal (numba)
- :mod:`~adsearch.processors.rmm`, :mod:`~adsearch.processors.ecdf`: numba kernels
- :mod:`~adsearch.processors.run`: ``run_processor`` (coffea Runner on Dask), ``cli``: ``adsearch process``
"""
