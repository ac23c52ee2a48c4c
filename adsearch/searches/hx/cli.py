"""``adsearch hx``: the Y -> X H search on an hx store (thin shell over :func:`hx_search`)."""

from __future__ import annotations

from pathlib import Path

import click

from adsearch.cli import store_option
from adsearch.cluster_spec import ClusterSpec
from adsearch.models.cli import _client, _with_cluster_options

__all__ = ["hx"]


@click.group("hx")
def hx() -> None:
    """Y -> X H search (ATLAS 2023): VRNN anomaly score on the X jet, (m_X, m_Y) bump hunt."""


@hx.command("run")
@store_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="HxSearchConfig YAML; the defaults are the published settings.")
@_with_cluster_options
def run(store_path: str, out_dir: str, config_path: str | None, cluster: ClusterSpec) -> None:
    """Score, select J_X > 0.5 / tau21 / inclusive, fit m_Y per m_X bin, hunt the grid; write results.json, summary.md, plots/."""
    from adsearch.config import load_config
    from adsearch.searches.hx.config import HxSearchConfig
    from adsearch.searches.hx.pipeline import hx_search

    config = load_config(HxSearchConfig, config_path)
    with _client(cluster) as client:
        result = hx_search(store_path, config, out_dir, client=client)
    click.echo((Path(out_dir) / "summary.md").read_text())
    hunt = result.regions["anomaly"].hunt
    click.echo(f"anomaly region: best m_X {hunt.mx_lo_gev:g}-{hunt.mx_hi_gev:g} GeV, m_Y {hunt.my_lo_gev:g}-"
               f"{hunt.my_hi_gev:g} GeV, local {hunt.local_z:.2f}, global {hunt.global_z:.2f} sigma; outputs in {out_dir}")
