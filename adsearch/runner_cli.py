"""``adsearch run CONFIG.yaml`` and ``adsearch report``: thin shells over :func:`run_search` and
:func:`adsearch.report.make_report`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from adsearch.cli import Output, output_options
from adsearch.cluster_options import cluster_options
from adsearch.runner import STAGES, RunOutcome

__all__ = ["run", "report", "format_outcome"]


def format_outcome(outcome: RunOutcome) -> str:
    """The few lines a run ends with: each stage's state and time, each pass's largest Z."""
    lines = [f"{outcome.search} search in {outcome.run_dir}  (wall s, CPU s, load at start-end)"]
    for s in outcome.stages:
        secs = (f"{s.seconds:7.1f} s {s.cpu_s:7.1f} cpu-s  load {s.load[0]:.1f}-{s.load[1]:.1f}"
                if s.state in ("ran", "cached") and s.seconds else " " * 35)
        lines.append(f"  {s.stage:<9}{s.state:<9}{secs}  {s.note}")
    for name, head in outcome.passes.items():
        z = "no spectrum tested" if head["largest_z"] is None else f"largest {head['z_label']} {head['largest_z']:.2f} ({head['where']})"
        lines.append(f"  pass {name}: {z}; {head['fitted']}/{head['spectra']} spectra fitted, "
                     f"{head['limit_scans']} limit scans")
    lines.append(f"report: {outcome.report}")
    return "\n".join(lines)


@click.command("run")
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Run folder (default: runs/<config name>).")
@click.option("--from", "start", type=click.Choice(STAGES), default=None, help="Rerun this stage and every later one.")
@click.option("--only", type=click.Choice(STAGES), default=None, help="Run only this stage (earlier ones must be done).")
@click.option("--sample-cache", default=None, type=click.Path(file_okay=False),
              help="Folder of generated samples shared between runs (same sample settings: generated once).")
@cluster_options
@output_options
def run(config_path: str, out_dir: str | None, start: str | None, only: str | None, sample_cache: str | None,
        cluster: Any, output: Output) -> None:
    """Run the search CONFIG.yaml describes: generate -> process -> train -> score -> search -> report.

    Each stage is cached by a content hash of its inputs and settings: a rerun skips what is done
    and resumes what was interrupted. Examples: examples/<search>.yaml.
    """
    from adsearch.runner import run_search
    from adsearch.runner_config import load_run_config

    config, _ = load_run_config(config_path)
    out = Path(out_dir) if out_dir else Path("runs") / Path(config_path).stem
    with output.library_output():
        outcome = run_search(config, out, cluster=cluster, start=start, only=only, progress=output.progress,
                             echo=output.echo, sample_cache=sample_cache)
    output.result(format_outcome(outcome), outcome.to_dict())


@click.command("report")
@click.option("--search", "kind", required=True, type=click.Choice(["autoencoder", "cwola", "weak", "hx"]),
              help="Which search wrote the results.")
@click.option("--results", "search_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="The search's output folder (holding results.json).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Report folder.")
@output_options
def report(kind: str, search_dir: str, out_dir: str, output: Output) -> None:
    """HTML page, pyhf workspaces, HEPData record, hist/ROOT spectra and report.json of one search output."""
    from adsearch.report import make_report

    with output.library_output():
        page = make_report(kind, search_dir, out_dir)
    output.result(f"report: {page}", {"report": str(page)})

