from __future__ import annotations

import json

import numpy as np
import pyhf
import pytest

from adsearch.stats.likelihood import (
    LikelihoodInputs,
    build_model,
    build_workspace,
    discovery_significance,
    export_workspace,
)
from adsearch.stats.significance import z_asimov


@pytest.mark.parametrize(("s", "b"), [(100.0, 10000.0), (300.0, 5e4), (50.0, 1000.0)])
def test_discovery_matches_asimov_formula_at_large_counts(s: float, b: float) -> None:
    r = discovery_significance([b + s], [s], [b])
    assert r.z == pytest.approx(float(z_asimov(s, b)), rel=1e-4)
    assert r.z_expected == pytest.approx(r.z, rel=1e-4)


def test_discovery_with_uncertainty_matches_cowan_formula() -> None:
    s, b, sigma = 200.0, 1e4, 300.0
    r = discovery_significance([b + s], [s], [b], [sigma])
    assert r.z == pytest.approx(float(z_asimov(s, b, sigma)), rel=1e-3)
    assert r.z < float(z_asimov(s, b))


def test_correlated_covariance_reduces_significance_more_than_uncorrelated() -> None:
    """A fully correlated fit uncertainty over a window hurts more than the same per-bin sigmas."""
    b = np.full(8, 1000.0)
    s = np.full(8, 25.0)
    sig = 0.02 * b
    corr = discovery_significance(b + s, s, b, np.outer(sig, sig))
    uncorr = discovery_significance(b + s, s, b, sig)
    none = discovery_significance(b + s, s, b)
    assert corr.z < uncorr.z < none.z
    # one fully correlated mode: equivalent to a single bin with sigma = sum of sigmas
    single = discovery_significance([b.sum() + s.sum()], [s.sum()], [b.sum()], np.array([[sig.sum() ** 2]]))
    assert corr.z == pytest.approx(single.z, rel=0.02)


def test_workspace_export_round_trip(tmp_path) -> None:
    b = np.array([100.0, 80.0, 60.0])
    inputs = LikelihoodInputs.make(
        [105, 90, 58], [1.0, 2.0, 1.0], b, np.diag((0.05 * b) ** 2),
        extra_sigma=0.02 * b, background_alt=1.03 * b,
    )
    spec = build_workspace(inputs)
    path = export_workspace(spec, tmp_path / "ws.json")
    ws = pyhf.Workspace(json.loads(path.read_text()))
    model = ws.model()
    assert {"mu", "bkg_uncorrelated", "bkg_shape_alt", "bkg_fit_eig0"} <= set(model.config.parameters)
    ours, data = build_model(inputs)
    np.testing.assert_allclose(ws.data(model), data)
    pars = model.config.suggested_init()
    assert model.logpdf(pars, ws.data(model))[0] == pytest.approx(ours.logpdf(pars, data)[0])


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="must match"):
        LikelihoodInputs.make([1.0, 2.0], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="background_sigma"):
        LikelihoodInputs.make([1.0], [1.0], [1.0], np.ones((2, 2)))
