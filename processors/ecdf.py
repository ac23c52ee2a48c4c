"""Empirical CDF transforms of jet masses, per mJJ region (the 2025 SALAD/CURTAINS inputs).

Within an mJJ region each jet mass is replaced by the empirical CDF of the marginal over both
jets of the events in that region, F(m) = #(pool <= m) / len(pool), so the two masses become
~uniform on (0, 1] whatever the region. It is sort + rank, vectorized:

* the argsort is the cost: numpy's float argsort runs ~14M values/s here. So each value is packed
  as (order-preserving key of float32(value) << 32 | slot) into a uint64 and the keys are sorted
  (unique keys: any sort gives the same order); the rare runs that are equal in float32 are
  re-sorted by the exact float64 value in a numba pass, so ranks and ties are exact;
* the keys are sorted by an LSD radix sort (four 16-bit passes, numba) from 32k keys up: numpy
  2.4.6 sorts uint64 at its scalar rate on this VM (16.5 M keys/s for 2M keys; its SIMD sort is
  not taken), the radix sort at ~36 M/s (2M keys) to ~100 M/s (100k keys);
* ``ecdf_transform`` merges the sorted values with the sorted reference (numba);
* ``ecdf_in_regions`` builds the keys of both jets grouped by mJJ region in one numba pass
  (a counting sort, not a mask per region), sorts each region's keys, and gives each tie group
  its last rank, writing straight into the (u1, u2) output: one random access per value.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["ecdf_in_regions", "ecdf_transform", "stable_argsort"]

_INDEX_BITS = 32


def _as_finite_1d(values: np.ndarray, name: str) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has {int((~np.isfinite(array)).sum())} non-finite values (NaN or inf)")
    return array + 0.0  # -0.0 -> 0.0, so equal values get equal keys


@numba.njit(inline="always")
def _monotone(bits: np.uint64) -> np.uint64:
    """float32 bit pattern -> unsigned key with the same order as the floats."""
    if bits >> np.uint64(31):
        return bits ^ np.uint64(0xFFFFFFFF)
    return bits ^ np.uint64(0x80000000)


@numba.njit(cache=True, nogil=True)
def _packed_keys(bits: np.ndarray) -> np.ndarray:
    """float32 bit patterns -> uint64 (monotone float key << 32 | position)."""
    keys = np.empty(bits.size, dtype=np.uint64)
    for i in range(bits.size):
        keys[i] = (_monotone(np.uint64(bits[i])) << np.uint64(32)) | np.uint64(i)
    return keys


@numba.njit(cache=True, nogil=True)
def _order_from_keys(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Unpack positions from sorted keys; reorder float32-equal runs by exact float64 value."""
    n = keys.size
    order = np.empty(n, dtype=np.int64)
    low = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    for i in range(n):
        order[i] = np.int64(keys[i] & low)
    start = 0
    while start < n:
        stop = start + 1
        high = keys[start] >> shift
        while stop < n and keys[stop] >> shift == high:
            stop += 1
        for i in range(start + 1, stop):  # stable insertion sort; runs are a few long
            item = order[i]
            j = i
            while j > start and values[order[j - 1]] > values[item]:
                order[j] = order[j - 1]
                j -= 1
            order[j] = item
        start = stop
    return order


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` for finite floats, ~3x faster (see module doc)."""
    values = np.asarray(values, dtype=np.float64) + 0.0  # -0.0 -> 0.0: equal values, equal keys
    if values.size >= 2**_INDEX_BITS:
        return np.argsort(values, kind="stable")
    return _order_from_keys(_sorted_keys(values), values)


@numba.njit(cache=True, nogil=True)
def _merge_ecdf(values: np.ndarray, order: np.ndarray, reference_sorted: np.ndarray, out: np.ndarray) -> None:
    m = reference_sorted.size
    j = 0
    for k in range(order.size):
        i = order[k]
        v = values[i]
        while j < m and reference_sorted[j] <= v:
            j += 1
        out[i] = j / m


#: below this many keys ``np.sort`` is faster (the radix sort clears 65536 counters per pass)
_RADIX_MIN_KEYS = 32768


@numba.njit(cache=True, nogil=True)
def _radix_sort(keys: np.ndarray) -> None:
    """Sort uint64 keys in place: LSD radix, four passes of 16-bit digits; a pass whose digit is
    the same for every key is skipped."""
    n = keys.size
    scratch = np.empty_like(keys)
    counts = np.empty(65536, dtype=np.int64)
    src, dst = keys, scratch
    passes = 0
    for shift in range(0, 64, 16):
        s = np.uint64(shift)
        counts[:] = 0
        for i in range(n):
            counts[(src[i] >> s) & np.uint64(0xFFFF)] += 1
        if n == 0 or counts[(src[0] >> s) & np.uint64(0xFFFF)] == n:
            continue
        total = 0
        for d in range(65536):
            c = counts[d]
            counts[d] = total
            total += c
        for i in range(n):
            d = (src[i] >> s) & np.uint64(0xFFFF)
            dst[counts[d]] = src[i]
            counts[d] += 1
        src, dst = dst, src
        passes += 1
    if passes % 2 == 1:
        keys[:] = src


def _sort_keys(keys: np.ndarray) -> None:
    """Sort uint64 keys in place (radix sort from :data:`_RADIX_MIN_KEYS` keys, else ``np.sort``)."""
    if keys.size >= _RADIX_MIN_KEYS:
        _radix_sort(keys)
    else:
        keys.sort()


def _sorted_keys(values: np.ndarray) -> np.ndarray:
    keys = _packed_keys(values.astype(np.float32).view(np.uint32))
    _sort_keys(keys)
    return keys


def ecdf_transform(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Fraction of ``reference`` that is <= each value (float64, same shape as ``values``).

    >>> ecdf_transform(np.array([0.5, 2.0, 9.0]), np.array([1.0, 2.0, 3.0, 4.0]))
    array([0.  , 0.5 , 1.  ])
    """
    values = _as_finite_1d(values, "values")
    reference = _as_finite_1d(reference, "reference")
    if reference.size == 0:
        raise ValueError("reference sample is empty: its ECDF is undefined")
    out = np.empty(values.size, dtype=np.float64)
    _merge_ecdf(values, stable_argsort(values), np.sort(reference), out)
    return out


@numba.njit(inline="always")
def _float32_key(value: float, scratch32: np.ndarray, scratch_bits: np.ndarray) -> np.uint64:
    scratch32[0] = np.float32(value)
    return _monotone(np.uint64(scratch_bits[0]))


@numba.njit(cache=True, nogil=True)
def _region_keys(
    mj1: np.ndarray, mj2: np.ndarray, mjj: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """One pass: region of each event, then the packed keys of both jets grouped by region.

    Key = float32 mass key << 32 | slot, slot = i for jet 1 and n + i for jet 2 of event i,
    so the ECDF pass can write straight into the (u1, u2) output. Returns (keys, region
    starts, first event with a non-finite mass or -1).
    """
    n = mjj.size
    n_regions = edges.size - 1
    region = np.empty(n, dtype=np.int32)
    starts = np.zeros(n_regions + 1, dtype=np.int64)
    for i in range(n):
        x = mjj[i]
        r = -1
        if edges[0] <= x < edges[n_regions]:  # False for NaN
            if n_regions <= 16:  # branch-free count beats a mispredicted binary search
                r = 0
                for k in range(1, n_regions):
                    r += x >= edges[k]
            else:
                lo, hi = 0, n_regions  # edges[lo] <= x < edges[hi]
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if x < edges[mid]:
                        hi = mid
                    else:
                        lo = mid
                r = lo
            starts[r + 1] += 2
        region[i] = r
    for r in range(n_regions):
        starts[r + 1] += starts[r]
    fill = starts[:-1].copy()
    keys = np.empty(starts[n_regions], dtype=np.uint64)
    scratch32 = np.empty(1, dtype=np.float32)
    scratch_bits = scratch32.view(np.uint32)
    first_bad = -1
    shift = np.uint64(32)
    for i in range(n):
        r = region[i]
        if r < 0:
            continue
        v1 = mj1[i] + 0.0  # -0.0 -> 0.0
        v2 = mj2[i] + 0.0
        if first_bad < 0 and not (math.isfinite(v1) and math.isfinite(v2)):
            first_bad = i
        k = fill[r]
        keys[k] = (_float32_key(v1, scratch32, scratch_bits) << shift) | np.uint64(i)
        keys[k + 1] = (_float32_key(v2, scratch32, scratch_bits) << shift) | np.uint64(n + i)
        fill[r] = k + 2
    return keys, starts, first_bad


@numba.njit(cache=True, nogil=True)
def _self_ecdf(keys: np.ndarray, mj1: np.ndarray, mj2: np.ndarray, out: np.ndarray) -> None:
    """ECDF of each mass within its region's pool, from the region's sorted keys.

    Each tie group gets (its last rank + 1) / pool size. Only float32-equal runs read the
    float64 masses (to split them exactly), so the one random access per value is the
    write into ``out`` (u1 then u2, length 2n).
    """
    size = keys.size
    n = mj1.size
    low = np.uint64(0xFFFFFFFF)
    shift = np.uint64(32)
    run = np.empty(16, dtype=np.int64)
    run_values = np.empty(16, dtype=np.float64)
    start = 0
    while start < size:
        high = keys[start] >> shift
        stop = start + 1
        while stop < size and keys[stop] >> shift == high:
            stop += 1
        if stop - start == 1:
            out[np.int64(keys[start] & low)] = (start + 1) / size
            start = stop
            continue
        length = stop - start
        if run.size < length:
            run = np.empty(2 * length, dtype=np.int64)
            run_values = np.empty(2 * length, dtype=np.float64)
        for i in range(length):  # insertion sort of the run by exact value
            slot = np.int64(keys[start + i] & low)
            value = mj1[slot] if slot < n else mj2[slot - n]
            j = i
            while j > 0 and run_values[j - 1] > value:
                run[j] = run[j - 1]
                run_values[j] = run_values[j - 1]
                j -= 1
            run[j] = slot
            run_values[j] = value
        k = 0
        while k < length:
            end = k + 1
            while end < length and run_values[end] == run_values[k]:
                end += 1
            for t in range(k, end):
                out[run[t]] = (start + end) / size
            k = end
        start = stop


def ecdf_in_regions(
    mj1: np.ndarray, mj2: np.ndarray, mjj: np.ndarray, edges_gev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map both jet masses to the ECDF of their mJJ region's pooled jet-mass sample.

    Regions are [edges[r], edges[r + 1]). Returns (u1, u2), float64 in (0, 1]; NaN for
    events outside the edges (or with NaN mJJ). Non-finite masses inside a region are errors.

    >>> u1, u2 = ecdf_in_regions(np.array([10.0, 30.0]), np.array([20.0, 40.0]),
    ...                          np.array([2000.0, 2100.0]), np.array([1500.0, 2500.0]))
    >>> u1.tolist(), u2.tolist()
    ([0.25, 0.75], [0.5, 1.0])
    """
    edges = np.ascontiguousarray(edges_gev, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError(f"edges_gev must be >= 2 strictly increasing values, got {edges}")
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (mj1, mj2, mjj)]
    if any(a.ndim != 1 or a.shape != arrays[2].shape for a in arrays):
        raise ValueError(f"mj1, mj2 and mjj must be 1-d of equal length, got {[a.shape for a in arrays]}")
    mj1, mj2, mjj = arrays
    n = mjj.size
    if 2 * n >= 2**_INDEX_BITS:
        raise ValueError(f"{n} events: process at most {2**(_INDEX_BITS - 1) - 1} per call")
    keys, starts, first_bad = _region_keys(mj1, mj2, mjj, edges)
    if first_bad >= 0:
        bad = (mj1[first_bad], mj2[first_bad])
        raise ValueError(f"jet masses of event {first_bad} are not finite: {bad}")
    out = np.full(2 * n, np.nan)
    for r in range(edges.size - 1):
        segment = keys[starts[r] : starts[r + 1]]
        if segment.size:
            _sort_keys(segment)
            _self_ecdf(segment, mj1, mj2, out)
    return out[:n], out[n:]
