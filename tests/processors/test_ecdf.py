"""ECDF kernels against numpy (sort + searchsorted), uniformity (KS), monotonicity, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from adsearch.processors.ecdf import ecdf_in_regions, ecdf_transform, stable_argsort

EDGES_GEV = np.array([1500.0, 2000.0, 2600.0, 3500.0, 5000.0])


def numpy_ecdf(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.sort(reference), values, side="right") / reference.size


def numpy_ecdf_in_regions(mj1, mj2, mjj, edges):
    """Reference: a mask per region, pool both jets, searchsorted."""
    u1 = np.full(mjj.size, np.nan)
    u2 = np.full(mjj.size, np.nan)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (mjj >= lo) & (mjj < hi)
        pool = np.concatenate([mj1[sel], mj2[sel]])
        if pool.size:
            u1[sel] = numpy_ecdf(mj1[sel], pool)
            u2[sel] = numpy_ecdf(mj2[sel], pool)
    return u1, u2


def dijet_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jet masses whose scale grows with mJJ, so a global ECDF is not uniform per region."""
    rng = np.random.default_rng(seed)
    mjj = 1300.0 + rng.exponential(900.0, n)
    scale = 20.0 + 0.02 * mjj
    return rng.gamma(3.0, scale / 3.0), rng.gamma(2.0, scale / 2.5), mjj


@pytest.mark.parametrize("rounding", [None, 0, -1])
def test_ecdf_transform_equals_numpy(rounding):
    rng = np.random.default_rng(1)
    values = rng.normal(0.0, 50.0, 20_000)
    reference = rng.normal(10.0, 40.0, 15_000)
    if rounding is not None:  # heavy ties, within and across the two samples
        values, reference = np.round(values, rounding), np.round(reference, rounding)
    np.testing.assert_array_equal(ecdf_transform(values, reference), numpy_ecdf(values, reference))
    np.testing.assert_array_equal(ecdf_transform(values, values), numpy_ecdf(values, values))


def test_ecdf_transform_float32_and_small_cases():
    rng = np.random.default_rng(2)
    values = rng.gamma(2.0, 30.0, 5000).astype(np.float32)
    np.testing.assert_array_equal(ecdf_transform(values, values[::2]), numpy_ecdf(values, values[::2]))
    assert ecdf_transform(np.array([0.5, 2.0, 9.0]), np.array([1.0, 2.0, 3.0, 4.0])).tolist() == [0.0, 0.5, 1.0]
    assert ecdf_transform(np.zeros(0), np.ones(3)).shape == (0,)
    assert ecdf_transform(np.array([-0.0, 0.0]), np.array([0.0, -0.0])).tolist() == [1.0, 1.0]


def test_stable_argsort_is_numpys():
    rng = np.random.default_rng(3)
    continuous = rng.normal(0.0, 1.0, 50_000)
    tied = np.round(continuous * 4.0)  # many exact ties: stability matters
    # float32-equal but float64-different values: the exact fix-up pass has to act
    close = 100.0 + rng.integers(0, 5, 10_000) * 1e-9
    for values in (continuous, tied, close, np.array([0.0, -0.0, 0.0, -1.0]), np.zeros(0)):
        np.testing.assert_array_equal(stable_argsort(values), np.argsort(values, kind="stable"))


def test_ecdf_in_regions_equals_numpy_reference():
    mj1, mj2, mjj = dijet_sample(30_000, seed=4)
    mjj[:5] = [1499.0, 5000.0, np.nan, 1500.0, 4999.9]  # outside, upper edge, NaN, edges
    u1, u2 = ecdf_in_regions(mj1, mj2, mjj, EDGES_GEV)
    r1, r2 = numpy_ecdf_in_regions(mj1, mj2, mjj, EDGES_GEV)
    np.testing.assert_array_equal(u1, r1)
    np.testing.assert_array_equal(u2, r2)
    assert np.isnan(u1[:3]).all() and np.isnan(u2[:3]).all() and np.isfinite(u1[3:5]).all()
    # heavy ties (masses on a 1 GeV grid) and float32 inputs
    t1, t2 = np.round(mj1).astype(np.float32), np.round(mj2).astype(np.float32)
    for got, want in zip(ecdf_in_regions(t1, t2, mjj, EDGES_GEV), numpy_ecdf_in_regions(t1, t2, mjj, EDGES_GEV)):
        np.testing.assert_array_equal(got, want)


def test_ecdf_in_regions_is_uniform_and_monotone():
    mj1, mj2, mjj = dijet_sample(40_000, seed=5)
    u1, u2 = ecdf_in_regions(mj1, mj2, mjj, EDGES_GEV)
    region = np.searchsorted(EDGES_GEV, mjj, side="right") - 1
    global_u = numpy_ecdf(mj1, np.concatenate([mj1, mj2]))
    for r in range(EDGES_GEV.size - 1):
        sel = region == r
        pooled_u = np.concatenate([u1[sel], u2[sel]])
        assert stats.kstest(pooled_u, "uniform").pvalue > 0.05
        # a single global ECDF is visibly not uniform within a region: the test has power
        assert stats.kstest(global_u[sel], "uniform").pvalue < 1e-6
        masses = np.concatenate([mj1[sel], mj2[sel]])
        order = np.argsort(masses, kind="stable")
        assert np.all(np.diff(pooled_u[order]) > 0)  # continuous masses: strictly increasing
        assert pooled_u.max() == 1.0 and pooled_u.min() == pytest.approx(1.0 / masses.size)


def test_ecdf_in_regions_small_and_deterministic():
    u1, u2 = ecdf_in_regions(
        np.array([10.0, 30.0, 7.0]), np.array([20.0, 40.0, 7.0]),
        np.array([2000.0, 2100.0, 9000.0]), np.array([1500.0, 2500.0]),
    )  # fmt: skip
    assert u1[:2].tolist() == [0.25, 0.75] and u2[:2].tolist() == [0.5, 1.0]
    assert np.isnan(u1[2]) and np.isnan(u2[2])
    mj1, mj2, mjj = dijet_sample(1000, seed=6)
    first, second = ecdf_in_regions(mj1, mj2, mjj, EDGES_GEV), ecdf_in_regions(mj1, mj2, mjj, EDGES_GEV)
    np.testing.assert_array_equal(first[0], second[0])
    empty = ecdf_in_regions(np.zeros(0), np.zeros(0), np.zeros(0), EDGES_GEV)
    assert empty[0].shape == empty[1].shape == (0,)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="non-finite"):
        ecdf_transform(np.array([1.0, np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="empty"):
        ecdf_transform(np.array([1.0]), np.zeros(0))
    with pytest.raises(ValueError, match="event 1"):
        ecdf_in_regions(np.array([1.0, np.inf]), np.array([1.0, 2.0]), np.array([2000.0, 2000.0]), EDGES_GEV)
    # a NaN mass outside every region is not used, so it is no error
    u1, _ = ecdf_in_regions(np.array([1.0, np.nan]), np.array([1.0, 2.0]), np.array([2000.0, 100.0]), EDGES_GEV)
    assert u1[0] == 1.0 and np.isnan(u1[1])
    with pytest.raises(ValueError, match="increasing"):
        ecdf_in_regions(np.ones(2), np.ones(2), np.ones(2), np.array([2000.0, 1500.0]))
    with pytest.raises(ValueError, match="equal length"):
        ecdf_in_regions(np.ones(2), np.ones(3), np.ones(2), EDGES_GEV)


@pytest.mark.parametrize("n", [0, 1, 40_000, 70_000])
def test_radix_sort_of_keys_equals_numpy_sort(n: int) -> None:
    """The keys' radix sort (used from 32k keys) is np.sort, also when passes are skipped (few keys:
    constant high digits) and for keys differing only in one digit."""
    from adsearch.processors.ecdf import _radix_sort

    rng = np.random.default_rng(n)
    for keys in (rng.integers(0, 2**63, n, dtype=np.uint64),
                 (rng.integers(0, 2**16, n, dtype=np.uint64) << np.uint64(32)) | np.arange(n, dtype=np.uint64)):
        ours = keys.copy()
        _radix_sort(ours)
        np.testing.assert_array_equal(ours, np.sort(keys))
