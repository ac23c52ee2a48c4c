"""``adsearch weak``: the 2025 weakly supervised dijet search (thin shell over :func:`weak_search`)."""

from __future__ import annotations

from pathlib import Path

import click

from adsearch.cluster_spec import ClusterSpec

from adsearch.models.cli import _client, _with_cluster_options
from adsearch.cli import progress_default, store_option

__all__ = ["weak"]


@click.group("weak")
def weak() -> None:
    """Weak supervision (ATLAS 2025): data-vs-template classifiers, strategy-B fits, merged-SR tests."""


@weak.command("run")
@store_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--template", type=click.Choice(["salad", "curtains", "cathode"]), default=None,
              help="Background template (default: the config's, salad).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="WeakSearchConfig YAML; the defaults are the 2025 ATLAS settings.")
@click.option("--feature-sets", default=None, help="Comma-separated feature sets (M, M_tau21, M_tau21_tau32).")
@_with_cluster_options
def run(store_path: str, out_dir: str, template: str | None, config_path: str | None, feature_sets: str | None,
        cluster: ClusterSpec) -> None:
    """Template, ensembles, selections at 10% and 2%, fits, merged-SR significances, validation
    samples and the non-closure correction; results.json, summary.md."""
    from adsearch.config import load_config
    from adsearch.searches.weak.config import WeakSearchConfig
    from adsearch.searches.weak.pipeline import weak_search

    config = load_config(WeakSearchConfig, config_path)
    updates: dict[str, object] = {}
    if template:
        updates["template"] = template
    if feature_sets:
        updates["feature_sets"] = feature_sets.split(",")
    if updates:
        from pydantic import ValidationError

        try:
            config = WeakSearchConfig.model_validate({**config.model_dump(), **updates})
        except ValidationError as exc:
            raise click.BadParameter(exc.errors()[0]["msg"]) from exc
    with _client(cluster) as client:
        result = weak_search(store_path, config, out_dir, client=client, progress=progress_default())
    click.echo((Path(out_dir) / "summary.md").read_text())
    labels = [f"efficiency {wp:g}" for wp in config.classifier.working_points]
    click.echo("largest merged-SR significance: " + ", ".join(f"{lab} {result.max_z(lab):.2f}" for lab in labels)
               + " sigma; reported (validated, non-closure corrected): "
               + ", ".join(f"{lab} {result.max_z(lab, reported=True):.2f}" for lab in labels)
               + f" sigma; outputs in {out_dir}")


@weak.command("limits")
@store_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="WeakSearchConfig YAML with a 'limits' block: {signal: NAME, xsec_pb: [...]}.")
@_with_cluster_options
def limits(store_path: str, out_dir: str, config_path: str, cluster: ClusterSpec) -> None:
    """CLs limits by injection: rerun the whole chain at each injected cross-section; limits.json."""
    import yaml

    from adsearch.config import load_config
    from adsearch.searches.weak.config import WeakSearchConfig
    from adsearch.searches.weak.limits import WeakLimitsConfig, injection_limits

    raw = yaml.safe_load(Path(config_path).read_text()) or {}
    if "limits" not in raw:
        raise click.BadParameter(f"{config_path}: no 'limits' block (signal, xsec_pb)", param_hint="--config")
    scan = load_config(WeakLimitsConfig, raw.pop("limits"))
    config = load_config(WeakSearchConfig, raw)
    with _client(cluster) as client:
        rows = injection_limits(store_path, config, scan, out_dir, client=client)
    for row in rows:
        band = ", ".join(f"{v:.3g}" for v in row["band_pb"])
        click.echo(f"{row['signal']} {row['label']}: 95% CL limit {row['limit_pb']:.3g} pb (expected band {band})")


def _attach_demo() -> None:
    from adsearch.searches.weak.demo import demo

    weak.add_command(demo)


_attach_demo()
