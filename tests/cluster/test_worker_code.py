"""The code on the workers: workers without adsearch are refused in one line, and
``--install-on-workers wheel`` uploads a wheel of this source tree that they install and run."""

from __future__ import annotations

from pathlib import Path

import pytest

from adsearch.cluster import dask_client
from adsearch.errors import ClusterError

# what a worker image without adsearch looks like: the venv's editable finder for adsearch removed
_HIDE_ADSEARCH = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable___adsearch")]
"""


@pytest.mark.slow
def test_workers_without_adsearch_are_refused_then_get_the_wheel(tools, cluster_nano_files, tmp_path: Path) -> None:
    import sys

    import cloudpickle

    from adsearch.processors.run import run_processor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # _adsearch_location runs on the workers
    hide = tmp_path / "site-hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(_HIDE_ADSEARCH)
    sched = tools.start_scheduler(tmp_path, worker_env={"PYTHONPATH": str(hide)})
    fileset = {"bkg": [str(f) for f in cluster_nano_files]}
    try:
        with pytest.raises(ClusterError, match=r"2 of 2 workers do not run this adsearch .* has no adsearch; "
                                               r"use --install-on-workers wheel"):
            with dask_client(sched.spec()):
                pass
        with dask_client(sched.spec(install="wheel")) as client:  # the check passed: same sources
            run_processor("lepton", fileset, tmp_path / "cluster.zarr", client=client, chunksize=tools.CHUNKSIZE,
                          progress=False)
            where = client.run(_adsearch_location)
        assert all("adsearch-site" in w for w in where.values()), where  # imported from the uploaded wheel
        run_processor("lepton", fileset, tmp_path / "local.zarr", n_workers=0, chunksize=tools.CHUNKSIZE,
                      progress=False)
        assert tools.store_checksums(tmp_path / "cluster.zarr") == tools.store_checksums(tmp_path / "local.zarr")
    finally:
        sched.close()


def _adsearch_location() -> str:
    import adsearch

    return adsearch.__file__
