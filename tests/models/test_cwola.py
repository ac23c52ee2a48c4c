"""CWoLa classifiers at numpy level: efficiencies, member choice, and a signal that is found."""

from __future__ import annotations

import numpy as np

from adsearch.models.cwola import CWoLaConfig, efficiencies_from_members, kfold_efficiencies, output_to_efficiency
from adsearch.models.ensemble import EnsembleLayout, MemberResult


def test_output_to_efficiency_matches_counting() -> None:
    rng = np.random.default_rng(2)
    ref, out = rng.normal(size=300), rng.normal(size=50)
    expected = [(ref >= o).mean() for o in out]
    np.testing.assert_allclose(output_to_efficiency(out, ref), expected)


def test_lowest_validation_loss_member_is_used_per_validation_choice() -> None:
    fold = np.array([0, 0, 1, 1])
    trainable = np.ones(4, bool)
    layout = EnsembleLayout(k=2, n_members=2)
    good, bad = np.array([0.9, 0.1], np.float32), np.array([0.1, 0.9], np.float32)
    members = [MemberResult(0, 1, 0, 0, 0.7, bad, 1, 0.0, 2), MemberResult(0, 1, 1, 0, 0.3, good, 1, 0.0, 2),
               MemberResult(1, 0, 0, 0, 0.2, good, 1, 0.0, 2), MemberResult(1, 0, 1, 0, 0.9, bad, 1, 0.0, 2)]
    eff = efficiencies_from_members(members, fold, trainable, layout)
    np.testing.assert_allclose(eff, [0.5, 1.0, 0.5, 1.0])  # event 0 and 2 scored high by the good members


def test_kfold_efficiencies_find_a_localised_signal_region_excess() -> None:
    """Uniform (m1, m2) ECDFs in SR and sidebands plus 150 SR events in a small corner: those get
    the lowest efficiencies; the background's selection at 10% stays near 10%."""
    rng = np.random.default_rng(4)
    n = 5000
    x = rng.uniform(size=(n, 2)).astype(np.float32)
    y = (rng.uniform(size=n) < 0.4).astype(int)
    sig = np.c_[rng.normal(0.9, 0.02, 150), rng.normal(0.2, 0.02, 150)].astype(np.float32)
    X, Y = np.r_[x, sig], np.r_[y, np.ones(150, int)]
    eff = kfold_efficiencies(X, Y, CWoLaConfig(n_members=1, max_epochs=60, patience=20))
    assert eff.shape == (n + 150,) and np.all((eff > 0) & (eff <= 1))
    assert np.median(eff[n:]) < 0.05
    frac_bkg = np.mean(eff[:n] < 0.1)
    assert 0.05 < frac_bkg < 0.1  # the 10% selection is shared with the 150 signal events
