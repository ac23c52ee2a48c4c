"""End to end: fileset -> coffea Runner (Dask or in-process) -> consolidated store."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from adsearch.errors import BadInputError
from adsearch.processors.cli import process
from adsearch.processors.run import run_processor
from adsearch.store import StoreError, open_store

CHUNK = 1000


def _assert_same_store(a: Path, b: Path) -> None:
    sa, sb = open_store(a), open_store(b)
    assert sa.datasets == sb.datasets
    for ds in sa.datasets:
        assert sa.columns(ds) == sb.columns(ds) and sa.n_events(ds) == sb.n_events(ds) > 0
        for col in sa.columns(ds):
            np.testing.assert_array_equal(sa.read(ds, [col])[col], sb.read(ds, [col])[col], err_msg=col)
        if "rmm_features" in sa.attrs(ds):  # lepton stores
            np.testing.assert_array_equal(sa.rmm_index(ds), sb.rmm_index(ds))
            np.testing.assert_array_equal(sa.read_rmm(ds), sb.read_rmm(ds))
        assert sa.attrs(ds)["cutflow"] == sb.attrs(ds)["cutflow"]


@pytest.fixture(scope="module")
def serial_store(nano_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "store.zarr"
    run_processor("lepton", {"bkg": [str(f) for f in nano_files]}, out, n_workers=0, chunksize=CHUNK, progress=False)
    return out


def test_two_worker_cluster_equals_single_process(serial_store: Path, nano_files, dask_cluster, tmp_path: Path) -> None:
    out = tmp_path / "dask.zarr"
    summary = run_processor("lepton", {"bkg": [str(f) for f in nano_files]}, out, client=dask_cluster,
                            chunksize=CHUNK, progress=False)
    assert len(dask_cluster.scheduler_info()["workers"]) == 2
    _assert_same_store(serial_store, out)
    attrs = open_store(out).attrs("bkg")
    assert [Path(f["path"]).name for f in attrs["files"]] == [f.name for f in nano_files]
    assert all(len(f["root_uuid"]) == 36 and f["size_bytes"] > 0 for f in attrs["files"])
    cut = attrs["cutflow"]
    assert cut["events"][0] == 6000 == sum(cut["removed"]) + cut["events"][-1] == summary.n_events_in
    run_attrs = open_store(out).run_attrs
    assert run_attrs["versions"]["coffea"] and run_attrs["config_hash"] and run_attrs["config"]["processor"] == "lepton"


def test_workers_free_each_finished_unit(nano_files, dask_cluster, tmp_path: Path) -> None:
    """A finished unit's uproot file and arrays sit in reference cycles; workers collect them
    before the next unit, so only the last unit's are alive afterwards (peak memory per worker
    does not grow with the number of files; benchmarks/bench_processors.py measures it)."""
    run_processor("lepton", {"bkg": [str(f) for f in nano_files]}, tmp_path / "s.zarr", client=dask_cluster,
                  chunksize=400, progress=False)  # 15 units

    def uproot_files_alive() -> int:
        import gc

        import uproot
        return sum(isinstance(o, uproot.reading.ReadOnlyFile) for o in gc.get_objects())

    assert max(dask_cluster.run(uproot_files_alive).values()) <= 1


def test_embedded_worker_settings(dask_cluster) -> None:
    """No Dask profiler (its history grew workers per unit); glibc keeps arrays up to 32 MiB in
    the heap while Dask's trim threshold stays (adsearch.cluster says why)."""
    import os

    import dask

    def settings() -> tuple[bool, str | None, str | None]:
        return (dask.config.get("distributed.worker.profile.enabled"), os.environ.get("MALLOC_MMAP_THRESHOLD_"),
                os.environ.get("MALLOC_TRIM_THRESHOLD_"))

    assert list(dask_cluster.run(settings).values()) == [(False, str(32 * 2**20), "65536")] * 2


def test_store_content_and_ids(serial_store: Path) -> None:
    store = open_store(serial_store)
    cols = store.read("bkg", ["event", "weight", "truth_process_id", "n_muon", "n_electron", "met_gev"])
    assert len(np.unique(cols["event"])) == len(cols["event"])
    assert np.all(np.diff(cols["event"].astype(np.int64)) > 0)  # fileset order, then entry order
    assert (cols["n_muon"] + cols["n_electron"] >= 1).all()
    rmm = store.read_rmm("bkg")
    assert rmm.dtype == np.float32 and rmm.shape == (store.n_events("bkg"), 1287)
    assert rmm.min() >= 0.0 and rmm.max() <= 1.0 and (rmm[:, 0] > 0).mean() > 0.5  # MET cell


def _assert_unique_ids(store: Path, dataset: str) -> None:
    cols = open_store(store).read(dataset, ["run", "luminosityBlock", "event"])
    ids = np.stack([cols[c].astype(np.int64) for c in ("run", "luminosityBlock", "event")], axis=1)
    assert len(np.unique(ids, axis=0)) == len(ids) > 0


def test_resume_skips_committed_units_and_never_duplicates(serial_store: Path, nano_files, tmp_path: Path) -> None:
    out = tmp_path / "resume.zarr"
    fileset = {"bkg": [str(f) for f in nano_files]}
    first = run_processor("lepton", fileset, out, n_workers=0, chunksize=CHUNK, progress=False, keep_parts=True)
    assert (first.datasets["bkg"].n_units, first.n_units_processed) == (6, 6)
    parts = sorted((out / "_parts" / "bkg").glob("*.commit"))
    assert len(parts) == 6
    # simulate a crash: consolidation never happened, one unit never committed
    shutil.rmtree(out / "bkg")
    (out / "zarr.json").touch()
    parts[2].unlink()
    committed = [p for p in parts if p.exists()]
    kept = {f: f.stat().st_mtime_ns
            for p in committed for f in (p, p.parent / p.name.removesuffix(".commit") / "columns.npz")}
    summary = run_processor("lepton", fileset, out, n_workers=0, chunksize=CHUNK, progress=False, keep_parts=True)
    # exactly the missing unit was processed; the committed ones were loaded, their files untouched
    assert (summary.datasets["bkg"].n_units, summary.datasets["bkg"].n_units_resumed) == (6, 5)
    assert summary.n_units_processed == 1 and parts[2].exists()
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    _assert_unique_ids(out, "bkg")
    _assert_same_store(serial_store, out)
    again = run_processor("lepton", fileset, out, n_workers=0, chunksize=CHUNK, progress=False)
    assert again.datasets["bkg"].resumed and again.n_units_processed == 0
    assert again.n_events_out == summary.n_events_out
    _assert_unique_ids(out, "bkg")
    _assert_same_store(serial_store, out)


def test_rmm_fraction_is_seeded_subset(nano_files, tmp_path: Path) -> None:
    fileset = {"bkg": [str(nano_files[0])]}
    run_processor("lepton", fileset, tmp_path / "full", n_workers=0, progress=False)
    a = open_store(tmp_path / "full")
    runs = []
    for name, seed in (("f1", 7), ("f2", 7), ("f3", 8)):
        run_processor("lepton", fileset, tmp_path / name, n_workers=0, progress=False, rmm_fraction=0.2, seed=seed)
        runs.append(open_store(tmp_path / name))
    index = runs[0].rmm_index("bkg")
    assert 0.14 < len(index) / a.n_events("bkg") < 0.26 and np.all(np.diff(index) > 0)
    np.testing.assert_array_equal(runs[0].read_rmm("bkg"), a.read_rmm("bkg")[index])
    np.testing.assert_array_equal(index, runs[1].rmm_index("bkg"))
    assert not np.array_equal(index, runs[2].rmm_index("bkg"))
    assert runs[0].n_events("bkg") == a.n_events("bkg")  # the other columns are complete


def _bad_files(make_nano, tmp_path: Path) -> dict[str, Path]:
    good = make_nano(tmp_path / "good.root", 500, seed=11, first_event=900_000)
    truncated = tmp_path / "truncated.root"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    corrupt = tmp_path / "corrupt.root"
    corrupt.write_bytes(b"\x00garbage" * 1000)
    return {
        "good": good,
        "missing": tmp_path / "missing.root",
        "truncated": truncated,
        "corrupt": corrupt,
        "no_branch": make_nano(tmp_path / "nobranch.root", 50, seed=12, drop=("Jet_btagDeepFlavB",)),
        "empty": make_nano(tmp_path / "empty.root", 0, seed=13),
        "nan": make_nano(tmp_path / "nan.root", 300, seed=14, first_event=800_000, nan_branch="Muon_pt"),
        "bad_basket": _damage_middle(make_nano(tmp_path / "basket.root", 300, seed=15, first_event=700_000)),
    }


def _damage_middle(path: Path) -> Path:
    """Overwrite bytes in the middle (compressed baskets): header and size stay valid."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2000] = b"\xff" * 2000
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist"), ("truncated", "truncated"), ("corrupt", "not a readable ROOT file"),
    ("no_branch", "missing branches: Jet_btagDeepFlavB"), ("empty", "empty"), ("nan", "non-finite value.*Muon_pt"),
    ("bad_basket", "cannot read entries"),
])
def test_bad_input_names_file_and_problem(kind: str, message: str, make_nano, tmp_path: Path) -> None:
    files = _bad_files(make_nano, tmp_path)
    with pytest.raises(BadInputError, match=message) as info:
        run_processor("lepton", {"d": [str(files["good"]), str(files[kind])]}, tmp_path / "s.zarr",
                      n_workers=0, progress=False)
    assert info.value.path.endswith(files[kind].name)


def test_skip_bad_files_records_them(make_nano, tmp_path: Path) -> None:
    files = _bad_files(make_nano, tmp_path)
    summary = run_processor("lepton", {"d": [str(p) for p in files.values()]}, tmp_path / "s.zarr",
                            n_workers=0, progress=False, skip_bad_files=True)
    skipped = open_store(tmp_path / "s.zarr").attrs("d")["skipped_files"]
    assert set(skipped) == {str(files[k]) for k in files if k != "good"} == set(summary.skipped_files)
    assert summary.datasets["d"].n_events_in == 500  # only the good file's events, nothing silently lost


def test_duplicate_events_are_refused(make_nano, tmp_path: Path) -> None:
    a = make_nano(tmp_path / "a.root", 400, seed=3)
    b = tmp_path / "b.root"
    b.write_bytes(a.read_bytes())
    with pytest.raises(StoreError, match="duplicated"):
        run_processor("lepton", {"d": [str(a), str(b)]}, tmp_path / "s.zarr", n_workers=0, progress=False)


def test_duplicate_id_count_matches_numpy_unique() -> None:
    from adsearch.processors.run import _count_duplicated_ids

    rng = np.random.default_rng(7)
    n = 5000
    run = rng.integers(1, 4, n)
    lumi = rng.integers(1, 6, n)
    event = rng.integers(0, 3000, n).astype(np.uint64)  # many equal event numbers in other runs/lumis
    ids = np.stack([run, lumi, event.astype(np.int64)], axis=1)
    expected = n - len(np.unique(ids, axis=0))
    assert expected > 0
    assert _count_duplicated_ids(run, lumi, event) == expected
    unique_rows = np.unique(ids, axis=0)
    assert _count_duplicated_ids(*(unique_rows[:, i] for i in range(3))) == 0


def test_cli_runs_directory_fileset_and_prints_cutflow(make_nano, tmp_path: Path) -> None:
    make_nano(tmp_path / "in" / "bkg" / "x.root", 400, seed=5)
    make_nano(tmp_path / "in" / "sig" / "y.root", 300, seed=6)
    result = CliRunner().invoke(process, ["lepton", "--fileset", str(tmp_path / "in"), "--out",
                                          str(tmp_path / "s.zarr"), "--workers", "0", "--rmm-fraction", "0.5"])
    assert result.exit_code == 0, result.output
    assert "dataset bkg" in result.output and "lepton_pt" in result.output
    assert open_store(tmp_path / "s.zarr").datasets == ["bkg", "sig"]
    assert "Processing" not in result.output and "\u2501" not in result.output  # not a terminal: no bar


def test_progress_bar_only_when_asked_or_at_a_terminal(make_nano, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    """coffea's in-process executor draws its bar even with status=False; ours does not, and the
    default (None) draws only when standard output is a terminal (here: pytest's capture)."""
    fileset = {"bkg": [str(make_nano(tmp_path / "x.root", 300, seed=5))]}
    run_processor("lepton", fileset, tmp_path / "quiet.zarr", n_workers=0, chunksize=CHUNK)
    quiet = capfd.readouterr()
    run_processor("lepton", fileset, tmp_path / "shown.zarr", n_workers=0, chunksize=CHUNK, progress=True)
    shown = capfd.readouterr()
    assert "Processing" not in quiet.out + quiet.err and "Processing" in shown.out + shown.err


def test_real_files_into_one_store(real_data: Path, tmp_path: Path) -> None:
    # (v15 goes through the dijet store test; its 2656-branch header is slow to read)
    fileset = {"dy": [str(real_data / "nano_dy.root")], "physlite": [str(real_data / "PHYSLITE_example.root")]}
    summary = run_processor("lepton", fileset, tmp_path / "s.zarr", n_workers=0, progress=False)
    store = open_store(tmp_path / "s.zarr")
    assert store.datasets == ["dy", "physlite"]
    for ds in store.datasets:
        cut = store.attrs(ds)["cutflow"]
        assert cut["events"][0] == sum(cut["removed"]) + cut["events"][-1]
        assert store.n_events(ds) == cut["events"][-1] == store.read_rmm(ds).shape[0]
    assert summary.datasets["physlite"].n_events_out > 10


def test_connects_to_an_existing_scheduler(nano_files, dask_cluster, tmp_path: Path) -> None:
    """``scheduler="tcp://..."`` (the CLI's --scheduler) runs on that cluster; same rows as in-process."""
    fileset = {"one": [str(nano_files[2])]}
    address = dask_cluster.scheduler.address
    assert address.startswith("tcp://")
    remote = run_processor("dijet", fileset, tmp_path / "remote.zarr", scheduler=address, progress=False)
    local = run_processor("dijet", fileset, tmp_path / "local.zarr", n_workers=0, progress=False)
    assert remote.n_events_out == local.n_events_out > 0
    _assert_same_store(tmp_path / "remote.zarr", tmp_path / "local.zarr")
