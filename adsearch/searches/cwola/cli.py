"""``adsearch cwola``: CWoLa hunting on a dijet store (thin shell over :func:`cwola_hunt`)."""

from __future__ import annotations

from pathlib import Path

import click

from adsearch.cluster_spec import ClusterSpec

from adsearch.models.cli import _client, _with_cluster_options
from adsearch.cli import progress_default, store_option

__all__ = ["cwola"]


@click.group("cwola")
def cwola() -> None:
    """CWoLa hunting (ATLAS 2020): SR-vs-sideband classifiers on ECDF jet masses, fits, limits."""


@cwola.command("run")
@store_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="CWoLaSearchConfig YAML; the defaults are the 2020 ATLAS settings.")
@click.option("--region", type=click.Choice(["search", "validation"]), default=None,
              help="Override the config: |dy| < 1.2 (search) or > 1.2 (validation).")
@click.option("--regions", "regions", default=None, help="Comma-separated mJJ regions to search (default: config, 1-6).")
@_with_cluster_options
def run(store_path: str, out_dir: str, config_path: str | None, region: str | None, regions: str | None,
        cluster: ClusterSpec) -> None:
    """Train, select at 10% and 1% efficiency, fit, test every region; write results.json, summary.md, plots/."""
    from adsearch.config import load_config
    from adsearch.searches.cwola.config import CWoLaSearchConfig
    from adsearch.searches.cwola.pipeline import cwola_hunt

    config = load_config(CWoLaSearchConfig, config_path)
    updates: dict[str, object] = {}
    if region:
        updates["region"] = region
    if regions:
        updates["searched_regions"] = [int(r) for r in regions.split(",")]
    if updates:
        config = CWoLaSearchConfig.model_validate({**config.model_dump(), **updates})
    with _client(cluster) as client:
        result = cwola_hunt(store_path, config, out_dir, client=client, progress=progress_default())
    click.echo((Path(out_dir) / "summary.md").read_text())
    click.echo(f"largest fit-SR significance: {result.max_z('efficiency 0.1'):.2f} (10%), "
               f"{result.max_z('efficiency 0.01'):.2f} (1%) sigma; outputs in {out_dir}")


@cwola.command("limits")
@store_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder (limits.json).")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CWoLaSearchConfig YAML with a 'limits' section (signal, xsec_pb, n_samplings).")
@_with_cluster_options
def limits(store_path: str, out_dir: str, config_path: str, cluster: ClusterSpec) -> None:
    """Only the signal-injection scan: inject, retrain, select, sigma_excluded = max(sigma_CL, sigma_inj)."""
    from adsearch.config import load_config
    from adsearch.searches.cwola.config import CWoLaSearchConfig
    from adsearch.searches.cwola.pipeline import cwola_limits

    config = load_config(CWoLaSearchConfig, config_path)
    with _client(cluster) as client:
        result = cwola_limits(store_path, config, out_dir, client=client)
    for entry in result:
        click.echo(f"{entry['signal']} at efficiency {entry['efficiency']:g}: limit {entry['limit_pb']:.3g} pb")


def _attach_demo() -> None:
    from adsearch.searches.cwola.demo import demo

    cwola.add_command(demo)


_attach_demo()
