"""Inputs by URL: a real XRootD server on 127.0.0.1 (Debian's xrootd-server) serves generated
files; processing them by root:// URL gives exactly the store of the local run. The same files
over HTTP (a byte-range server thread on 127.0.0.1) and as file:// URLs give it too. The store
itself may live on the XRootD server (root:// store URL), written by Dask workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adsearch.errors import BadInputError
from adsearch.processors.reading import InputFile, check_input_file, load_fileset
from adsearch.processors.run import run_processor
from adsearch.processors.xrootd_server import serve_folder, xrootd_binary
from adsearch.store import open_store

pytestmark = pytest.mark.skipif(xrootd_binary() is None,
                                reason="the xrootd server binary is missing (apt-get install -y xrootd-server)")
CHUNK = 1500


@pytest.fixture(scope="module")
def served(make_nano):
    """(server, local files) with three generated files in the server's exported folder."""
    with serve_folder() as server:
        files = [make_nano(server.folder / f"remote_{i}.root", 2000, seed=40 + i, first_event=100_000 * i)
                 for i in range(3)]
        yield server, files


def _same_store(a: Path | str, b: Path | str) -> None:
    sa, sb = open_store(a), open_store(b)
    assert sa.datasets == sb.datasets
    for ds in sa.datasets:
        assert sa.columns(ds) == sb.columns(ds) and sa.n_events(ds) == sb.n_events(ds) > 0
        for col in sa.columns(ds):
            np.testing.assert_array_equal(sa.read(ds, [col])[col], sb.read(ds, [col])[col], err_msg=col)
        np.testing.assert_array_equal(sa.rmm_index(ds), sb.rmm_index(ds))
        np.testing.assert_array_equal(sa.read_rmm(ds), sb.read_rmm(ds))
        attrs_a, attrs_b = sa.attrs(ds), sb.attrs(ds)
        assert attrs_a["cutflow"] == attrs_b["cutflow"]
        ident = ("root_uuid", "size_bytes", "n_entries", "treename")
        assert [[f[k] for k in ident] for f in attrs_a["files"]] == [[f[k] for k in ident] for f in attrs_b["files"]]


def test_root_urls_give_the_local_store(served, dask_cluster, tmp_path: Path) -> None:
    server, files = served
    urls = [server.url(f) for f in files]
    assert all(u.startswith("root://127.0.0.1:") and "//" in u[len("root://"):] for u in urls)
    local = run_processor("lepton", {"bkg": [str(f) for f in files]}, tmp_path / "local.zarr", n_workers=0,
                          chunksize=CHUNK, progress=False)
    remote = run_processor("lepton", {"bkg": urls}, tmp_path / "remote.zarr", client=dask_cluster,
                           chunksize=CHUNK, progress=False)
    assert remote.n_events_in == local.n_events_in == 6000
    _same_store(tmp_path / "local.zarr", tmp_path / "remote.zarr")
    # provenance keeps each URL exactly as given (never collapsed to root:/...)
    assert [f["path"] for f in open_store(tmp_path / "remote.zarr").attrs("bkg")["files"]] == urls


def test_store_on_the_xrootd_server(served, dask_cluster, tmp_path: Path) -> None:
    """Workers write their parts to root:// (the facility's storage, no shared disk), consolidation
    runs there too; the store reads back from root:// exactly as the local run's, and a rerun
    finds it complete."""
    server, files = served
    url = server.url(server.folder) + f"/store_{tmp_path.name}.zarr"
    summary = run_processor("lepton", {"bkg": [server.url(f) for f in files]}, url, client=dask_cluster,
                            chunksize=CHUNK, progress=False)
    assert summary.write_mode == "workers" and summary.store == url and summary.n_events_in == 6000
    run_processor("lepton", {"bkg": [server.url(f) for f in files]}, tmp_path / "local.zarr", n_workers=0,
                  chunksize=CHUNK, progress=False)
    _same_store(tmp_path / "local.zarr", url)
    on_server = server.folder / f"store_{tmp_path.name}.zarr"
    assert (on_server / "bkg" / "rmm" / "zarr.json").is_file() and not (on_server / "_parts").exists()
    again = run_processor("lepton", {"bkg": [server.url(f) for f in files]}, url, n_workers=0, chunksize=CHUNK,
                          progress=False)
    assert again.datasets["bkg"].resumed


def test_mixed_fileset_of_urls_and_paths(served, tmp_path: Path) -> None:
    """root://, file:// and a plain path in one dataset, all read as written."""
    server, files = served
    entries = [server.url(files[0]), f"file://{files[1]}", str(files[2])]
    (dataset,) = load_fileset({"mixed": entries})
    assert [f.path for f in dataset.files] == entries and {f.treename for f in dataset.files} == {"Events"}
    summary = run_processor("lepton", {"mixed": entries}, tmp_path / "mixed.zarr", n_workers=0,
                            chunksize=CHUNK, progress=False)
    run_processor("lepton", {"mixed": [str(f) for f in files]}, tmp_path / "paths.zarr", n_workers=0,
                  chunksize=CHUNK, progress=False)
    assert summary.n_events_in == 6000
    _same_store(tmp_path / "mixed.zarr", tmp_path / "paths.zarr")


def test_unopenable_url_is_one_line_with_the_server_message(served, tmp_path: Path) -> None:
    server, files = served
    missing = server.url(server.folder / "no_such_file.root")
    with pytest.raises(BadInputError) as info:
        check_input_file(InputFile(missing))
    message = str(info.value)
    assert message.startswith(missing + ": ") and "\n" not in message
    assert "no such file" in message.lower() and "[3011]" in message  # XRootD's own error code and text

    fileset = {"bkg": [server.url(files[0]), missing]}
    with pytest.raises(BadInputError, match="no such file"):
        run_processor("lepton", fileset, tmp_path / "strict.zarr", n_workers=0, chunksize=CHUNK, progress=False)
    summary = run_processor("lepton", fileset, tmp_path / "skip.zarr", n_workers=0, chunksize=CHUNK,
                            skip_bad_files=True, progress=False)
    assert list(summary.skipped_files) == [missing] and summary.n_events_in == 2000
    assert list(open_store(tmp_path / "skip.zarr").attrs("bkg")["skipped_files"]) == [missing]


class _RangeHandler:
    """Built lazily: a static file handler that answers single byte-range requests (what fsspec's
    HTTP file system sends for uproot); python's own SimpleHTTPRequestHandler ignores Range."""

    @staticmethod
    def make(folder: Path) -> type:
        import io
        from http.server import SimpleHTTPRequestHandler

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, directory=str(folder), **kwargs)

            def send_head(self):  # noqa: ANN202
                path = Path(self.translate_path(self.path))
                if not path.is_file():
                    self.send_error(404, "File not found")
                    return None
                data, size = path.read_bytes(), path.stat().st_size
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes="):
                    lo, hi = ranged[len("bytes="):].split("-")
                    start, stop = int(lo), min(int(hi) if hi else size - 1, size - 1)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{stop}/{size}")
                    data = data[start:stop + 1]
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return io.BytesIO(data)

            def log_message(self, *args) -> None:
                pass

        return Handler


@pytest.fixture(scope="module")
def http_served(served):
    """The XRootD fixture's folder also served over HTTP (plain http: the same fsspec code path as
    https, without certificates) by a thread of this process on 127.0.0.1."""
    import threading
    from http.server import ThreadingHTTPServer

    server, files = served
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler.make(server.folder))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    httpd.shutdown()


def test_http_urls_give_the_local_store(http_served, tmp_path: Path) -> None:
    base, files = http_served
    urls = [f"{base}/{f.name}" for f in files[:2]]
    run_processor("lepton", {"bkg": urls}, tmp_path / "http.zarr", n_workers=0, chunksize=CHUNK, progress=False)
    run_processor("lepton", {"bkg": [str(f) for f in files[:2]]}, tmp_path / "local.zarr", n_workers=0,
                  chunksize=CHUNK, progress=False)
    _same_store(tmp_path / "local.zarr", tmp_path / "http.zarr")
    assert [f["path"] for f in open_store(tmp_path / "http.zarr").attrs("bkg")["files"]] == urls

    missing = f"{base}/no_such_file.root"
    with pytest.raises(BadInputError) as info:
        check_input_file(InputFile(missing))
    assert str(info.value).startswith(missing + ": ") and "\n" not in str(info.value)
    assert "404" in str(info.value) or "does not exist" in str(info.value)
