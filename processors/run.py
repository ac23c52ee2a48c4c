"""Run a processor over a fileset into a feature store with coffea's Runner on Dask.

Stages: check every input file (clear error or recorded skip) -> coffea ``Runner`` with its
Dask executor (:class:`~adsearch.processors.executor.SpreadDaskExecutor`, so units spread evenly
over the workers; the in-process ``IterativeExecutor`` for ``n_workers=0``) where each work unit
writes and commits its own store part -> per dataset, consolidate the parts in fileset order
with chunk-aligned writes, check event-id uniqueness, attach provenance and the cutflow.
A rerun with the same inputs skips committed work units and complete datasets.

Workers without a shared disk send their finished parts to the client instead
(``write_mode``, :mod:`adsearch.processors.transfer`); the store may be a local folder or an
fsspec URL. ``max_files`` / ``max_chunks`` (coffea's ``maxchunks``) cut each dataset short for
a quick first pass.
"""

from __future__ import annotations

import importlib
import sys
import time
import uuid
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adsearch import store as zstore
from adsearch.cluster import dask_client, run_tasks
from adsearch.config import load_config
from adsearch.errors import BadInputError, ConfigError
from adsearch.processors.cutflow import Cutflow
from adsearch.processors.reading import (
    Dataset, check_input_file, is_url, limit_files, load_fileset, to_coffea_fileset, uproot_options,
)
from adsearch.processors.transfer import resolve_write_mode
from adsearch.provenance import config_hash, run_record

__all__ = ["ProcessSummary", "DatasetSummary", "run_processor", "PROCESSOR_KINDS", "DEFAULT_CHUNKSIZE"]

PROCESSOR_KINDS = ("lepton", "dijet", "hx")
#: Events per work unit: large enough to amortise coffea's per-chunk cost, small enough that
#: a worker's arrays for one unit stay well under a GiB.
DEFAULT_CHUNKSIZE = 100_000

_NANO_IDS = (("run",), ("luminosityBlock",), ("event",))
_REQUIRED: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("lepton", "nanoaod"): _NANO_IDS + tuple((f"{c}_{f}",) for c in ("Jet", "Electron", "Muon", "Photon")
                                              for f in ("pt", "eta", "phi", "mass") if (c, f) != ("Photon", "mass"))
    + (("Jet_btagDeepFlavB",), ("Electron_cutBased",), ("Electron_pfRelIso03_all",), ("Muon_mediumId",),
       ("Muon_pfRelIso04_all",), ("Photon_cutBased", "Photon_cutBasedBitmap"),
       ("MET_pt", "PFMET_pt", "PuppiMET_pt")),
    ("dijet", "nanoaod"): _NANO_IDS + tuple((f"FatJet_{f}",) for f in ("pt", "eta", "phi", "mass", "tau1", "tau2", "tau3", "tau4")),
    ("lepton", "physlite"): (("AnalysisJetsAuxDyn.pt",), ("AnalysisElectronsAuxDyn.pt",),
                             ("AnalysisMuonsAuxDyn.pt",), ("AnalysisPhotonsAuxDyn.pt",), ("EventInfoAuxDyn.eventNumber", "EventInfoAux.eventNumber")),
    ("dijet", "physlite"): (("AnalysisLargeRJetsAuxDyn.pt", "AnalysisAntiKt10UFOCSSKJetsAuxDyn.pt", "AnalysisAntiKt10UFOCSSKJetsAux.pt"),),
    ("hx", "nanoaod"): _NANO_IDS + tuple((f"FatJet_{f}",) for f in ("pt", "eta", "phi", "mass", "tau1", "tau2", "tau3"))
    + tuple((f"PFCands_{f}",) for f in ("pt", "eta", "phi", "mass")) + (("FatJetPFCands_jetIdx",), ("FatJetPFCands_pFCandsIdx",)),
    ("hx", "physlite"): (("AnalysisLargeRJetsAuxDyn.pt",),),  # read, then refused: no stored constituents
}


@dataclass
class DatasetSummary:
    """What one dataset contributed: events in/out, RMM rows, the cutflow, skipped files."""

    name: str
    n_files: int
    n_events_in: int
    n_events_out: int
    n_rmm: int
    cutflow: Cutflow
    skipped_files: dict[str, str] = field(default_factory=dict)
    resumed: bool = False
    n_units: int = 0  # work units in this run (0 when the whole dataset was already stored)
    n_units_resumed: int = 0  # of which loaded from committed parts instead of processed
    trigger: str = ""  # what the trigger step did (lepton: "hlt: ..." or "none (...)")

    @property
    def n_units_processed(self) -> int:
        return self.n_units - self.n_units_resumed


@dataclass
class ProcessSummary:
    """Result of :func:`run_processor` (the store itself holds the data)."""

    store: str
    kind: str
    datasets: dict[str, DatasetSummary]
    wall_s: float
    n_workers: int
    phase_s: dict[str, float] = field(default_factory=dict)  # check, process, consolidate (wall)
    write_mode: str = ""  # "workers" or "client": who wrote the store parts

    @property
    def n_events_in(self) -> int:
        return sum(d.n_events_in for d in self.datasets.values())

    @property
    def n_events_out(self) -> int:
        return sum(d.n_events_out for d in self.datasets.values())

    @property
    def skipped_files(self) -> dict[str, str]:
        return {p: r for d in self.datasets.values() for p, r in d.skipped_files.items()}

    @property
    def n_units_processed(self) -> int:
        return sum(d.n_units_processed for d in self.datasets.values())

    def table(self) -> str:
        return "\n\n".join(d.cutflow.table(f"dataset {d.name} ({d.n_files} files)"
                                           + (f"; trigger {d.trigger}" if d.trigger else ""))
                           for d in self.datasets.values())


def _processor_classes(kind: str) -> tuple[type, type]:
    if kind == "lepton":
        from adsearch.processors.lepton import LeptonConfig, LeptonProcessor
        return LeptonConfig, LeptonProcessor
    if kind == "dijet":
        from adsearch.processors.dijet import DijetConfig, DijetProcessor
        return DijetConfig, DijetProcessor
    if kind == "hx":
        from adsearch.processors.hx import HxConfig, HxProcessor
        return HxConfig, HxProcessor
    raise ConfigError(f"unknown processor {kind!r}; choose one of {PROCESSOR_KINDS}")


def _check_files(kind: str, datasets: list[Dataset], client: Any, absent: tuple[str, ...] = (),
                 trigger: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict[str, Any] | BadInputError]:
    """Describe every input file (size, ROOT uuid, entries) or the BadInputError it raises.

    ``absent``: NanoAOD collections the config declares absent (a skim): not required.
    ``trigger``: schema -> trigger branches of which a file must have one."""
    def check(path_tree: tuple[str, str, str]) -> dict[str, Any] | BadInputError:
        from adsearch.processors.reading import InputFile
        path, tree, schema = path_tree
        required = tuple(alts for alts in _REQUIRED[(kind, schema)]
                         if not any(a.split("_")[0] in absent for a in alts))
        try:
            return check_input_file(InputFile(path, tree), required, (trigger or {}).get(schema, ()))
        except BadInputError as exc:
            return exc

    jobs = [(f.path, f.treename, f.schema) for d in datasets for f in d.files]
    results = run_tasks(check, [(job,) for job in jobs], client)
    return {job[0]: result for job, result in zip(jobs, results)}


def _trigger_branches(kind: str, cfg: Any) -> dict[str, tuple[str, ...]]:
    """schema -> the trigger branches the input check asks for (lepton processor with triggers)."""
    if kind != "lepton":
        return {}
    from adsearch.processors.lepton import trigger_branches

    return {schema: trigger_branches(cfg, schema) for schema in ("nanoaod", "physlite")}


def _already_done(store: str | Path, dataset: Dataset, files: list[dict[str, Any]], chash: str) -> bool:
    """True when the store already holds this dataset from the same files and config."""
    if not zstore.is_store(store):
        return False
    root = zstore.open_zarr_group(store, "r")
    if dataset.name not in root or not root[dataset.name].attrs.get("committed"):
        return False
    attrs = root[dataset.name].attrs
    same_files = [(f["path"], f["root_uuid"]) for f in attrs.get("files", [])] == [(f["path"], f["root_uuid"]) for f in files]
    if same_files and attrs.get("config_hash") == chash:
        return True
    raise zstore.StoreError(
        f"{store}: dataset {dataset.name!r} already stored from other inputs or another config; "
        "write to a new store (stores are versioned per run)"
    )


def _executor(client: Any, progress: bool, receiver: Any = None) -> Any:
    from adsearch.processors.executor import InProcessExecutor, SpreadDaskExecutor

    if client is None:
        return InProcessExecutor(status=progress)
    return SpreadDaskExecutor(client=client, status=progress, retries=0, treereduction=8, receiver=receiver)


def _metadata_cache(datasets: list[Dataset], checked: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    """coffea's per-file metadata (entries, uuid) from our own input check, so the Runner does
    not open every file a second time (reading a NanoAOD TTree header with thousands of branches
    takes seconds)."""
    from coffea.processor.executor import FileMeta

    cache = {}
    for d, entry in zip(datasets, to_coffea_fileset(datasets).values()):
        for f in d.files:
            info = checked[f.path]
            cache[FileMeta(d.name, f.path, f.treename)] = {
                **entry["metadata"], "numentries": info["n_entries"], "uuid": uuid.UUID(info["root_uuid"]).bytes}
    return cache


def _run_coffea(kind_proc: Any, datasets: list[Dataset], client: Any, chunksize: int,
                store: str | Path, progress: bool, checked: dict[str, Any], *, write_mode: str = "workers",
                max_chunks: int | None = None) -> dict[str, Any]:
    from coffea import processor
    from coffea.nanoevents import NanoAODSchema, PHYSLITESchema

    from adsearch.processors.base import CollectOnlyCheckpointer, PartCheckpointer
    from adsearch.processors.transfer import ClientWriter

    on_client = write_mode == "client"
    kind_proc.send_parts = on_client
    receiver = ClientWriter(store) if on_client else None

    output: dict[str, Any] = {}
    # one Runner per schema and per kind of source: datasets of local files only are memory-mapped
    # (reading.uproot_options); a dataset with any URL keeps uproot's sources, so each dataset is
    # in exactly one Runner call and max_chunks keeps coffea's per-dataset meaning
    groups = [(name, schema, local) for name, schema in (("nanoaod", NanoAODSchema), ("physlite", PHYSLITESchema))
              for local in (True, False)]
    for schema_name, schema, local in groups:
        subset = [d for d in datasets if d.schema == schema_name
                  and all(not is_url(f.path) for f in d.files) == local]
        if not subset:
            continue
        checkpointer = CollectOnlyCheckpointer() if on_client else PartCheckpointer(str(store))
        runner = processor.Runner(executor=_executor(client, progress, receiver), schema=schema,
                                  chunksize=chunksize, checkpointer=checkpointer, skipbadfiles=False,
                                  metadata_cache=_metadata_cache(subset, checked), maxchunks=max_chunks)
        options = uproot_options(subset[0].files[0].path) if local else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = runner(to_coffea_fileset(subset), kind_proc, uproot_options=options)
        output.update(result or {})
    return output


def _order_units(dataset: Dataset, units: dict[str, dict[str, Any]]) -> list[zstore.UnitRecord]:
    """Fileset order, then entry range: the store's row order is independent of scheduling."""
    position = {f.path: i for i, f in enumerate(dataset.files)}
    records = [zstore.UnitRecord(**u["record"]) for u in units.values()]
    return sorted(records, key=lambda r: (position.get(r.filename, len(position)), r.entrystart))


def _check_unique_ids(store: str | Path, dataset: str) -> None:
    group = zstore.open_zarr_group(store, "r")[dataset]
    if "event" not in group.array_keys():
        return
    run, lumi, event = (group[n][:] for n in ("run", "luminosityBlock", "event"))
    n_duplicated = _count_duplicated_ids(run, lumi, event)
    if n_duplicated:
        raise zstore.StoreError(f"{store}/{dataset}: {n_duplicated} duplicated (run, lumi, event) ids; "
                                "the same events were given twice (duplicate files in the fileset?)")


def _count_duplicated_ids(run: np.ndarray, lumi: np.ndarray, event: np.ndarray) -> int:
    """Rows whose (run, lumi, event) repeats an earlier row's. A lexsort with the event number as
    the primary key and one comparison of neighbours: ~6x faster than ``np.unique(axis=0)``,
    which sorts rows as opaque byte strings."""
    if len(event) < 2:
        return 0
    order = np.lexsort((lumi, run, event))
    same = np.ones(len(order) - 1, dtype=bool)
    for values in (event, run, lumi):
        ordered = values[order]
        same &= ordered[1:] == ordered[:-1]
    return int(np.count_nonzero(same))


def run_processor(
    kind: str,
    fileset: str | Path | dict[str, Any],
    out_store: str | Path,
    *,
    config: str | Path | dict[str, Any] | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    chunksize: int = DEFAULT_CHUNKSIZE,
    skip_bad_files: bool = False,
    rmm_fraction: float = 1.0,
    seed: int = 0,
    client: Any = None,
    rmm_codec: str = zstore.DEFAULT_RMM_CODEC,
    keep_parts: bool = False,
    progress: bool | None = None,
    write_mode: str = "auto",
    max_files: int | None = None,
    max_chunks: int | None = None,
) -> ProcessSummary:
    """Process ``fileset`` with the ``kind`` ("lepton"/"dijet") processor into ``out_store``.

    ``client``: an existing ``distributed.Client`` (else one is made from ``scheduler`` or an
    embedded cluster of ``n_workers`` processes; ``n_workers=0`` runs in this process).
    ``out_store``: a folder or an fsspec URL. ``write_mode``: "workers" write their parts into
    the store, "client" receives them (workers without a shared disk), "auto" probes which.
    ``max_files`` / ``max_chunks``: only the first files / work units of every dataset.
    ``progress``: coffea's progress bars; None (default) draws them only when standard output
    is a terminal (never into a log or a pipe).

    >>> summary = run_processor("lepton", "fileset.yaml", "run1.zarr")   # doctest: +SKIP
    """
    config_model, processor_class = _processor_classes(kind)
    cfg = load_config(config_model, config)
    if progress is None:
        progress = sys.stdout.isatty()
    if not 0.0 < rmm_fraction <= 1.0:
        raise ConfigError(f"rmm_fraction must be in (0, 1], got {rmm_fraction}")
    if chunksize < 1:
        raise ConfigError(f"chunksize must be >= 1, got {chunksize}")
    if rmm_codec not in zstore.RMM_CODECS:
        raise ConfigError(f"unknown RMM codec {rmm_codec!r}; choose one of {sorted(zstore.RMM_CODECS)}")
    datasets = limit_files(load_fileset(fileset), max_files)
    store = zstore.store_target(out_store)
    settings = {"processor": kind, "config": cfg.model_dump(mode="json"), "chunksize": chunksize,
                "rmm_fraction": rmm_fraction, "seed": seed, "rmm_codec": rmm_codec}
    for name, limit in (("max_files", max_files), ("max_chunks", max_chunks)):
        if limit is not None:  # a partial first pass is not the full dataset: another config hash
            if limit < 1:
                raise ConfigError(f"{name} must be >= 1, got {limit}")
            settings[name] = limit
    chash = config_hash(settings)
    start = time.perf_counter()
    if client is not None:
        context = nullcontext(client)
    elif scheduler is None and n_workers == 0:
        context = nullcontext(None)
    else:
        context = dask_client(scheduler, n_workers=max(n_workers, 1))
    phases: dict[str, float] = {}
    with context as active:
        tick = time.perf_counter()
        checked = _check_files(kind, datasets, active, tuple(getattr(cfg, "absent_collections", ())),
                               _trigger_branches(kind, cfg))
        phases["check"] = time.perf_counter() - tick
        bad = {p: r for p, r in checked.items() if isinstance(r, BadInputError)}
        if bad and not skip_bad_files:
            first = next(iter(bad.values()))
            raise BadInputError(first.path, first.reason + (f" (and {len(bad) - 1} more bad files)" if len(bad) > 1 else ""))
        zstore.create_store(store, run_record("process", settings, store_format="adsearch-zarr-1",
                                              n_workers=n_workers, scheduler=scheduler))
        todo, summaries = [], {}
        for d in datasets:
            good = [f for f in d.files if f.path not in bad]
            files = [checked[f.path] for f in good]
            if _already_done(store, d, files, chash):
                summaries[d.name] = _summary_from_store(store, d)
                continue
            if good:
                todo.append(Dataset(d.name, good, d.metadata))
        proc = processor_class(str(store), cfg, rmm_fraction=rmm_fraction, seed=seed, rmm_codec=rmm_codec)
        mode = resolve_write_mode(write_mode, active, store)
        tick = time.perf_counter()
        output = _run_coffea(proc, todo, active, chunksize, store, progress, checked, write_mode=mode,
                             max_chunks=max_chunks) if todo else {}
        phases["process"] = time.perf_counter() - tick
        tick = time.perf_counter()
        for d in datasets:
            if d.name in summaries:
                continue
            summaries[d.name] = _finish_dataset(store, d, output.get(d.name, {"units": {}, "bad_files": {}}),
                                                checked, bad, skip_bad_files, settings, chash, rmm_codec,
                                                submit=active.submit if active is not None and mode == "workers" else None,
                                                keep_parts=keep_parts, kind=kind)
        phases["consolidate"] = time.perf_counter() - tick
    return ProcessSummary(str(store), kind, summaries, time.perf_counter() - start, n_workers, phases,
                          write_mode=mode)


def _finish_dataset(store: Path, d: Dataset, out: dict[str, Any], checked: dict[str, Any],
                    bad: dict[str, BadInputError], skip_bad_files: bool, settings: dict[str, Any],
                    chash: str, rmm_codec: str, *, submit: Any, keep_parts: bool, kind: str) -> DatasetSummary:
    """Handle files found bad while processing, then consolidate, check ids and describe."""
    late_bad = dict(out.get("bad_files", {}))
    if late_bad and not skip_bad_files:
        path, reason = next(iter(late_bad.items()))
        raise BadInputError(path, reason)
    skipped = {p: bad[p].reason for p in (f.path for f in d.files) if p in bad}
    skipped.update(late_bad)
    units = {k: u for k, u in out.get("units", {}).items() if u["record"]["filename"] not in late_bad}
    ordered = _order_units(d, units)
    cutflow = Cutflow(importlib.import_module(f"adsearch.processors.{kind}").CUTFLOW_STEPS)
    for record in ordered:  # a fixed order: float sums do not depend on scheduling
        cutflow = cutflow + Cutflow.from_dict(units[record.key]["cutflow"])
    cutflow.check()
    files = [checked[f.path] for f in d.files if f.path not in skipped]
    attrs = {"files": files, "metadata": d.metadata, "cutflow": cutflow.to_dict(), "skipped_files": skipped,
             "processor": kind, "config_hash": chash, "settings": settings,
             "n_events_in": int(cutflow.passed[0])}
    if kind == "lepton":
        from adsearch.processors.lepton import LeptonConfig, trigger_description
        from adsearch.processors.rmm import RMMConfig, feature_names
        attrs["rmm_features"] = feature_names(RMMConfig(**settings["config"]["rmm"]))
        attrs["trigger"] = trigger_description(LeptonConfig(**settings["config"]))
    from adsearch.processors.normalisation import combine_records

    attrs["sum_of_weights"] = combine_records([f.get("sum_of_weights", {"error": f"{f['path']}: not recorded"})
                                               for f in files])
    n_out = zstore.consolidate_dataset(store, d.name, ordered, attrs, submit=submit, rmm_codec=rmm_codec)
    _check_unique_ids(store, d.name)
    if not keep_parts:
        zstore.remove_parts(store, d.name)
    return DatasetSummary(d.name, len(files), int(cutflow.passed[0]), n_out, sum(u.n_rmm for u in ordered),
                          cutflow, skipped, n_units=len(units),
                          n_units_resumed=sum(bool(u.get("resumed")) for u in units.values()),
                          trigger=str(attrs.get("trigger", "")))


def _summary_from_store(store: Path, d: Dataset) -> DatasetSummary:
    attrs = zstore.open_zarr_group(store, "r")[d.name].attrs
    cutflow = Cutflow.from_dict(attrs["cutflow"])
    return DatasetSummary(d.name, len(attrs["files"]), int(attrs["n_events_in"]), int(attrs["n_events"]),
                          int(attrs["n_rmm"]), cutflow, dict(attrs.get("skipped_files", {})), resumed=True,
                          trigger=str(attrs.get("trigger", "")))
