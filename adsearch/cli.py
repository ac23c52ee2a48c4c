"""The ``adsearch`` command line: a thin shell over library functions.

Each stage's command lives in the subpackage that owns it and is attached here lazily, so
``adsearch --help`` does not import TensorFlow or Pythia.
"""

from __future__ import annotations

import importlib
import sys

import click

from adsearch.errors import AdsearchError

__all__ = ["main"]

#: command name -> ("module:attribute" of the click command, one-line help for the listing).
_SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("adsearch.generator.cli:generate", "Generate Pythia 8 + FastJet samples as NanoAOD ROOT files."),
    "process": ("adsearch.processors.cli:process", "Run a coffea processor over a fileset into a Zarr store."),
    "ae": ("adsearch.searches.autoencoder.cli:ae", "Autoencoder search: train, score, search."),
    "cwola": ("adsearch.searches.cwola.cli:cwola", "CWoLa hunting (2020 dijet search): train, select, fit, limits."),
    "weak": ("adsearch.searches.weak.cli:weak", "Weakly supervised search (ATLAS 2025): SALAD templates, ensembles, merged-SR tests."),
    "demo": ("adsearch.demo:demo", "Run the demonstration search on generated data end to end."),
}


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


@click.group(cls=_LazyGroup)
@click.version_option(package_name="adsearch")
def cli() -> None:
    """Anomaly-detection resonance searches: generate -> process -> train -> search."""


def main() -> None:
    """Entry point: turn adsearch's own errors into one clear line and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AdsearchError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
