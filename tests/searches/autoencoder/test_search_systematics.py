"""The AE search's limits carry the paper's systematics: spurious signal, retraining spread, signal side."""

from __future__ import annotations

import json

import numpy as np

from adsearch.models import AutoencoderConfig, train_on_rows
from adsearch.models.retrains import retrain_model_paths
from adsearch.searches.autoencoder.spectra import analyse_spectrum
from adsearch.stats.systematics import SignalUncertainties


def _falling(rng: np.random.Generator, n: int) -> np.ndarray:
    return 300.0 + rng.gamma(1.3, 250.0, n)


def _limits(result, width: str = "0") -> dict[float, dict]:
    return {p["mass_gev"]: p for p in result.limits[width]}


def test_limits_weaken_with_each_systematic_and_record_its_impact() -> None:
    rng = np.random.default_rng(4)
    data = _falling(rng, 6000)
    background_only = _falling(rng, 6000)  # an independent background-only spectrum (the MC)
    retrains = [data[rng.random(data.size) < 0.9] for _ in range(3)]  # each retrain selects a different 90%
    common = dict(region="10pb", spectrum="je", n_pseudo=200, limit_widths=(0.0,), limit_mass_spacing=0.4)
    bare = _limits(analyse_spectrum(data, **common))
    full_result = analyse_spectrum(
        data, **common, background_only_masses=background_only, retrain_masses=retrains,
        signal_uncertainties=SignalUncertainties(0.017, 0.02, 0.02, 0.1), breakdown_every=1,
    )
    full = _limits(full_result)
    assert full.keys() == bare.keys() and len(full) >= 3
    for mass, point in full.items():
        assert point["expected"] > bare[mass]["expected"]
        assert set(point["impact"]) >= {"spurious_signal", "ae_retraining", "background_alt", "luminosity",
                                        "efficiency", "jet_energy_scale", "jet_energy_resolution"}
        # each one's effect alone is measured (with Asimov data from the fit to the observed counts,
        # a pulled nuisance can move the expected limit slightly either way)
        assert all(np.isfinite(v) and v > -0.05 for v in point["impact"].values())
        assert max(point["impact"].values()) > 0.01
    assert full_result.systematics["ae_retraining"]["n_retrains"] == 3
    spurious = full_result.systematics["spurious_signal_w0"]
    assert spurious and all(np.isfinite(p["events"]) for p in spurious)


def test_training_keeps_retrains_for_the_systematic(tmp_path) -> None:
    rng = np.random.default_rng(1)
    rows = ((rng.random(1287) < 0.1) + 0.05 * rng.standard_normal((60, 1287))).astype(np.float32)
    config = AutoencoderConfig(max_epochs=2, patience=2, n_retrains=3, keep_retrains=2, jit_compile=False)
    trained = train_on_rows(rows, config, tmp_path / "ae")
    record = json.loads(trained.sidecar_path.read_text())
    kept = record["kept_retrains"]
    order = list(np.argsort(trained.val_losses, kind="stable"))
    assert kept == sorted([int(order[0]), int(order[-1])])  # best and worst: the full spread
    assert sorted(retrain_model_paths(tmp_path / "ae")) == kept
