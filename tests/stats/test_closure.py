from __future__ import annotations

import numpy as np
import pytest

from adsearch.stats.binning import resolution_binning
from adsearch.stats.closure import fit_nonclosure, spurious_signal


def test_spurious_signal_small_on_own_shape_large_on_wrong_shape(spectrum) -> None:
    edges = resolution_binning(500.0, 5000.0)
    mu, _ = spectrum("five_param", edges, 1e7)
    own = spurious_signal(mu, edges, masses_gev=[1000.0, 2000.0], function="five_param")
    assert len(own) == 2 and all(p.converged for p in own)
    assert all(abs(p.significance) < 0.05 for p in own)
    # a shape the three-parameter function cannot follow leaves a spurious signal
    bumpy, _ = spectrum("five_param", edges, 1e7, [1.0, 10.0, -5.0, -0.5, 0.1])
    wrong = spurious_signal(bumpy, edges, masses_gev=[1000.0, 2000.0], function="three_param")
    assert max(abs(p.significance) for p in wrong) > 3.0


def test_nonclosure_correction_only_reduces_and_never_below_zero() -> None:
    rng = np.random.default_rng(4)
    masses = np.linspace(1000.0, 5000.0, 9)
    true_mean, true_sd = 0.2 + 1e-4 * masses, 1.2 + 5e-5 * masses
    z = true_mean + true_sd * rng.standard_normal((400, masses.size))
    corr = fit_nonclosure(z, masses)
    np.testing.assert_allclose(corr.mean(masses), true_mean, atol=0.1)
    np.testing.assert_allclose(corr.sd(masses), true_sd, atol=0.1)
    corrected = corr.apply(z, masses)
    positive = z > 0
    assert np.all(corrected[positive] <= z[positive]) and np.all(corrected[positive] >= 0)
    np.testing.assert_array_equal(corrected[~positive], z[~positive])
    # as published: the fitted mean is subtracted, with no rescaling by the fitted sd
    big = z > true_mean + 2 * true_sd
    np.testing.assert_allclose(corrected[big], (z - corr.mean(masses))[big])
    assert not np.allclose(corrected[big], ((z - corr.mean(masses)) / corr.sd(masses))[big])
    # a negative fitted mean (a method that under-covers) never raises Z
    raised = fit_nonclosure(z - 1.0, masses).apply(z, masses)
    np.testing.assert_array_equal(raised[positive], z[positive])
    with pytest.raises(ValueError, match="n_samples"):
        fit_nonclosure(np.ones((1, 9)), masses)
