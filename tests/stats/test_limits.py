from __future__ import annotations

import numpy as np
import pytest
from pyhf.infer.intervals.upper_limits import toms748_scan

from adsearch.stats.binning import mass_resolution_gev, resolution_binning
from adsearch.stats.likelihood import LikelihoodInputs, build_model
from adsearch.stats.limits import gaussian_limits, gaussian_template, template_limit, upper_limit


def test_cls_limit_n0_b0_is_three_events() -> None:
    r = upper_limit(LikelihoodInputs.make([0.0], [1.0], [0.0]), n_toys=200000)
    assert r.method == "toys"  # auto: asymptotics are wrong at zero counts
    assert r.observed == pytest.approx(3.0, abs=0.05)
    assert r.expected == pytest.approx(3.0, abs=0.05)


def test_asymptotic_matches_pyhf_toms748_scan() -> None:
    rng = np.random.default_rng(0)
    s = np.exp(-0.5 * ((np.arange(9) - 4) / 1.5) ** 2)
    s /= s.sum()
    b = np.full(9, 400.0)
    cov = np.outer(0.02 * b, 0.02 * b)
    inputs = LikelihoodInputs.make(rng.poisson(b), s, b, cov)
    ours = upper_limit(inputs, method="asymptotic")
    model, data = build_model(inputs, poi_max=1e4)
    obs, band = toms748_scan(data, model, 10.0, 400.0, level=0.05, rtol=1e-4, test_stat="qtilde")
    assert ours.observed == pytest.approx(float(obs), rel=0.01)
    ref = [float(v) for v in band]
    ours_band = [ours.minus2, ours.minus1, ours.expected, ours.plus1, ours.plus2]
    np.testing.assert_allclose(ours_band, ref, rtol=0.02)
    assert ours.minus2 < ours.minus1 < ours.expected < ours.plus1 < ours.plus2


def test_toys_agree_with_asymptotics_at_large_counts() -> None:
    inputs = LikelihoodInputs.make([400.0], [1.0], [400.0])
    toys = upper_limit(inputs, method="toys", n_toys=20000)
    asym = upper_limit(inputs, method="asymptotic")
    assert toys.observed == pytest.approx(asym.observed, rel=0.05)
    assert toys.expected == pytest.approx(asym.expected, rel=0.05)


@pytest.mark.parametrize("uncertainty", [{"background_sigma": [40.0]}, {"extra_sigma": [40.0]},
                                         {"background_alt": [440.0]}])
def test_toys_include_each_background_uncertainty(uncertainty: dict) -> None:
    """A 10% background uncertainty of each kind doubles the limit at b = 400; the toys (which
    draw backgrounds from total_covariance) agree with the asymptotic pyhf-model limit."""
    bare = upper_limit(LikelihoodInputs.make([400.0], [1.0], [400.0]), method="toys", n_toys=20000)
    inputs = LikelihoodInputs.make([400.0], [1.0], [400.0], **uncertainty)
    toys = upper_limit(inputs, method="toys", n_toys=20000)
    asym = upper_limit(inputs, method="asymptotic")
    assert toys.expected > 1.5 * bare.expected
    assert toys.observed == pytest.approx(asym.observed, rel=0.1)
    assert toys.expected == pytest.approx(asym.expected, rel=0.1)


def test_gaussian_templates_and_limits_shape() -> None:
    edges = resolution_binning()
    t = gaussian_template(edges, 2000.0, float(mass_resolution_gev(2000.0)))
    assert t.sum() == pytest.approx(1.0, abs=1e-6)
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert abs(centres[np.argmax(t)] - 2000.0) < 60.0
    b = 5e3 * (centres / 1000.0) ** -4 * np.diff(edges) / 50.0
    n = np.random.default_rng(2).poisson(b)
    pts = gaussian_limits(n, b, 0.01 * b, edges, masses_gev=[1000.0, 1050.0, 2500.0], width_fraction=0.15, method="asymptotic")
    assert [p.mass_gev for p in pts] == [1000.0, 1050.0, 2500.0]
    for p in pts:
        assert p.sigma_gev == pytest.approx(np.hypot(0.15 * p.mass_gev, mass_resolution_gev(p.mass_gev)))
        assert p.minus2 < p.minus1 < p.expected < p.plus1 < p.plus2
        assert p.acceptance > 0.99 and p.observed > 0
    # a wider signal window holds more background: a weaker limit than a narrow one
    narrow = gaussian_limits(n, b, 0.01 * b, edges, masses_gev=[1000.0], width_fraction=0.0, method="asymptotic")
    assert narrow[0].expected < pts[0].expected
    # at the edge of the spectrum: truncated window kept above min_acceptance, else skipped
    edge = gaussian_limits(n, b, 0.01 * b, edges, masses_gev=[6500.0, 7500.0], width_fraction=0.15, method="toys", n_toys=2000)
    assert [p.mass_gev for p in edge] == [6500.0]
    assert 0.8 < edge[0].acceptance < 0.99 and edge[0].window_hi_gev == 8000.0


def test_injected_signal_raises_observed_limit(tmp_path) -> None:
    edges = np.linspace(1000.0, 2000.0, 41)
    b = np.full(40, 200.0)
    template = gaussian_template(edges, 1500.0, 40.0)
    clean = template_limit(np.round(b), template, b, method="asymptotic")
    path = tmp_path / "ws" / "injected.json"
    injected = template_limit(np.round(b + 300.0 * template), template, b, method="asymptotic", workspace_path=path)
    assert path.exists()
    assert injected.observed > clean.observed + 150.0
    assert injected.expected == pytest.approx(clean.expected, rel=0.01)


def test_fast_engine_matches_pyhf_with_every_nuisance_type() -> None:
    """Same workspace (eigenmode histosys + merged shapesys + alt histosys) in both engines."""
    from adsearch.stats.likelihood import discovery_significance

    rng = np.random.default_rng(6)
    b = np.array([300.0, 280.0, 260.0, 240.0, 220.0])
    s = np.array([0.1, 0.25, 0.3, 0.25, 0.1])
    grad = np.linspace(-1.0, 1.0, 5)
    cov = np.outer(0.02 * b, 0.02 * b) + np.outer(0.01 * b * grad, 0.01 * b * grad)
    inputs = LikelihoodInputs.make(rng.poisson(b + 30 * s), s, b, cov, extra_sigma=0.02 * b, background_alt=b * (1 + 0.01 * grad))
    fast = upper_limit(inputs, method="asymptotic")
    ref = upper_limit(inputs, method="asymptotic", engine="pyhf")
    assert fast.observed == pytest.approx(ref.observed, rel=0.005)
    assert fast.expected == pytest.approx(ref.expected, rel=0.005)
    np.testing.assert_allclose([fast.minus2, fast.minus1, fast.plus1, fast.plus2], [ref.minus2, ref.minus1, ref.plus1, ref.plus2], rtol=0.02)
    args = (inputs.counts, 40 * s, b, cov)
    kw = {"extra_sigma": 0.02 * b, "background_alt": b * (1 + 0.01 * grad)}
    z_fast = discovery_significance(*args, engine="fast", **kw).z
    z_pyhf = discovery_significance(*args, **kw).z
    assert z_fast == pytest.approx(z_pyhf, abs=2e-3)


@pytest.mark.parametrize(("n_obs", "b"), [(2.0, 1.5), (5.0, 3.0)])
def test_toy_cls_matches_exact_counting_experiment(n_obs: float, b: float) -> None:
    """Single bin, no uncertainty: CLs = P(n <= n_obs | s + b) / P(n <= n_obs | b) exactly."""
    from scipy import optimize, stats

    exact = optimize.brentq(lambda s: stats.poisson.cdf(n_obs, s + b) / stats.poisson.cdf(n_obs, b) - 0.05, 0.01, 50.0)
    toys = upper_limit(LikelihoodInputs.make([n_obs], [1.0], [b]), method="toys", n_toys=100000)
    assert toys.observed == pytest.approx(exact, rel=0.03)
