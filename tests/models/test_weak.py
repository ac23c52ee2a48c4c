"""The 2025 data-vs-template classifier: out-of-fold scores, working points, ensemble histograms."""

from __future__ import annotations

import numpy as np

from adsearch.models.weak import (
    WeakConfig, ensemble_histograms, fit_weak_classifier, select_working_point, summarise_members,
    training_arrays, weak_classifier_scores,
)


def test_standard_error_of_the_median_matches_the_spread_of_medians() -> None:
    rng = np.random.default_rng(3)
    cov = np.array([[100.0, 80.0], [80.0, 100.0]])
    medians, predicted = [], []
    for _ in range(3000):
        members = rng.multivariate_normal([500.0, 300.0], cov, size=25)
        h = summarise_members(members)
        medians.append(h.median)
        predicted.append(h.covariance)
    spread = np.cov(np.array(medians), rowvar=False)
    mean_pred = np.mean(predicted, axis=0)
    # asymptotic pi/2 factor: within 10% for 25 members; correlations kept
    np.testing.assert_allclose(np.sqrt(np.diag(mean_pred)), np.sqrt(np.diag(spread)), rtol=0.1)
    # the medians correlate as (2/pi) arcsin(0.8) = 0.59, not as the members (0.8)
    rho_medians = spread[0, 1] / np.sqrt(spread[0, 0] * spread[1, 1])
    assert abs(rho_medians - mean_pred[0, 1] / np.sqrt(mean_pred[0, 0] * mean_pred[1, 1])) < 0.05


def test_ensemble_histograms_take_the_bin_wise_median_of_members() -> None:
    m = np.array([1.5, 1.5, 2.5, 2.5, 2.5])
    sel = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 1], [0, 0, 1]], bool)
    h = ensemble_histograms(m, sel, np.array([1.0, 2.0, 3.0]))
    assert h.per_member.tolist() == [[2, 1], [1, 2], [0, 3]]
    assert h.median.tolist() == [1.0, 2.0] and h.correlation[0, 1] < -0.99


def test_working_point_keeps_the_fraction_in_every_fold_and_member() -> None:
    rng = np.random.default_rng(1)
    scores, fold = rng.random((5000, 3)), rng.integers(0, 5, 5000)
    ref = rng.random(5000) < 0.5
    sel = select_working_point(scores, fold, ref, 0.1)
    for f in range(5):
        frac = sel[(fold == f) & ref].mean(axis=0)
        np.testing.assert_allclose(frac, 0.1, atol=2e-3)
    assert not np.array_equal(sel[:, 0], sel[:, 1])  # each member its own selection


def test_template_weights_balance_the_classes() -> None:
    _, y, w, trainable = training_arrays(np.zeros((30, 2)), np.zeros((90, 2)), np.linspace(1, 3, 90),
                                         x_extra=np.zeros((5, 2)))
    assert w[y == 1].sum() == 30 and np.isclose(w[(y == 0) & trainable].sum(), 30) and w[~trainable].sum() == 0


def test_classifier_scores_a_localised_excess_out_of_fold_and_predicts_new_events() -> None:
    rng = np.random.default_rng(0)
    template = rng.normal(size=(1500, 2))
    data = rng.normal(size=(1500, 2))
    data[:150] = rng.normal([2.5, 2.5], 0.3, size=(150, 2))  # an excess the template lacks
    config = WeakConfig(n_members=2, max_epochs=8, patience=3)
    scores = weak_classifier_scores(data, template, config)
    assert scores.shape == (1500, 2) and np.all(np.isfinite(scores))
    top = scores >= np.quantile(scores, 0.9, axis=0)
    assert top[:150].mean() > 0.8 and top[150:].mean() < 0.05
    ensemble = fit_weak_classifier(data, template, config)
    p_sig = ensemble.predict(rng.normal([2.5, 2.5], 0.3, size=(200, 2)))
    p_bkg = ensemble.predict(rng.normal(size=(200, 2)))
    assert p_sig.shape == (200, 2) and np.all(p_sig.mean(axis=0) > p_bkg.mean(axis=0) + 0.3)


def test_gradient_boosted_members_find_the_excess_too() -> None:
    rng = np.random.default_rng(2)
    template = rng.normal(size=(1500, 3))
    data = rng.normal(size=(1500, 3))
    data[:150] = rng.normal([2.0, 2.0, 0.0], 0.3, size=(150, 3))
    config = WeakConfig(kind="hgb", n_members=2, hgb_max_iter=40)
    scores = weak_classifier_scores(data, template, config)
    top = scores >= np.quantile(scores, 0.9, axis=0)
    assert top[:150].mean() > 0.7 and top[150:].mean() < 0.05
    assert not np.array_equal(scores[:, 0], scores[:, 1])  # each member its own seed
    p = fit_weak_classifier(data, template, config).predict(rng.normal([2.0, 2.0, 0.0], 0.3, size=(100, 3)))
    assert p.shape == (100, 2) and p.mean() > 0.6


def test_dense_outputs_saturate_without_overflow_warnings() -> None:
    """Events far out in feature space give logits of hundreds: the sigmoid saturates at 0 or 1
    quietly (the plain 1 / (1 + exp(-x)) warned about overflow in every weak-search log)."""
    import warnings

    from adsearch.models.dense import train_dense

    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(-1, 0.3, (200, 2)), rng.normal(1, 0.3, (200, 2))].astype(np.float32)
    y = np.r_[np.zeros(200), np.ones(200)]
    fit = train_dense(x[::2], y[::2], None, x[1::2], y[1::2], None, seed=1, hidden=(8,), max_epochs=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        far = fit.predict(np.array([[-1e4, -1e4], [1e4, 1e4]], np.float32))
    assert np.all(np.minimum(far, 1.0 - far) < 1e-12), far  # saturated, in [0, 1]
