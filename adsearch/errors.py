"""Exceptions that name the file and the problem, so a facility user knows what to fix."""

from __future__ import annotations

__all__ = ["AdsearchError", "BadInputError", "ClusterError", "ConfigError"]


class AdsearchError(Exception):
    """Base class of every error adsearch raises on purpose."""


class ConfigError(AdsearchError):
    """A configuration value is missing, unknown or out of range."""


class ClusterError(AdsearchError):
    """The Dask cluster cannot serve this run: unreachable, wrong code on the workers, a unit that keeps failing."""


class BadInputError(AdsearchError):
    """An input file cannot be used: missing, corrupt, empty, wrong schema or bad values.

    ``path`` and ``reason`` are kept separately so ``--skip-bad-files`` can record them
    in the run report.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # raised on a Dask worker, it must unpickle on the client with its file and reason
        return (type(self), (self.path, self.reason))
