"""Declarative configuration: YAML validated once by pydantic, then trusted.

Stage configs (generator, processors, autoencoder, search) subclass :class:`StrictModel`, so an
unknown or misspelled key is an error that names the key, and the nearest valid key, instead of
being ignored.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from adsearch.errors import ConfigError

__all__ = ["StrictModel", "load_config", "describe_errors"]

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
    where = "" if source is None or isinstance(source, dict) else f"{source}: "
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}invalid {model.__name__} config: {describe_errors(model, exc)}") from exc


def _unwrap_optional(tp: Any) -> Any:
    args = [a for a in get_args(tp) if a is not type(None)]
    return args[0] if get_origin(tp) is not None and len(args) == 1 and type(None) in get_args(tp) else tp


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the key at ``loc`` (through nested models, lists and dicts)."""
    current: Any = model
    for part in loc[:-1]:
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            info = current.model_fields.get(part)
            if info is None:
                return None
            current = info.annotation
        elif get_origin(current) in (list, dict, tuple, set) and get_args(current):
            current = get_args(current)[-1]  # list[X] / dict[str, X]: the element
        else:
            return None
    current = _unwrap_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _nearest(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else f" (valid keys: {', '.join(sorted(choices))})"


def describe_errors(model: type[BaseModel], exc: ValidationError) -> str:
    """One line per problem, naming the key; an unknown key gets the nearest valid one.

    >>> class Fit(StrictModel):
    ...     n_pseudo: int = 100
    >>> try:
    ...     Fit.model_validate({"n_psuedo": 10})
    ... except ValidationError as exc:
    ...     print(describe_errors(Fit, exc))
    n_psuedo: unknown key (did you mean 'n_pseudo'?)
    """
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        name = ".".join(str(p) for p in loc) or "<root>"
        if err["type"] == "extra_forbidden" and loc:
            owner = _model_at(model, loc)
            hint = _nearest(str(loc[-1]), list(owner.model_fields)) if owner is not None else ""
            problems.append(f"{name}: unknown key{hint}")
        else:
            problems.append(f"{name}: {err['msg']}")
    return "; ".join(problems)
