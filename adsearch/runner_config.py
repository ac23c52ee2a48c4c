"""``adsearch run CONFIG.yaml``'s configuration: which search, its inputs, and each stage's settings.

One YAML file describes a whole run. Inputs are exactly one of ``generate`` (samples made here),
``fileset`` (ROOT files, e.g. real NanoAOD or PHYSLITE) or ``store`` (an already processed store).
``search_config`` is the search's own config (validated by its model); ``passes`` runs the search
several times with keys of ``search_config`` overridden (e.g. background only and injected).
Relative paths are taken relative to the config file.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import Field, ValidationError, model_validator

from adsearch.config import StrictModel, describe_errors
from adsearch.errors import ConfigError

__all__ = ["SampleSpec", "GenerateSpec", "ProcessSpec", "RunConfig", "SearchEntry", "SEARCHES", "search_entry",
           "load_run_config", "validate_search_config"]


@dataclass(frozen=True)
class SearchEntry:
    """How the runner calls one search: its processor, config model and Python entry point."""

    processor: str
    config: str  # "module:attribute" of the search's pydantic config
    run: str  # "module:attribute" of the search function
    trains_autoencoder: bool = False
    store_first: bool = True  # run(store, config, out) rather than run(store, out, config)

    def load(self, attr: str) -> Any:
        module, name = getattr(self, attr).split(":")
        return importlib.import_module(module).__dict__[name]

    def call(self, store: Path, config: Any, out: Path, client: Any) -> Any:
        run: Callable[..., Any] = self.load("run")
        if self.store_first:
            return run(store, config, out, client=client)
        return run(store, out, config, client=client)


#: The searches ``adsearch run`` knows; one whose package is absent is refused with a clear line.
SEARCHES: dict[str, SearchEntry] = {
    "autoencoder": SearchEntry("lepton", "adsearch.searches.autoencoder.config:AESearchConfig",
                               "adsearch.searches.autoencoder.pipeline:run_ae_search", trains_autoencoder=True,
                               store_first=False),
    "cwola": SearchEntry("dijet", "adsearch.searches.cwola.config:CWoLaSearchConfig",
                         "adsearch.searches.cwola.pipeline:cwola_hunt"),
    "weak": SearchEntry("dijet", "adsearch.searches.weak.config:WeakSearchConfig",
                        "adsearch.searches.weak.pipeline:weak_search"),
    "hx": SearchEntry("hx", "adsearch.searches.hx.config:HxSearchConfig", "adsearch.searches.hx.pipeline:hx_search"),
}


def search_entry(kind: str) -> SearchEntry:
    """The entry of ``kind``, checking that its package is installed."""
    entry = SEARCHES[kind]
    try:
        entry.load("config")
        entry.load("run")
    except (ImportError, KeyError) as exc:
        raise ConfigError(f"search {kind!r} is not available in this adsearch ({exc})") from exc
    return entry


class SampleSpec(StrictModel):
    """One generated sample: events, the signal benchmark (None: the SM background) and the
    generator's options (``pthat_min_gev``, ``chunk_events``, ``pythia_settings``, ...)."""

    events: int = Field(gt=0)
    signal: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class GenerateSpec(StrictModel):
    """Samples generated with Pythia 8 + FastJet; the dataset names are the keys of ``samples``."""

    kind: Literal["lepton", "dijet"]
    samples: dict[str, SampleSpec] = Field(min_length=1)


class ProcessSpec(StrictModel):
    """Keyword arguments of :func:`adsearch.processors.run_processor` (``config``, ``rmm_fraction``,
    ``chunksize``, ``skip_bad_files``, ``max_files`` ...)."""

    options: dict[str, Any] = Field(default_factory=dict)


class RunConfig(StrictModel):
    """A whole run: search, inputs, stage settings, passes. See the module docstring."""

    search: Literal["autoencoder", "cwola", "weak", "hx"]
    seed: int = Field(42, ge=0)
    generate: GenerateSpec | None = None
    fileset: str | None = None
    store: str | None = None
    process: ProcessSpec = Field(default_factory=ProcessSpec)
    train: dict[str, Any] = Field(default_factory=dict, description="AutoencoderConfig (autoencoder search only)")
    search_config: dict[str, Any] = Field(default_factory=dict)
    passes: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"search": {}}, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        given = [k for k in ("generate", "fileset", "store") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one input of generate, fileset or store (got {given or 'none'})")
        if self.train and self.search != "autoencoder":
            raise ValueError(f"'train' configures the autoencoder; the {self.search} search trains inside its stage")
        return self

    def pass_config(self, name: str) -> dict[str, Any]:
        """``search_config`` with the pass's overrides and the run's seed (unless it sets one)."""
        return {"seed": self.seed, **self.search_config, **self.passes[name]}


def validate_search_config(config: RunConfig, where: str = "") -> None:
    """Each pass's search config through the search's model: errors name the run-config key."""
    model = search_entry(config.search).load("config")
    for name in config.passes:
        try:
            model.model_validate(config.pass_config(name))
        except ValidationError as exc:
            prefix = f"search_config (pass {name!r})" if config.passes[name] else "search_config"
            raise ConfigError(f"{where}invalid {prefix} of the {config.search} search: {describe_errors(model, exc)}") from exc
    if config.train:
        from adsearch.models import AutoencoderConfig

        try:
            AutoencoderConfig.model_validate({"seed": config.seed, **config.train})
        except ValidationError as exc:
            raise ConfigError(f"{where}invalid train: {describe_errors(AutoencoderConfig, exc)}") from exc


def load_run_config(path: str | Path) -> tuple[RunConfig, Path]:
    """Read and validate ``path``; returns the config (paths made absolute) and its folder.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.yaml"
    >>> _ = p.write_text("search: cwola\\nstore: my.zarr\\nsearch_config: {serched_regions: [2]}\\n")
    >>> try:
    ...     load_run_config(p)
    ... except ConfigError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    invalid search_config of the cwola search: serched_regions: unknown key (did you mean 'searched_regions'?)
    """
    from adsearch.config import load_config

    path = Path(path)
    config = load_config(RunConfig, path)
    base = path.resolve().parent
    for key in ("fileset", "store"):
        value = getattr(config, key)
        if value is not None and "://" not in value:
            setattr(config, key, str((base / value).resolve()))
    processor_config = config.process.options.get("config")
    if isinstance(processor_config, str):  # a processor config file, relative to the run config
        config.process.options["config"] = str((base / processor_config).resolve())
    validate_search_config(config, f"{path}: ")
    return config, base
