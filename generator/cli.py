"""``adsearch generate``: a thin click shell over :func:`adsearch.generator.generate_sample`."""

from __future__ import annotations

from typing import Any

import click

from adsearch.cli import progress_default
from adsearch.errors import ConfigError
from adsearch.generator.processes import NAMED_SIGNALS
from adsearch.generator.sample import DEFAULT_DIJET_PTHAT_MIN_GEV, KINDS, GenerationSummary, generate_sample

__all__ = ["generate"]


def _print_summary(summary: GenerationSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary.sample}: {summary.n_events} events, seed {summary.seed} -> {summary.out_dir}")
    for column in ("process", "truth id", "events", "sigma (pb)"):
        table.add_column(column, justify="right" if column != "process" else "left")
    for proc in summary.processes:
        table.add_row(proc.name, str(proc.truth_id), str(proc.n_events), f"{proc.cross_section_pb:.4g}")
    console = Console()
    console.print(table)
    console.print(f"total sigma {summary.cross_section_pb:.4g} pb, equivalent luminosity "
                  f"{summary.luminosity_pb:.4g} pb^-1; {summary.chunks_written} chunk(s) written, "
                  f"{summary.chunks_skipped} already complete; {summary.wall_s:.1f} s; manifest {summary.manifest}")
    from adsearch.generator.events import FASTJET_CITATION

    console.print(f"[dim]{FASTJET_CITATION}[/dim]")


_COMMON = (
    click.option("--events", "n_events", type=click.IntRange(min=1), default=None,
                 help="Number of events (all processes together)."),
    click.option("--seed", type=click.IntRange(min=0), required=True, help="Master seed; same seed -> same events."),
    click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Output directory."),
    click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes."),
    click.option("--chunk-events", type=click.IntRange(min=1), default=5000, show_default=True, help="Events per file."),
    click.option("--tune", type=click.IntRange(min=1), default=None,
                 help="Pythia pp tune (Tune:pp = N, e.g. 5 for 4C; default Pythia's Monash 14): another tune for a SALAD simulation."),
    click.option("--pythia-setting", "pythia_settings", multiple=True,
                 help="Extra Pythia setting line for the background (repeatable), e.g. 'TimeShower:alphaSvalue = 0.13'."),
    click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal, not with -q)."),
    click.option("--constituents/--no-constituents", default=None,
                 help="Write the large-R jets' PFCands / FatJetPFCands (the hx search reads them; default: on for "
                      "dijet, off for lepton samples; --no-constituents keeps a dijet sample small)."),
)
#: options that only one kind of sample has (shown only in its --help)
_KIND_OPTIONS = {
    "dijet": (
        click.option("--pthat-min", "pthat_min_gev", type=click.FloatRange(min=0, min_open=True),
                     default=DEFAULT_DIJET_PTHAT_MIN_GEV, show_default=True,
                     help="QCD dijet pTHat threshold [GeV]; 400 is complete for leading large-R pT > 500 GeV with "
                          "|Delta eta| < 1.3 above mJJ = 1.4 TeV (use 300 without a Delta-eta cut)."),
        click.option("--mpi/--no-mpi", default=False, show_default=True, help="Multiparton interactions."),
    ),
    "lepton": (
        click.option("--lepton-pthat-min", "lepton_pthat_min_gev", type=click.FloatRange(min=0, min_open=True),
                     default=100.0, show_default=True, help="pTHat cut of the SM lepton processes [GeV]."),
        click.option("--lepton-min-pt", "lepton_min_pt_gev", type=click.FloatRange(min=0), default=50.0,
                     show_default=True, help="SM lepton processes: hard-process e/mu pT cut [GeV]."),
        click.option("--lumi-pb", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="SM mix: target integrated luminosity [pb^-1] instead of --events."),
    ),
}


class _KindGroup(click.Group):
    """``adsearch generate KIND``: one subcommand per sample kind, so each --help lists its own options."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            raise click.UsageError(f"unknown sample kind {args[0]!r}: choose {' or '.join(KINDS)}", ctx)
        return super().resolve_command(ctx, args)


@click.group("generate", cls=_KindGroup)
def generate() -> None:
    """Generate KIND (dijet or lepton) events with Pythia 8 + FastJet into NanoAOD ROOT files."""


def _make_command(kind: str) -> None:
    signals = ", ".join(NAMED_SIGNALS.get(kind, ()))
    pattern = "wprime_<mA>_<mB>_<mC>" if kind == "dijet" else "ssm_wprime_<m> / lq_<m>"

    def command(n_events: int | None, seed: int, out_dir: str, signal: str | None, workers: int, chunk_events: int,
                progress: bool | None, tune: int | None, pythia_settings: tuple[str, ...], constituents: bool | None,
                **kind_options: Any) -> None:
        if n_events is None and kind_options.get("lumi_pb") is None:
            raise click.BadParameter("give --events N" + (" (or --lumi-pb L)" if kind == "lepton" else ""),
                                     param_hint="--events")
        try:
            summary = generate_sample(kind, n_events, seed, out_dir, signal=signal, workers=workers,
                                      chunk_events=chunk_events, constituents=constituents,
                                      pythia_settings=[*([f"Tune:pp = {tune}"] if tune else []), *pythia_settings],
                                      progress=progress_default() if progress is None else progress, **kind_options)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from exc
        _print_summary(summary)

    command.__doc__ = f"Generate {kind} events (the SM background, or --signal) into NanoAOD ROOT files."
    for option in reversed((*_COMMON, click.option("--signal", default=None, help=(
            f"Generate a signal instead of the SM background: {signals} or any {pattern}.")), *_KIND_OPTIONS[kind])):
        command = option(command)
    generate.add_command(click.command(kind)(command))


for _kind in KINDS:
    _make_command(_kind)
