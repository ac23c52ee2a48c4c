"""The paper's systematic uncertainties as pyhf nuisance parameters: spurious signal, fit-function
choice, autoencoder-retraining spread, and signal-side normalisation and shape uncertainties."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

from adsearch.stats.likelihood import LikelihoodInputs, build_model, build_workspace
from adsearch.stats.limits import gaussian_template, upper_limit


def _inputs(**systematics) -> LikelihoodInputs:
    edges = np.linspace(1000.0, 2000.0, 21)
    b = 400.0 * np.exp(-(edges[:-1] - 1000.0) / 300.0)
    n = np.random.default_rng(3).poisson(b).astype(float)
    s = gaussian_template(edges, 1500.0, 60.0)
    return LikelihoodInputs.make(n, s, b, np.diag(0.02 * b) ** 2, background_alt=1.03 * b, select=slice(6, 15),
                                 **systematics)


FULL = dict(
    spurious_signal=12.0,
    background_shapes={"ae_retraining": np.full(20, 3.0)},
    signal_norm={"luminosity": (1.017, 0.983), "efficiency": (1.05, 0.95)},
    signal_shapes={"jes": (gaussian_template(np.linspace(1000.0, 2000.0, 21), 1530.0, 60.0),
                           gaussian_template(np.linspace(1000.0, 2000.0, 21), 1470.0, 60.0))},
)


def test_every_systematic_is_a_named_pyhf_parameter() -> None:
    model, _ = build_model(_inputs(**FULL))
    for name in ("spurious_signal", "bkg_shape_alt", "ae_retraining", "luminosity", "efficiency", "jes"):
        assert name in model.config.parameters
    assert model.config.modifiers.count(("luminosity", "normsys")) == 1
    assert ("jes", "histosys") in model.config.modifiers and ("spurious_signal", "histosys") in model.config.modifiers


def test_fast_engine_equals_pyhf_with_signal_and_background_systematics() -> None:
    inputs = _inputs(**FULL)
    fast = upper_limit(inputs, method="asymptotic", engine="fast")
    slow = upper_limit(inputs, method="asymptotic", engine="pyhf")
    assert fast.observed == pytest.approx(slow.observed, rel=0.02)
    assert fast.expected == pytest.approx(slow.expected, rel=0.02)


def test_each_systematic_weakens_the_limit() -> None:
    full = _inputs(**FULL)
    base = upper_limit(full.without(*full.systematics), method="asymptotic").expected
    for name in full.systematics:
        alone = upper_limit(full.without(*[k for k in full.systematics if k != name]), method="asymptotic").expected
        assert alone > base * (1 + 1e-4), name
    assert upper_limit(full, method="asymptotic").expected > base * 1.05


def test_spurious_signal_is_a_signal_shaped_background_variation() -> None:
    inputs = _inputs(spurious_signal=10.0)
    spec = build_workspace(inputs)
    (mod,) = [m for m in spec["channels"][0]["samples"][1]["modifiers"] if m["name"] == "spurious_signal"]
    b = np.maximum(inputs.background, 1e-6)
    assert np.allclose(np.asarray(mod["data"]["hi_data"]) - b, 10.0 * inputs.signal)
    pyhf.Workspace(spec)
