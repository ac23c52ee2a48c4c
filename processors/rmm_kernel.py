"""The numba kernel behind :mod:`adsearch.processors.rmm`: flat arrays in, 1287 cells out.

Kept apart from the awkward bookkeeping so the hot loop reads on its own; conventions and
cell formulas are documented in :mod:`adsearch.processors.rmm`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["rmm_kernel"]

# Taylor coefficients (-1)^k / (2k+1)! and (-1)^k / (2k)!: exact to ~1e-17 on |r| <= pi/4
_S1, _S2, _S3, _S4, _S5, _S6, _S7 = ((-1.0) ** k / math.factorial(2 * k + 1) for k in range(1, 8))
_C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8 = ((-1.0) ** k / math.factorial(2 * k) for k in range(1, 9))
_PIO2_HI = 1.5707963267341256  # pi/2 split in two (fdlibm's pio2_1, pio2_1t) for exact reduction
_PIO2_LO = 6.0771005065061922e-11


@numba.njit(inline="always", error_model="numpy")
def _sincos(x: float) -> tuple[float, float]:
    """sin and cos for azimuths: quadrant reduction + Taylor series on |r| <= pi/4 (error < 1e-16).

    libm's sin and cos cost more than the rest of the per-object work together.
    """
    if abs(x) > 1.0e4:
        return math.sin(x), math.cos(x)
    k = math.floor(x * (2.0 / math.pi) + 0.5)
    r = (x - k * _PIO2_HI) - k * _PIO2_LO
    r2 = r * r
    s = r + r * r2 * (_S1 + r2 * (_S2 + r2 * (_S3 + r2 * (_S4 + r2 * (_S5 + r2 * (_S6 + r2 * _S7))))))
    c = _C7 + r2 * _C8
    c = 1.0 + r2 * (_C1 + r2 * (_C2 + r2 * (_C3 + r2 * (_C4 + r2 * (_C5 + r2 * (_C6 + r2 * c))))))
    # quadrant q: (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s); selects, not branches,
    # because azimuths are random and a mispredicted 4-way branch costs more than the series
    q = int(k) & 3
    odd = (q & 1) == 1
    sin_x = c if odd else s
    cos_x = s if odd else c
    sin_sign = 1.0 - (q & 2)
    cos_sign = 1.0 - ((q + 1) & 2)
    return sin_sign * sin_x, cos_sign * cos_x


@numba.njit(inline="always", error_model="numpy")
def _place(out: np.ndarray, ev: int, column: np.ndarray, cell: int, value: float) -> int:
    """Write one cell if it is kept, clipped to [0, 1]; return 1 when clipping acted."""
    col = column[cell]
    if col < 0:
        return 0
    clipped = 0
    if value > 1.0:
        value = 1.0
        clipped = 1
    elif value < 0.0:
        value = 0.0
        clipped = 1
    out[ev, col] = value
    return clipped


@numba.njit(inline="always", error_model="numpy")
def _kinematics(pt: float, eta: float, phi: float, mass: float, dest: np.ndarray, row: int) -> bool:
    """dest[row] = px, py, pz, E, E_T, exp(y/2), exp(-y/2) from (pt, eta, phi, m); False if not finite.

    One exp per object; cosh/sinh(eta) follow from it, E_T = E pT / |p| = E / cosh(eta), and
    exp(|y|) = (E + |pz|) / m_T, the form without cancellation (y has the sign of pz).
    """
    p_t = float(pt)
    m2 = float(mass) * abs(float(mass))  # negative mass: E^2 = p^2 - m^2, as ROOT and vector do
    ex = math.exp(float(eta))
    inv_ex = 1.0 / ex
    cosh_eta = 0.5 * (ex + inv_ex)
    p_z = 0.5 * p_t * (ex - inv_ex)
    p_abs = p_t * cosh_eta
    energy = math.sqrt(max(p_abs * p_abs + m2, 0.0))
    m_t = math.sqrt(max(p_t * p_t + m2, 0.0))
    w_abs = (energy + abs(p_z)) / m_t if m_t > 0.0 else 1.0  # exp(|y|)
    a_abs = math.sqrt(w_abs)
    forward = p_z >= 0.0  # a select, not a branch: the sign of pz is a coin flip
    sin_phi, cos_phi = _sincos(float(phi))
    dest[row, 0] = p_t * cos_phi
    dest[row, 1] = p_t * sin_phi
    dest[row, 2] = p_z
    dest[row, 3] = energy
    dest[row, 4] = energy / cosh_eta
    dest[row, 5] = a_abs if forward else 1.0 / a_abs
    dest[row, 6] = 1.0 / a_abs if forward else a_abs
    return math.isfinite(energy + p_abs + dest[row, 0] + dest[row, 1] + w_abs)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def rmm_kernel(  # noqa: PLR0913, PLR0915 - flat arrays in, one pass per event
    offsets: np.ndarray,  # (n_kinds, n + 1) int64, into the flat arrays below
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    mass: np.ndarray,
    met_pt: np.ndarray,
    met_phi: np.ndarray,
    starts: np.ndarray,
    caps: np.ndarray,
    column: np.ndarray,  # (size*size,) output column per cell, -1: not written
    size: int,
    sqrt_s: float,
    scale: float,
    met_min: float,
    out: np.ndarray,  # (>= n, n_out) float32, overwritten row by row
) -> tuple[int, int]:
    """Fill ``out``; return (cells clipped, first event with a non-finite input or -1)."""
    n_kinds = offsets.shape[0]
    n_events = offsets.shape[1] - 1
    n_out = out.shape[1]
    max_count = 1
    for t in range(n_kinds):
        for ev in range(n_events):
            max_count = max(max_count, offsets[t, ev + 1] - offsets[t, ev])
    n_slots = 0
    for t in range(n_kinds):
        n_slots += caps[t]
    # scratch, allocated once per call: the kept objects in matrix order (columns as in
    # _kinematics), and for a type with more objects than its cap, all of them plus an order.
    kept = np.empty((n_slots, 7), dtype=np.float64)
    each = np.empty((max_count, 7), dtype=np.float64)
    order = np.empty(max_count, dtype=np.int64)
    row = np.empty(7, dtype=np.float64)
    pos = np.empty(n_slots, dtype=np.int64)
    rank = np.empty(n_slots, dtype=np.int64)
    n_clipped = 0
    first_bad = -1
    inv_s = 1.0 / sqrt_s
    half_scale = 0.5 * scale

    for ev in range(n_events):
        for c in range(n_out):
            out[ev, c] = 0.0
        # ---- kinematics of the kept objects, E_T-descending within a type
        n_obj = 0
        finite = math.isfinite(met_pt[ev]) and math.isfinite(met_phi[ev])
        for t in range(n_kinds):
            first = offsets[t, ev]
            count = offsets[t, ev + 1] - first
            take = min(count, caps[t])
            if count <= caps[t]:  # usual case: compute in place, sort rows (inputs come pT-sorted)
                for k in range(count):
                    i = first + k
                    finite &= _kinematics(pt[i], eta[i], phi[i], mass[i], kept, n_obj + k)
                for k in range(n_obj + 1, n_obj + count):  # stable insertion sort, descending E_T
                    if kept[k, 4] <= kept[k - 1, 4]:
                        continue
                    row[:] = kept[k]
                    j = k
                    while j > n_obj and kept[j - 1, 4] < row[4]:
                        kept[j] = kept[j - 1]
                        j -= 1
                    kept[j] = row
            else:  # more than the cap: rank them all, keep the leading ones
                for k in range(count):
                    i = first + k
                    finite &= _kinematics(pt[i], eta[i], phi[i], mass[i], each, k)
                    j = k
                    while j > 0 and each[order[j - 1], 4] < each[k, 4]:
                        order[j] = order[j - 1]
                        j -= 1
                    order[j] = k
                for r in range(take):
                    kept[n_obj + r] = each[order[r]]
            for r in range(take):
                pos[n_obj] = starts[t] + r
                rank[n_obj] = r
                n_obj += 1
        if not finite and first_bad < 0:
            first_bad = ev

        # ---- cells: every value goes through the same clip-and-place step
        met = float(met_pt[ev])
        has_met = met > 0.0 and met >= met_min
        sin_met, cos_met = _sincos(float(met_phi[ev]))
        mx = met * cos_met
        my = met * sin_met
        if has_met:
            n_clipped += _place(out, ev, column, 0, met * inv_s)
        for a in range(n_obj):
            p = pos[a]
            base = p * size
            d = kept[a, 5] - kept[a, 6]  # u = exp(y/2): cosh(y) - 1 = (u - 1/u)^2 / 2
            n_clipped += _place(out, ev, column, base, half_scale * d * d)
            if has_met:
                sx = kept[a, 0] + mx
                sy = kept[a, 1] + my
                st = kept[a, 4] + met
                n_clipped += _place(
                    out, ev, column, p, math.sqrt(max(st * st - sx * sx - sy * sy, 0.0)) * inv_s
                )
            if rank[a] == 0:
                diag = kept[a, 4] * inv_s
            else:
                total = kept[a - 1, 4] + kept[a, 4]
                diag = (kept[a - 1, 4] - kept[a, 4]) / total if total > 0.0 else 0.0
            n_clipped += _place(out, ev, column, base + p, diag)
            for b in range(a + 1, n_obj):
                q = pos[b]
                se = kept[a, 3] + kept[b, 3]
                sx = kept[a, 0] + kept[b, 0]
                sy = kept[a, 1] + kept[b, 1]
                sz = kept[a, 2] + kept[b, 2]
                m2 = se * se - sx * sx - sy * sy - sz * sz
                n_clipped += _place(out, ev, column, base + q, math.sqrt(max(m2, 0.0)) * inv_s)
                d = kept[a, 5] - kept[b, 5]  # cosh((y_a - y_b)/2) - 1 = (u_a - u_b)^2 / (2 u_a u_b)
                angle = half_scale * d * d * kept[a, 6] * kept[b, 6]
                n_clipped += _place(out, ev, column, q * size + p, angle)
    return n_clipped, first_bad
