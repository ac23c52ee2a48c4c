"""``adsearch ae train|score`` through click, in-process (``--workers 0``)."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from adsearch.models import SCORE_COLUMN
from adsearch.models.cli import ae
from adsearch.store import open_store


def test_group_lists_train_and_score_and_accepts_more_commands() -> None:
    import click

    result = CliRunner().invoke(ae, ["--help"])
    assert result.exit_code == 0 and "train" in result.output and "score" in result.output
    assert isinstance(ae, click.Group) and hasattr(ae, "add_command")


def test_train_then_score(tmp_path, rmm_rows, make_store) -> None:
    store = make_store(tmp_path / "s.zarr", {"bkg": (200, rmm_rows[:200], np.arange(200))})
    config = tmp_path / "ae.yaml"
    config.write_text("train_fraction: 0.5\nmax_epochs: 2\nn_retrains: 1\njit_compile: false\n")
    out = tmp_path / "model"
    runner = CliRunner()
    result = runner.invoke(ae, ["train", "--store", str(store), "--config", str(config), "--out", str(out),
                                "--workers", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "kept #0 (median)" in result.output
    assert json.loads((out / "autoencoder.json").read_text())["n_rows"] == 100
    result = runner.invoke(ae, ["score", "--store", str(store), "--model", str(out), "--in-place", "--workers", "0"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "bkg: 200/200 events scored" in result.output
    assert np.isfinite(open_store(store).read("bkg", [SCORE_COLUMN])[SCORE_COLUMN]).all()


def test_bad_config_key_is_reported(tmp_path, rmm_rows, make_store) -> None:
    from adsearch.errors import ConfigError

    store = make_store(tmp_path / "s.zarr", {"bkg": (20, rmm_rows[:20], np.arange(20))})
    config = tmp_path / "ae.yaml"
    config.write_text("epochs: 3\n")
    result = CliRunner().invoke(ae, ["train", "--store", str(store), "--config", str(config), "--out",
                                     str(tmp_path / "m"), "--workers", "0"])
    assert isinstance(result.exception, ConfigError) and "epochs" in str(result.exception)
