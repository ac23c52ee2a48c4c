"""Declarative configuration: YAML validated once by pydantic, then trusted.

Stage configs (generator, processors, autoencoder, search) subclass :class:`StrictModel`, so an
unknown or misspelled key is an error that names the key instead of being ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from adsearch.errors import ConfigError

__all__ = ["StrictModel", "load_config"]

ModelT = TypeVar("ModelT", bound="StrictModel")


class StrictModel(BaseModel):
    """Base of every adsearch config: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def load_config(model: type[ModelT], source: str | Path | dict[str, Any] | None) -> ModelT:
    """Build ``model`` from a YAML file, a dict, or defaults (``None``).

    Errors are re-raised as :class:`ConfigError` listing each offending key and why.
    """
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {model.__name__} config: {problems}") from exc
