"""The ``adsearch`` command line: a thin shell over library functions.

Each stage's command lives in the subpackage that owns it and is attached here lazily, so
``adsearch --help`` does not import TensorFlow or Pythia.

Exit codes: 0 success, 1 an adsearch error (bad input or config: one line, no traceback),
2 a usage error (click's: unknown option, missing argument). :func:`output_options` gives a
command the common ``-q/--quiet``, ``-v/--verbose`` and ``--json`` options.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from adsearch.errors import AdsearchError

__all__ = ["main", "cli", "output_options", "store_option", "progress_default", "Output", "EXIT_ADSEARCH_ERROR", "EXIT_USAGE_ERROR"]

EXIT_ADSEARCH_ERROR = 1
EXIT_USAGE_ERROR = 2

#: command name -> ("module:attribute" of the click command, one-line help for the listing).
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("adsearch.generator.cli:generate", "Generate Pythia 8 + FastJet samples as NanoAOD ROOT files."),
    "process": ("adsearch.processors.cli:process", "Run a coffea processor over a fileset into a Zarr store."),
    "ae": ("adsearch.searches.autoencoder.cli:ae", "Autoencoder search: train, score, search."),
    "cwola": ("adsearch.searches.cwola.cli:cwola", "CWoLa hunting (2020 dijet search): train, select, fit, limits."),
    "weak": ("adsearch.searches.weak.cli:weak", "Weakly supervised search (ATLAS 2025): SALAD templates, ensembles, merged-SR tests."),
    "hx": ("adsearch.searches.hx.cli:hx", "Y -> X H search: VRNN anomaly score on the X jet, (m_X, m_Y) bump hunt."),
    "demo": ("adsearch.demo:demo", "Run every available search on small generated samples end to end."),
    "run": ("adsearch.runner_cli:run", "Run a configured search stage by stage (cached, resumable): adsearch run CONFIG.yaml."),
    "report": ("adsearch.runner_cli:report", "Write the report (HTML, pyhf, HEPData, ROOT) of a search's output folder."),
}


class Output:
    """How a command talks: ``quiet`` (only errors and the final line), ``verbose`` (library logs),
    ``json`` (one machine-readable summary on stdout instead of text); progress bars only on a
    terminal."""

    def __init__(self, quiet: bool = False, verbose: int = 0, json_summary: bool = False) -> None:
        quiet, verbose = quiet or VERBOSITY < 0, max(verbose, VERBOSITY)
        self.quiet, self.verbose, self.json = quiet, verbose, json_summary
        self.progress = not quiet and not json_summary and sys.stderr.isatty()
        _log_to_stderr(logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.INFO if verbose
                       else logging.WARNING)

    def library_output(self) -> Any:
        """With --json, whatever the libraries print goes to stderr: stdout holds the summary alone."""
        return contextlib.redirect_stdout(sys.stderr) if self.json else contextlib.nullcontext()

    def echo(self, text: str) -> None:
        """Progress text (stderr, so --json's stdout stays parseable); silent with --quiet."""
        if not self.quiet:
            click.echo(text, err=self.json)

    def result(self, text: str, payload: dict[str, Any]) -> None:
        """The command's summary: ``text``, or ``payload`` as JSON with --json."""
        if self.json:
            click.echo(json.dumps(payload, indent=2, default=str))
        else:
            click.echo(text)


def _log_to_stderr(level: int) -> None:
    """Library log records at ``level`` and above on stderr, as "logger: message". The level sits
    on the handler: libraries that set their own loggers' levels (distributed logs its scheduler's
    and nannies' start at INFO) are then filtered too, not only adsearch's."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        handler.set_name("adsearch")
        root.addHandler(handler)
    for handler in root.handlers:
        if handler.get_name() == "adsearch":
            handler.setLevel(level)
    root.setLevel(min(root.level or logging.WARNING, level))


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-q/--quiet``, ``-v/--verbose`` (repeatable) and ``--json``; the command gets ``output``."""

    @functools.wraps(func)
    def wrapper(*args: Any, quiet: bool, verbose: int, json_summary: bool, **kwargs: Any) -> Any:
        return func(*args, output=Output(quiet, verbose, json_summary), **kwargs)

    wrapper = click.option("--json", "json_summary", is_flag=True, help="Print a machine-readable JSON summary.")(wrapper)
    wrapper = click.option("-v", "--verbose", count=True, help="More detail (repeat for debug logs).")(wrapper)
    return click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")(wrapper)


def store_option(func: Any) -> Any:
    """The input store as ``--store STORE`` (as in every command); a bare STORE argument still works."""
    @functools.wraps(func)
    def wrapper(*args: Any, store_arg: str | None, store_opt: str | None, **kwargs: Any) -> Any:
        if (store_arg is None) == (store_opt is None):
            raise click.UsageError("give the input store once, as --store STORE")
        return func(*args, store_path=store_opt or store_arg, **kwargs)

    wrapper = click.option("--store", "store_opt", default=None, type=click.Path(exists=True, file_okay=False),
                           help="Input feature store (read only).")(wrapper)
    return click.argument("store_arg", required=False, metavar="[STORE]",
                          type=click.Path(exists=True, file_okay=False))(wrapper)


class _LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from the static table, without importing their modules."""
        rows = [(name, help_text) for name, (_, help_text) in sorted(_SUBCOMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


#: -q (-1), default (0), -v (1), -vv (2): set once by the root group for every command
VERBOSITY = 0


def progress_default() -> bool:
    """Progress bars only for a person at a terminal, and never with -q."""
    return VERBOSITY >= 0 and sys.stderr.isatty()


@click.group(cls=_LazyGroup)
@click.version_option(package_name="adsearch")
@click.option("-q", "--quiet", "quiet_", is_flag=True, help="Errors and final summaries only, no progress bars.")
@click.option("-v", "--verbose", "verbose_", count=True, help="Library log messages (-vv: debug).")
def cli(quiet_: bool = False, verbose_: int = 0) -> None:
    """Anomaly-detection resonance searches: generate -> process -> train -> search -> report.

    -q / -v here apply to every command (adsearch -q process ...); run, demo and report also take
    them after the command, with --json.
    """
    global VERBOSITY
    VERBOSITY = -1 if quiet_ else verbose_
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(VERBOSITY, logging.DEBUG)
    logging.getLogger().setLevel(level)
    logging.getLogger("adsearch").setLevel(level)


def main() -> None:
    """Entry point: adsearch's own errors become one clear line and exit code 1; click's usage
    errors keep code 2."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AdsearchError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(EXIT_ADSEARCH_ERROR)
    sys.exit(code if isinstance(code, int) else 0)
