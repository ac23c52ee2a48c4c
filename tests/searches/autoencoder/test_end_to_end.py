"""The autoencoder search end to end through its CLI, on generated events, with real components:
Pythia 8 + FastJet files -> coffea lepton processor -> Zarr store -> Keras training -> scoring ->
regions, spectra, fits, BumpHunter, limits, Delta-Z, plots. Small sizes keep it near a minute."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from adsearch.cli import cli
from adsearch.generator import generate_sample
from adsearch.store import open_store


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def scored_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ae_e2e")
    samples = root / "samples"
    bkg = generate_sample("lepton", 1200, 5, samples / "background", workers=1)
    generate_sample("lepton", 300, 6, samples / "lq_1500", signal="lq_1500", workers=1)
    fileset = root / "fileset.yaml"
    fileset.write_text(yaml.safe_dump({
        "background": {"files": {str(p): "Events" for p in sorted((samples / "background").glob("*.root"))},
                       "metadata": {"luminosity_pb": float(bkg.luminosity_pb)}},
        "lq_1500": {"files": {str(p): "Events" for p in sorted((samples / "lq_1500").glob("*.root"))}},
    }))
    store = root / "store.zarr"
    _invoke(["process", "lepton", "--fileset", str(fileset), "--out", str(store), "--workers", "0"])
    ae_cfg = root / "ae.yaml"
    ae_cfg.write_text(yaml.safe_dump({"train_fraction": 1.0, "n_retrains": 2, "max_epochs": 4, "patience": 2}))
    _invoke(["ae", "train", "--store", str(store), "--dataset", "background", "--config", str(ae_cfg),
             "--out", str(root / "ae"), "--workers", "0"])
    _invoke(["ae", "score", "--store", str(store), "--model", str(root / "ae"), "--in-place", "--workers", "0"])
    return root, store


def test_every_event_is_scored_deterministically(scored_store: tuple[Path, Path]) -> None:
    """Scoring again in Dask worker processes (another process, thread count and placement than
    the in-process run of the fixture) gives every event bit for bit the score written first."""
    from adsearch.cluster import dask_client
    from adsearch.models import score_events
    from adsearch.models.cli import resolve_model_path
    from adsearch.store import RMM_CHUNK_ROWS

    root, store = scored_store
    fs = open_store(store)
    first = {d: fs.read(d, ["ae_score"])["ae_score"] for d in fs.datasets}
    for dataset, scores in first.items():
        assert scores.size == fs.n_events(dataset) > 0
        assert np.all(np.isfinite(scores))
    with dask_client(n_workers=2, memory_limit="2GiB") as client:
        score_events(store, resolve_model_path(root / "ae"), client=client, block_rows=RMM_CHUNK_ROWS, column="ae_score_again")
    again = open_store(store)
    for dataset, scores in first.items():
        np.testing.assert_array_equal(again.read(dataset, ["ae_score_again"])["ae_score_again"], scores)


def test_search_writes_regions_spectra_and_plots(scored_store: tuple[Path, Path]) -> None:
    root, store = scored_store
    lumi = open_store(store).attrs("background")["metadata"]["luminosity_pb"]
    n_data = open_store(store).n_events("background")
    cfg = root / "search.yaml"
    # regions sized to hold ~40% / 10% of the data at this sample's luminosity
    xsecs = [0.4 * n_data / lumi, 0.1 * n_data / lumi]
    cfg.write_text(yaml.safe_dump({
        "signal_datasets": ["lq_1500"], "inject_xsec_pb": {"lq_1500": 0.5 * n_data / lumi * 0.05},
        "region_xsec_pb": xsecs, "n_pseudo": 300, "min_events_for_fit": 20,
        "limit_spectra": ["je"], "limit_mass_spacing": 0.3, "limit_widths": [0.15],
    }))
    out = root / "search"
    text = _invoke(["ae", "search", "--store", str(store), "--out", str(out), "--config", str(cfg), "--workers", "0"])
    assert "largest global significance" in text
    results = json.loads((out / "results.json").read_text())
    assert len(results["regions"]) == 2 and len(results["spectra"]) == 2 * 9
    n_total = results["n_data"]
    assert n_total == n_data + results["n_injected"]["lq_1500"]
    # normalised to the generated sample's Runs tree (300 events of weight 1), not to the events read
    from adsearch.searches.common.samples import dataset_normalisation

    norm = dataset_normalisation(open_store(store), "lq_1500")
    assert norm.source == "Runs.genEventSumw" and norm.sumw_total == pytest.approx(300.0)
    assert results["n_injected"]["lq_1500"] == round(norm.expected(0.5 * n_data / lumi * 0.05, lumi))
    for region, frac in zip(results["regions"], (0.4, 0.1)):
        assert region["n_selected"] == round(frac * n_data / lumi * lumi)
    fitted = [s for s in results["spectra"] if s["status"] == "ok"]
    assert fitted, "at least the large region's populated spectra must be fitted"
    for s in fitted:
        assert 0.0 <= s["bumphunt"]["global_p"] <= 1.0
        assert sum(s["counts"]) == s["n_events"]
    assert {p["benchmark"] for p in results["sensitivity"]} == {"lq_1500"}
    assert results["provenance"]["config"]["n_pseudo"] == 300
    for name in ("anomaly_scores.png", "spectra_" + results["regions"][0]["label"] + ".png"):
        assert (out / "plots" / name).stat().st_size > 10_000
