"""Reading layer: fileset specs, input checks, and opening ROOT files as coffea NanoEvents.

A fileset maps dataset names to ROOT files, like coffea's::

    ttbar:                                  # a list of files (globs allowed) ...
      - gen/lepton/ttbar_*.root
    wprime:                                 # ... or coffea's mapping with metadata
      files: {gen/wprime/chunk_000.root: Events}
      metadata: {xsec_pb: 0.12}

Relative paths are resolved against the spec file's folder. Remote files are URLs (``root://`` over
XRootD through fsspec-xrootd, ``https://``, ``file://``, or any fsspec protocol) and are handed to
uproot exactly as written: they never pass through :class:`pathlib.Path`, which would collapse
``root://host//data`` into ``root:/host/data``. A directory of ROOT files is also a
fileset: one dataset per sub-directory, or the directory's own name. A JSON sidecar beside a file
(``X.root.json`` or ``X.json``, as the generator writes them) is kept as that file's metadata and
its cross-section / luminosity keys are lifted into the dataset metadata.

The schema is chosen from the tree name: ``Events`` -> NanoAOD (incl. v15), ``CollectionTree``
-> ATLAS PHYSLITE.
"""

from __future__ import annotations

import glob
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adsearch.errors import BadInputError, ConfigError
from adsearch.processors.normalisation import sum_of_weights_record
from adsearch.store_io import is_url

__all__ = [
    "InputFile", "Dataset", "load_fileset", "schema_for_tree", "open_events", "check_input_file",
    "to_coffea_fileset", "SCHEMAS", "is_url", "limit_files", "uproot_options", "no_trigger_reason",
]

#: tree name -> schema key
SCHEMAS = {"Events": "nanoaod", "CollectionTree": "physlite"}
#: dataset metadata key <- sidecar keys that may carry it (the generator writes the sample-level
#: ``sample_cross_section_pb`` and ``equivalent_lumi_pb`` into every chunk's sidecar).
def uproot_options(path: str) -> dict[str, Any]:
    """uproot.open options for ``path``: local files are memory-mapped. (uproot's default source,
    fsspec, hands every read to its event-loop thread and back: measured ~2 ms of thread hops per
    branch on a busy core, 28 branches per lepton unit.) URLs keep uproot's choice by protocol."""
    if is_url(path):
        return {}
    import uproot

    return {"handler": uproot.source.file.MemmapSource}


def _one_line(exc: BaseException) -> str:
    """An exception as one line: the server's message of an XRootD error spans several."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


_SIDECAR_KEYS = {"xsec_pb": ("xsec_pb", "sample_cross_section_pb"),
                 "luminosity_pb": ("luminosity_pb", "lumi_pb", "equivalent_lumi_pb")}


@dataclass(frozen=True)
class InputFile:
    """One ROOT file and the tree to read from it."""

    path: str
    treename: str = "Events"
    sidecar: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def schema(self) -> str:
        return schema_for_tree(self.treename, self.path)


@dataclass
class Dataset:
    """A named list of files of one schema, plus metadata (xsec_pb, lumi ...) for the store."""

    name: str
    files: list[InputFile]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        schemas = {f.schema for f in self.files}
        if len(schemas) > 1:
            raise ConfigError(f"dataset {self.name!r} mixes schemas {sorted(schemas)}")
        return schemas.pop() if schemas else "nanoaod"


def schema_for_tree(treename: str, path: str = "") -> str:
    """'nanoaod' or 'physlite' for a tree name; anything else is a bad input."""
    try:
        return SCHEMAS[treename]
    except KeyError:
        raise BadInputError(path, f"unknown tree {treename!r}: expected one of {sorted(SCHEMAS)}") from None


def _read_sidecar(path: str) -> dict[str, Any]:
    """The JSON sidecar beside a file (``X.root.json`` or ``X.json``), local or remote; {} if none."""
    stem = path[:-len(".root")] if path.endswith(".root") else path
    for candidate in dict.fromkeys((path + ".json", stem + ".json")):
        text = _read_text_if_exists(candidate)
        if text is not None:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadInputError(candidate, f"sidecar is not valid JSON: {exc}") from exc
            return data if isinstance(data, dict) else {}
    return {}


def _read_text_if_exists(path: str) -> str | None:
    if not is_url(path):
        return Path(path).read_text() if Path(path).is_file() else None
    import fsspec

    try:
        fs, inner = fsspec.core.url_to_fs(path)
        return fs.cat_file(inner).decode() if fs.isfile(inner) else None
    except (OSError, ValueError, NotImplementedError):  # an unreachable server: the input check reports it
        return None


def _expand(pattern: str, base: Path) -> list[str]:
    if is_url(pattern):  # kept as written; a glob is expanded by the URL's own file system
        if not any(ch in pattern for ch in "*?["):
            return [pattern]
        import fsspec

        fs, inner = fsspec.core.url_to_fs(pattern)
        matches = sorted(fs.unstrip_protocol(m) for m in fs.glob(inner))
        if not matches:
            raise ConfigError(f"fileset pattern {pattern!r} matches no file")
        return matches
    path = Path(pattern).expanduser()
    if not path.is_absolute():
        path = base / path
    if any(ch in pattern for ch in "*?["):
        matches = sorted(glob.glob(str(path)))
        if not matches:
            raise ConfigError(f"fileset pattern {pattern!r} matches no file")
        return matches
    return [str(path)]  # existence is checked later, with a clear error (or skipped)


def _dataset_metadata(files: list[InputFile], explicit: dict[str, Any]) -> dict[str, Any]:
    """Dataset metadata: explicit keys win; a sidecar value is lifted when every file agrees on it
    (files of different samples disagree; their sidecars stay with each file in the store)."""
    lifted: dict[str, Any] = {}
    for key, candidates in _SIDECAR_KEYS.items():
        for candidate in candidates:
            values = {json.dumps(f.sidecar.get(candidate)) for f in files}
            if len(values) == 1 and candidate in files[0].sidecar:
                lifted[key] = files[0].sidecar[candidate]
                break
    return {**lifted, **explicit}


def _detect_tree(path: str) -> str:
    """The tree a file holds (Events or CollectionTree); "Events" when it cannot be opened
    (the input check then reports the real problem)."""
    import uproot

    try:
        with uproot.open(path, **uproot_options(path)) as handle:
            names = {k.split(";")[0] for k in handle.keys(recursive=False)}
    except Exception:
        return "Events"
    return next((t for t in SCHEMAS if t in names), "Events")


def _parse_entry(name: str, entry: Any, base: Path) -> Dataset:
    treename_default: str | None = None
    metadata: dict[str, Any] = {}
    if isinstance(entry, dict):
        unknown = set(entry) - {"files", "metadata", "treename"}
        if unknown:
            raise ConfigError(f"fileset dataset {name!r}: unknown keys {sorted(unknown)}")
        treename_default = entry.get("treename", treename_default)
        metadata = dict(entry.get("metadata") or {})
        raw = entry.get("files")
    else:
        raw = entry
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, dict):
        pairs = [(p, tree or treename_default) for p, tree in raw.items()]
    elif isinstance(raw, list):
        pairs = [(p, treename_default) for p in raw]
    else:
        raise ConfigError(f"fileset dataset {name!r}: 'files' must be a list or a mapping path -> tree")
    files = [InputFile(p, tree or _detect_tree(p), _read_sidecar(p)) for pattern, tree in pairs
             for p in _expand(str(pattern), base)]
    if not files:
        raise ConfigError(f"fileset dataset {name!r} has no files")
    return Dataset(name, files, _dataset_metadata(files, metadata))


def _from_directory(directory: Path) -> dict[str, Any]:
    subdirs = sorted(d for d in directory.iterdir() if d.is_dir() and any(d.glob("*.root")))
    if subdirs:
        return {d.name: sorted(str(p) for p in d.glob("*.root")) for d in subdirs}
    files = sorted(str(p) for p in directory.glob("*.root"))
    if not files:
        raise ConfigError(f"{directory}: no .root files in this directory or its sub-directories")
    return {directory.name: files}


def load_fileset(source: str | Path | dict[str, Any]) -> list[Dataset]:
    """Datasets from a YAML/JSON spec file, a directory of ROOT files, or a dict (coffea format)."""
    if isinstance(source, dict):
        spec, base = source, Path.cwd()
    else:
        path = Path(source)
        if path.is_dir():  # the listed paths already start with ``path``: relative to the cwd
            spec, base = _from_directory(path), Path.cwd()
        elif path.is_file():
            if path.suffix == ".root":
                raise ConfigError(f"{path} is a ROOT file, not a fileset: pass a YAML/JSON fileset or a directory of ROOT files")
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                raise ConfigError(f"{path}: not a text file; a fileset is YAML or JSON") from None
            spec = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            base = path.parent
        else:
            raise ConfigError(f"fileset {path} not found")
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(f"fileset must be a non-empty mapping dataset -> files, got {type(spec).__name__}")
    from adsearch.processors.filesets import from_preprocessed, is_preprocessed

    if is_preprocessed(spec):  # coffea.dataset_tools.preprocess output
        spec = from_preprocessed(spec)
    datasets = []
    for name, entry in spec.items():
        name = str(name)
        if not name or "/" in name or name.startswith("_"):
            raise ConfigError(f"dataset name {name!r}: must be non-empty, without '/', not starting with '_'")
        datasets.append(_parse_entry(name, entry, base))
    return datasets


def limit_files(datasets: list[Dataset], max_files: int | None) -> list[Dataset]:
    """The first ``max_files`` files of every dataset (all when None), for a quick first pass."""
    if max_files is None:
        return datasets
    return [Dataset(d.name, d.files[:max_files], d.metadata) for d in datasets]


def to_coffea_fileset(datasets: list[Dataset]) -> dict[str, dict[str, Any]]:
    """coffea ``Runner`` fileset: {dataset: {"files": {path: tree}, "metadata": {...}}}."""
    return {
        d.name: {"files": {f.path: f.treename for f in d.files},
                 "metadata": {"dataset_schema": d.schema, **_scalar_metadata(d.metadata)}}
        for d in datasets
    }


def _scalar_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool))}


def no_trigger_reason(names: tuple[str, ...] | list[str]) -> str:
    """The one line a file without trigger information fails with (and how to run it anyway)."""
    shown = ", ".join(list(names)[:4]) + (", ..." if len(names) > 4 else "")
    return (f"no trigger information: none of the configured triggers ({shown}) is in the file; "
            "set `trigger: none` in the processor config to process it without a trigger")


def check_input_file(file: InputFile, required: tuple[tuple[str, ...], ...] = (),
                     trigger: tuple[str, ...] = ()) -> dict[str, Any]:
    """Open a file and check it can feed a processor; return its description for the store.

    ``required`` lists branch alternatives, e.g. ``(("MET_pt", "PFMET_pt"),)``: one of each group
    must exist; ``trigger``: trigger branches of which one must exist. Raises
    :class:`BadInputError` naming the file and the problem.
    """
    import uproot

    size = _file_size(file.path)
    if size == 0:
        raise BadInputError(file.path, "file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            handle = uproot.open(file.path, **uproot_options(file.path))
    except Exception as exc:  # uproot raises several types for corrupt headers
        what = "cannot open" if is_url(file.path) else "not a readable ROOT file"
        raise BadInputError(file.path, f"{what} ({_one_line(exc)})") from exc
    with handle:
        end = int(getattr(handle.file, "fEND", 0) or 0)
        if size is not None and end > size:
            raise BadInputError(file.path, f"truncated: the ROOT header says {end} bytes, the file has {size}")
        try:
            tree = handle[file.treename]
        except Exception as exc:
            raise BadInputError(file.path, f"cannot read tree {file.treename!r} "
                                           f"({type(exc).__name__}: {exc}); keys: {handle.keys()[:10]}") from exc
        n_entries = int(tree.num_entries)
        if n_entries == 0:
            raise BadInputError(file.path, f"tree {file.treename!r} is empty (0 entries)")
        keys = set(tree.keys(recursive=True))
        missing = [" or ".join(group) for group in required if not any(_has_branch(keys, b) for b in group)]
        if missing:
            raise BadInputError(file.path, f"missing branches: {', '.join(missing)}")
        if trigger and not any(_has_branch(keys, b) for b in trigger):
            raise BadInputError(file.path, no_trigger_reason([b.split("AuxDyn")[0].replace("AnalysisTrigMatch_", "")
                                                              for b in trigger]))
        uuid = str(handle.file.uuid)
        sumw = sum_of_weights_record(handle, file.path)  # read while the file is open
    # provenance: a local path made absolute, a URL exactly as given
    where = file.path if is_url(file.path) else str(Path(file.path).resolve())
    return {"path": where, "treename": file.treename, "size_bytes": size,
            "root_uuid": uuid, "n_entries": n_entries, "sidecar": file.sidecar, "sum_of_weights": sumw}


def _file_size(path: str) -> int | None:
    """Size in bytes (None where a server does not say); a missing file or an unreachable server
    is a BadInputError in one line that names the URL and carries the server's message."""
    if not is_url(path):
        if not Path(path).is_file():
            raise BadInputError(path, "file does not exist")
        return Path(path).stat().st_size
    import fsspec

    try:
        fs, inner = fsspec.core.url_to_fs(path)
        info = fs.info(inner)
    except FileNotFoundError as exc:
        raise BadInputError(path, f"file does not exist ({_one_line(exc)})") from exc
    except Exception as exc:  # the server's own message: no such file, permission, connection refused
        raise BadInputError(path, f"cannot open ({_one_line(exc)})") from exc
    if info.get("type", "file") != "file":
        raise BadInputError(path, f"not a file ({info.get('type')})")
    return None if info.get("size") is None else int(info["size"])


def _has_branch(keys: set[str], branch: str) -> bool:
    return branch in keys or any(k.endswith("." + branch) or k.endswith("/" + branch) for k in keys)


def open_events(path: str | Path, treename: str | None = None, entry_start: int | None = None,
                entry_stop: int | None = None) -> Any:
    """Open one ROOT file as coffea NanoEvents (virtual arrays), schema from the tree name.

    >>> events = open_events("../shared/data/real/nano_dy.root")   # doctest: +SKIP
    """
    import uproot
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory, PHYSLITESchema

    path = str(path)
    if treename is None:
        with uproot.open(path, **uproot_options(path)) as handle:
            names = {k.split(";")[0] for k in handle.keys(recursive=False)}
        treename = next((t for t in SCHEMAS if t in names), None)
        if treename is None:
            raise BadInputError(path, f"no Events or CollectionTree tree; keys: {sorted(names)[:10]}")
    schema = {"nanoaod": NanoAODSchema, "physlite": PHYSLITESchema}[schema_for_tree(treename, path)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        factory = NanoEventsFactory.from_root({path: treename}, schemaclass=schema, mode="virtual",
                                              uproot_options=uproot_options(path),
                                              entry_start=entry_start, entry_stop=entry_stop,
                                              metadata={"filename": path, "treename": treename,
                                                        "dataset_schema": schema_for_tree(treename)})
        return factory.events()
