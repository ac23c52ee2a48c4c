"""The flows behind CURTAINS, CATHODE and DOWN-UP-SAMPLING, trained for real (TensorFlow Probability)."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.models.flow_matching import FlowMatchingConfig, train_flow_matching
from adsearch.models.flows import FlowConfig
from adsearch.models.templates import CurtainsConfig, cathode_template, curtains_template, fit_sideband_flow


def _sidebands(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features whose mean and spread move with mJJ (TeV), sidebands [2.0, 2.6] and [3.2, 3.8] only."""
    rng = np.random.default_rng(seed)
    m = np.where(rng.random(n) < 0.6, rng.uniform(2.0, 2.6, n), rng.uniform(3.2, 3.8, n))
    a = 0.1 * m + 0.03 * m * rng.normal(size=n)
    b = 0.5 * a / 0.1 + 0.3 * rng.normal(size=n)  # correlated with a
    return np.stack([a, b], 1).astype(np.float32), m * 1000.0


def _truth(m_tev: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = 0.1 * m_tev + 0.03 * m_tev * rng.normal(size=n)
    return np.stack([a, 5.0 * a + 0.3 * rng.normal(size=n)], 1)


def test_transport_and_sampling_interpolate_into_the_signal_region() -> None:
    x, m = _sidebands(4000, 0)
    config = CurtainsConfig(flow=FlowConfig(max_epochs=30, n_layers=2, hidden=[32], learning_rate=1e-2, batch_size=128,
                                             seed=1), oversampling=2)
    flow = fit_sideband_flow(x, m, config.flow)
    targets = np.full(2 * len(x), 2900.0)
    moved = curtains_template(x, m, targets, config, flow=flow)
    sampled = cathode_template(x, m, targets[:4000], config, flow=flow)
    truth = _truth(2.9, 20000, 5)
    assert moved.features.shape == (8000, 2) and moved.info["oversampling"] == 2
    for t in (moved, sampled):
        # the SR's mean (never seen in training) within half the sidebands' lever arm, the
        # a-b correlation and the spread kept
        assert np.all(np.abs(t.features.mean(0) - truth.mean(0)) < 0.5 * np.array([0.06, 0.3])), t.features.mean(0)
        assert abs(np.corrcoef(t.features.T)[0, 1] - np.corrcoef(truth.T)[0, 1]) < 0.15
        assert abs(t.features[:, 0].std() / truth[:, 0].std() - 1.0) < 0.25
    # the features follow the condition: moving the same events to 2.3 and 3.5 TeV shifts <a> by ~0.12
    low = flow.transport(x, m[:, None] / 1000.0, np.full((len(x), 1), 2.3)).mean(0)
    high = flow.transport(x, m[:, None] / 1000.0, np.full((len(x), 1), 3.5)).mean(0)
    assert abs((high - low)[0] / 0.12 - 1.0) < 0.3, (low, high)
    # transport keeps each event's latent point: an event above the mean stays above it
    rank_in = np.argsort(np.argsort(x[:, 0] / (m / 1000.0)))
    rank_out = np.argsort(np.argsort(moved.features[::2, 0]))
    assert np.corrcoef(rank_in, rank_out)[0, 1] > 0.8
    # the density itself prefers the condition the events came from
    at_2 = _truth(2.2, 500, 3)
    assert flow.log_prob(at_2, np.full((500, 1), 2.2)).mean() > flow.log_prob(at_2, np.full((500, 1), 3.6)).mean() + 0.5
    with pytest.raises(ValueError, match="whole number"):
        curtains_template(x, m, targets[:-1], config, flow=flow)


def test_flow_matching_learns_the_conditional_density() -> None:
    x, m = _sidebands(4000, 4)
    model = train_flow_matching(x, m[:, None] / 1000.0, FlowMatchingConfig(max_epochs=25, learning_rate=1e-3, seed=2))
    for m_tev in (2.3, 3.5):
        s = model.sample(np.full((4000, 1), m_tev), seed=3)
        truth = _truth(m_tev, 20000, 6)
        assert np.all(np.abs(s.mean(0) - truth.mean(0)) < np.array([0.01, 0.06])), (m_tev, s.mean(0), truth.mean(0))
        assert abs(s[:, 1].std() / truth[:, 1].std() - 1.0) < 0.2
    # the published settings are the defaults
    d = FlowMatchingConfig()
    assert (d.hidden, d.learning_rate, d.batch_size) == ([32, 32, 32], 1e-4, 64)
