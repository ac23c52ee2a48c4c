"""``run_search``: one run of a configured search, stage by stage, each stage cached.

Stages: generate -> process -> train -> score -> search -> report (train and score only for
the autoencoder search; the dijet searches train inside their search stage). Each stage's key is
a content hash of its own settings, of the keys of the stages it reads (for inputs given by
path, of the files' contents) and of the code it runs (train, search, report: the source of the
modules in :data:`TRAIN_CODE`, :data:`SEARCH_CODE`, :data:`REPORT_CODE`; process: the adsearch
version), so a stage reruns exactly when something it depends on changed.
``run_dir/stages/<stage>.json`` records the key, the state and the time; a stage killed half-way
resumes with its key unchanged (generated chunks and committed store parts are kept), and one whose
key changed starts from empty outputs. ``start`` reruns a stage and everything after it; ``only``
runs one stage alone (the stages before it must be complete).

The run directory keeps ``config.resolved.yaml`` (every default filled in), and ``run.json``:
versions, seeds, input checksums, stage keys and timings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import yaml

from adsearch.errors import AdsearchError, ConfigError
from adsearch.provenance import config_hash, file_sha256, package_versions, write_json
from adsearch.runner_config import RunConfig, SampleSpec, search_entry

__all__ = ["STAGES", "StageOutcome", "RunOutcome", "run_search", "sample_folder", "process_tree_cpu_s", "code_sha256", "REPORT_CODE", "TRAIN_CODE", "SEARCH_CODE", "tree_sha256"]

STAGES = ("generate", "process", "train", "score", "search", "report")


@dataclass
class StageOutcome:
    """What happened to one stage: "ran", "cached", "not used" or "skipped" (outside --only).

    ``seconds`` is wall time; ``cpu_s`` the CPU seconds of this process and every worker process
    under it (on a shared machine wall time inflates, CPU time does not); ``load`` the 1-minute
    load average at the stage's start and end."""

    stage: str
    state: str
    key: str
    seconds: float = 0.0
    note: str = ""
    cpu_s: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)


@dataclass
class RunOutcome:
    """A run's stages and, per search pass, the report's headline."""

    run_dir: Path
    search: str
    stages: list[StageOutcome] = field(default_factory=list)
    passes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def report(self) -> Path:
        return self.run_dir / "report" / "index.html"

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": str(self.run_dir), "search": self.search, "report": str(self.report),
                "stages": [s.__dict__ for s in self.stages], "passes": self.passes}


def tree_sha256(path: str | Path) -> str:
    """Content hash of a file or of every file below a folder (names and bytes, sorted)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(file_sha256(item).encode())
    return digest.hexdigest()


def process_tree_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process and all processes under it: the
    living ones (the embedded cluster's workers, the generator's pool) and the ended ones their
    parents collected. The difference across a stage is the stage's CPU time; a remote cluster's
    workers are not counted."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.Error:  # ended between listing and asking
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


#: The modules whose code writes a report: a change in any of them makes cached reports stale.
REPORT_CODE = ("adsearch.report", "adsearch.stats.plots", "adsearch.stats.likelihood")
#: The code a trained model depends on (the autoencoder's train and score stages).
TRAIN_CODE = ("adsearch.models",)
#: The code a search stage runs: the dijet searches train their networks inside it, then fit.
SEARCH_CODE = ("adsearch.models", "adsearch.searches", "adsearch.stats")


def code_sha256(modules: tuple[str, ...] = REPORT_CODE) -> str:
    """Content hash of the source files of ``modules`` (a package: every .py file below it).
    Part of the train, search and report stages' keys, so a cached result is recomputed when the
    code that made it changes, within one adsearch version too (a bug fix in a fit must not be
    hidden by a cache hit). Processing, the expensive stage, is keyed by the adsearch version.

    >>> len(code_sha256()) == 64, code_sha256(SEARCH_CODE) != code_sha256(TRAIN_CODE)
    (True, True)
    """
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise AdsearchError(f"report code {name!r} not found")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for f in files:
            digest.update(f"{name}/{f.relative_to(origin.parent)}".encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()


def _key(*parts: Any) -> str:
    return config_hash({"parts": list(parts)})


class _Run:
    """The state of one run: config, folders, the client, stage keys and records."""

    def __init__(self, config: RunConfig, out: Path, cluster: Any, progress: bool, echo: Callable[[str], None],
                 sample_cache: Path | None = None) -> None:
        self.config, self.out, self.cluster, self.progress, self.echo = config, out, cluster, progress, echo
        self.sample_cache = sample_cache
        self.entry = search_entry(config.search)
        self.keys: dict[str, str] = {}
        self.inputs: dict[str, str] = {}
        self.client: Any = None

    # -- folders
    @property
    def store(self) -> Path:
        return self.out / "store.zarr"

    @property
    def fileset(self) -> Path:
        return self.out / "fileset.yaml"

    def outputs(self, stage: str) -> list[Path]:
        return {"generate": [self.out / "samples", self.fileset], "process": [self.store],
                "train": [self.out / "autoencoder"], "score": [], "search": [self.out / "search"],
                "report": [self.out / "report"]}[stage]

    def outputs_present(self, stage: str) -> bool:
        """A generated fileset's files still exist (a shared sample cache may have been cleared)."""
        if stage != "generate" or self.config.generate is None:
            return True
        if not self.fileset.is_file():
            return False
        listed = yaml.safe_load(self.fileset.read_text()) or {}
        return all(Path(f).is_file() for d in listed.values() for f in d["files"])

    def record_path(self, stage: str) -> Path:
        return self.out / "stages" / f"{stage}.json"

    def record(self, stage: str) -> dict[str, Any]:
        path = self.record_path(stage)
        return json.loads(path.read_text()) if path.is_file() else {}

    def write_record(self, stage: str, **fields: Any) -> None:
        self.record_path(stage).parent.mkdir(parents=True, exist_ok=True)
        write_json(self.record_path(stage), {"stage": stage, "key": self.keys[stage],
                                             "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                             **fields})

    # -- keys
    def compute_keys(self) -> None:
        c = self.config
        if c.generate is not None:
            self.keys["generate"] = _key("generate", c.generate.model_dump(), c.seed)
            source = self.keys["generate"]
        elif c.fileset is not None:
            self.inputs["fileset"] = tree_sha256(c.fileset) if "://" not in c.fileset else c.fileset
            self.keys["generate"] = _key("fileset", self.inputs["fileset"])
            source = self.keys["generate"] + self._fileset_files_hash(c.fileset)
        else:
            self.inputs["store"] = tree_sha256(c.store) if "://" not in str(c.store) else str(c.store)
            self.keys["generate"] = _key("store", self.inputs["store"])
            source = self.keys["generate"]
        from adsearch import __version__

        self.keys["process"] = _key("process", self.entry.processor, c.process.model_dump(), c.seed, source,
                                    __version__)
        self.keys["train"] = _key("train", c.train, c.seed, self.keys["process"], code_sha256(TRAIN_CODE))
        self.keys["score"] = _key("score", self.keys["train"])
        upstream = self.keys["score"] if self.entry.trains_autoencoder else self.keys["process"]
        self.keys["search"] = _key("search", c.search, {p: c.pass_config(p) for p in c.passes}, upstream,
                                   code_sha256(SEARCH_CODE))
        self.keys["report"] = _key("report", code_sha256(REPORT_CODE), self.keys["search"])

    def _fileset_files_hash(self, fileset: str) -> str:
        """Checksums of the ROOT files a local fileset lists (remote files: their URLs)."""
        from adsearch.processors.reading import load_fileset

        files = sorted(str(f.path) for d in load_fileset(fileset) for f in d.files)
        for f in files:
            self.inputs[f] = f if "://" in f else file_sha256(f)
        return _key(files, [self.inputs[f] for f in files])


def _stage_generate(run: _Run) -> str:
    from adsearch.generator import generate_sample

    c = run.config
    if c.generate is None:
        return "inputs given: " + ("fileset" if c.fileset else "store")
    made, shared = {}, 0
    for i, (name, spec) in enumerate(c.generate.samples.items()):
        folder = sample_folder(c.generate.kind, spec, c.seed + i, run.sample_cache) or run.out / "samples" / name
        shared += run.sample_cache is not None and any(folder.glob("*.sample.json"))
        made[name] = generate_sample(c.generate.kind, spec.events, c.seed + i, folder,
                                     signal=spec.signal, workers=max(1, _n_workers(run)), progress=run.progress,
                                     **spec.options)
    run.fileset.write_text(yaml.safe_dump({
        name: {"files": {str(Path(p).resolve()): "Events" for p in s.files},
               "metadata": {"luminosity_pb": float(s.luminosity_pb), "xsec_pb": float(s.cross_section_pb)}}
        for name, s in made.items()}))
    reused = f" ({shared} found in the sample cache)" if shared else ""
    return f"{sum(s.n_events for s in made.values())} events in {len(made)} samples{reused}"


def sample_folder(kind: str, spec: SampleSpec, seed: int, cache: Path | None) -> Path | None:
    """Where a generated sample lives in the shared ``cache``: one folder per (kind, events,
    signal, options, seed), whatever the dataset is called, so runs asking for the same sample
    (the demo's CWoLa, weak and hx QCD) generate it once; the generator resumes a partial one.
    None without a cache.

    >>> a = sample_folder("dijet", SampleSpec(events=10), 42, Path("cache"))
    >>> a == sample_folder("dijet", SampleSpec(events=10), 42, Path("cache")), a.name[:12]
    (True, 'dijet_sm_s42')
    >>> a == sample_folder("dijet", SampleSpec(events=10), 43, Path("cache"))
    False
    """
    if cache is None:
        return None
    from adsearch.config import load_config
    from adsearch.generator.sample import GeneratorOptions, wants_constituents

    # every generator option with its default filled in (a changed default is another sample);
    # progress does not change the events
    resolved = load_config(GeneratorOptions, dict(spec.options))
    options = {**resolved.model_dump(exclude={"progress"}), "constituents": wants_constituents(kind, resolved)}
    name = f"{spec.signal or kind + '_sm'}_s{seed}"
    return Path(cache) / f"{name}_{_key(kind, spec.events, spec.signal, options, seed)[:12]}"


def _n_workers(run: _Run) -> int:
    return int(getattr(run.cluster, "n_workers", 2) or 1)


def _stage_process(run: _Run) -> str:
    from adsearch.processors.run import run_processor

    c = run.config
    if c.store is not None:
        if run.entry.trains_autoencoder:
            # training and scoring add columns: they go to the run's copy, never into the input
            shutil.copytree(c.store, run.store)
            return f"copied {c.store} (scores are written into the run's copy)"
        return f"store given: {c.store}"
    fileset = c.fileset if c.fileset is not None else run.fileset
    options = {"seed": c.seed, "progress": run.progress, **c.process.options}
    if run.client is None:
        options["n_workers"] = 0  # in this process, as the cluster spec asked (--workers 0)
    summary = run_processor(run.entry.processor, fileset, run.store, client=run.client, **options)
    return ", ".join(f"{d.name} {d.n_events_out}/{d.n_events_in}" for d in summary.datasets.values()) + " events kept"


def _store_path(run: _Run) -> Path:
    c = run.config
    return Path(c.store) if c.store is not None and not run.entry.trains_autoencoder else run.store


def _stage_train(run: _Run) -> str:
    from adsearch.config import load_config
    from adsearch.models import AutoencoderConfig, train_autoencoder

    config = load_config(AutoencoderConfig, {"seed": run.config.seed, **run.config.train})
    dataset = run.config.search_config.get("data_dataset", "background")  # trained on the data, as published
    trained = train_autoencoder(run.store, config, run.out / "autoencoder", dataset=dataset, client=run.client)
    return f"model {trained.model_path.relative_to(run.out)}"


def _stage_score(run: _Run) -> str:
    from adsearch.models import score_events
    from adsearch.models.retrains import score_retrains
    from adsearch.models.training import MODEL_FILENAME

    model = run.out / "autoencoder" / MODEL_FILENAME
    score_events(run.store, model, client=run.client)
    from adsearch.models.retrains import retrain_model_paths

    score_retrains(run.store, model.parent, client=run.client)
    return f"ln(MSE) of every event by the model and {len(retrain_model_paths(model.parent))} kept retrain(s)"


def _stage_search(run: _Run) -> str:
    c = run.config
    model = run.entry.load("config")
    for name in c.passes:
        run.echo(f"   pass {name}")
        run.entry.call(_store_path(run), model.model_validate(c.pass_config(name)), run.out / "search" / name, run.client)
    return f"{len(c.passes)} pass(es): {', '.join(c.passes)}"


def _stage_report(run: _Run) -> str:
    from adsearch.report import make_report
    from adsearch.store import open_store

    store = open_store(_store_path(run))
    cutflows = {d: store.attrs(d)["cutflow"] for d in store.datasets if "cutflow" in store.attrs(d)}
    provenance = json.loads((run.out / "run.json").read_text())
    pages = []
    for name in run.config.passes:
        make_report(run.config.search, run.out / "search" / name, run.out / "report" / name, cutflows=cutflows,
                    provenance={**provenance, "pass": name, "search_config": run.config.pass_config(name)},
                    client=run.client)
        pages.append(name)
    links = "".join(f'<li><a href="{n}/index.html">{n}</a></li>' for n in pages)
    (run.out / "report" / "index.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>adsearch run: {run.config.search}</title></head>"
        f"<body><h1>adsearch run: {run.config.search} search</h1><ul>{links}</ul>"
        f"<p><a href='../run.json'>run.json</a> · <a href='../config.resolved.yaml'>resolved config</a></p></body></html>\n")
    return f"report/index.html ({len(pages)} pages)"


_RUNNERS: dict[str, Callable[[_Run], str]] = {
    "generate": _stage_generate, "process": _stage_process, "train": _stage_train, "score": _stage_score,
    "search": _stage_search, "report": _stage_report,
}
_NEEDS_CLIENT = {"process", "train", "score", "search", "report"}  # the report draws its figures on the workers


def _used(run: _Run, stage: str) -> bool:
    return stage not in ("train", "score") or run.entry.trains_autoencoder


def _headlines(run: _Run) -> dict[str, dict[str, Any]]:
    from adsearch.report.records import plain_title

    out = {}
    for name in run.config.passes:
        path = run.out / "report" / name / "report.json"
        if not path.is_file():
            continue
        index = json.loads(path.read_text())
        best = max((s for s in index["spectra"] if s["z"] is not None), key=lambda s: s["z"], default=None)
        out[name] = {"largest_z": None if best is None else round(best["z"], 2),
                     "where": None if best is None else plain_title(best["title"]),
                     "z_label": None if best is None else best["z_label"],
                     "spectra": len(index["spectra"]), "fitted": sum(s["status"] == "ok" for s in index["spectra"]),
                     "limit_scans": len(index["limits"]), "report": str(path.parent / "index.html")}
    return out


def run_search(
    config: RunConfig, out_dir: str | Path, *, cluster: Any = None, start: str | None = None, only: str | None = None,
    progress: bool = False, echo: Callable[[str], None] = lambda _: None, sample_cache: str | Path | None = None,
) -> RunOutcome:
    """Run (or resume) every stage of ``config`` into ``out_dir``; returns what each stage did.

    ``cluster``: a :class:`~adsearch.cluster_spec.ClusterSpec` (default: an embedded 2-worker
    cluster). ``start``: rerun this stage and all after it; ``only``: run just this stage.

    >>> from adsearch.runner_config import RunConfig
    >>> outcome = run_search(RunConfig(search="cwola", store="in.zarr"), "out", only="nothing")  # doctest: +SKIP
    """
    from adsearch.cluster import cluster_client
    from adsearch.cluster_spec import ClusterSpec

    for name, value in (("--from", start), ("--only", only)):
        if value is not None and value not in STAGES:
            raise ConfigError(f"{name} {value!r}: not a stage; stages are {', '.join(STAGES)}")
    if start and only:
        raise ConfigError("give --from or --only, not both")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cluster = cluster if cluster is not None else ClusterSpec.parse("local")
    run = _Run(config, out, cluster, progress, echo, None if sample_cache is None else Path(sample_cache).resolve())
    run.compute_keys()
    (out / "config.resolved.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    write_json(out / "run.json", {
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "search": config.search,
        "seed": config.seed, "config_hash": config_hash(config.model_dump(mode="json")), "versions": package_versions(),
        "command": " ".join(sys.argv),
        "inputs": run.inputs, "stage_keys": run.keys, "cluster": str(getattr(cluster, "kind", cluster)),
    })
    outcome = RunOutcome(out, config.search)
    forced = set(STAGES[STAGES.index(start):]) if start else ({only} if only else set())
    needs_client = any(_used(run, s) and s in _NEEDS_CLIENT for s in STAGES if not only or s == only)
    with cluster_client(cluster) if needs_client else _nothing() as client:
        run.client = client
        for stage in STAGES:
            key = run.keys[stage]
            if not _used(run, stage):
                outcome.stages.append(StageOutcome(stage, "not used", key, note=f"the {config.search} search trains in its search stage"))
                continue
            record = run.record(stage)
            done = record.get("key") == key and record.get("state") == "done" and run.outputs_present(stage)
            if only and stage != only:
                if STAGES.index(stage) < STAGES.index(only) and not done:
                    raise AdsearchError(f"--only {only}: stage {stage} has not completed with the current config; "
                                        f"run without --only first")
                outcome.stages.append(StageOutcome(stage, "cached" if done else "skipped", key))
                continue
            if done and stage not in forced:
                outcome.stages.append(StageOutcome(stage, "cached", key, record.get("seconds", 0.0), record.get("note", ""),
                                                   record.get("cpu_s", 0.0), tuple(record.get("load", (0.0, 0.0)))))
                echo(f"== {stage}: cached ({key})")
                continue
            if record.get("key") != key or stage in forced:
                for path in run.outputs(stage):  # stale or forced: start from empty outputs
                    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            echo(f"== {stage}")
            run.write_record(stage, state="running")
            t0, cpu0, load0 = time.perf_counter(), process_tree_cpu_s(), os.getloadavg()[0]
            note = _RUNNERS[stage](run)
            seconds, cpu_s = time.perf_counter() - t0, process_tree_cpu_s() - cpu0
            load = (round(load0, 2), round(os.getloadavg()[0], 2))
            run.write_record(stage, state="done", seconds=seconds, note=note, cpu_s=cpu_s, load=load)
            outcome.stages.append(StageOutcome(stage, "ran", key, seconds, note, cpu_s, load))
    outcome.passes = _headlines(run)
    write_json(out / "run.json", {**json.loads((out / "run.json").read_text()),
                                  "stages": [s.__dict__ for s in outcome.stages], "passes": outcome.passes})
    return outcome


class _nothing:
    """A context manager yielding None (no client for stages that need none)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None
