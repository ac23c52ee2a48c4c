"""Numba kernels for the per-jet substructure and isolation hot paths.

Profiling a 500-event dijet batch showed the ``fastjet`` package's softdrop and njettiness
wrappers at ~0.6 and ~0.4 ms per jet (over half the reconstruction time) and the awkward
cartesian isolation at ~0.7 ms per event.  These kernels do the same work on flat arrays with
offsets (coffea's numba pattern); ``tests/generator/test_kernels.py`` compares each with the
FastJet / awkward reference on the same jets.

Pairwise clustering keeps each node's geometric nearest neighbour (the FastJet N^2 "NN"
strategy): for kt-type distances min(kt_i^2, kt_j^2) dR^2 the minimal pair is always a pair of
geometric nearest neighbours, so one NN table serves both C/A and kt.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["softdrop_mass", "nsubjettiness_wta_kt", "isolation_sums"]

_CA = 0
_KT_WTA = 1


@numba.njit(cache=True, inline="always")
def _dr2(y1: float, p1: float, y2: float, p2: float) -> float:
    dphi = abs(p1 - p2)
    if dphi > np.pi:
        dphi = 2.0 * np.pi - dphi
    return (y1 - y2) ** 2 + dphi * dphi


@numba.njit(cache=True)
def _rap_phi(px: float, py: float, pz: float, e: float) -> tuple[float, float]:
    pt2 = px * px + py * py
    phi = np.arctan2(py, px)
    if phi < 0.0:
        phi += 2.0 * np.pi
    if pt2 == 0.0:
        return (1e5 if pz > 0 else -1e5), phi
    mt2 = max(e * e - pz * pz, 1e-300)  # = pt^2 + m^2
    num = e + abs(pz)
    rap = 0.5 * np.log(mt2 / (num * num))  # -|y|, numerically safe form used by FastJet
    return (-rap if pz > 0 else rap), phi


@numba.njit(cache=True)
def _cluster(px, py, pz, e, mode, node_px, node_py, node_pz, node_e, rap, phi, pt2, left, right, history):
    """Cluster n particles down to one node (R = infinity). Nodes 0..n-1 are the inputs, node
    n + s is made at step s; ``history[m]`` records for m <= 4 the first node id alive when m
    nodes remained (the active set is read back from ``left``/``right``)."""
    n = len(px)
    active = np.empty(n, np.int64)
    nn = np.empty(2 * n - 1, np.int64)
    nnd = np.empty(2 * n - 1)
    for i in range(n):
        node_px[i], node_py[i], node_pz[i], node_e[i] = px[i], py[i], pz[i], e[i]
        rap[i], phi[i] = _rap_phi(px[i], py[i], pz[i], e[i])
        pt2[i] = px[i] * px[i] + py[i] * py[i]
        left[i] = -1
        right[i] = -1
        active[i] = i
    m = n
    for a in range(m):
        i = active[a]
        best, arg = np.inf, -1
        for b in range(m):
            if b != a:
                d = _dr2(rap[i], phi[i], rap[active[b]], phi[active[b]])
                if d < best:
                    best, arg = d, active[b]
        nn[i], nnd[i] = arg, best
    for step in range(n - 1):
        # pick the pair with the smallest distance measure
        best, ia = np.inf, -1
        for a in range(m):
            i = active[a]
            d = nnd[i]
            if mode == _KT_WTA:
                d *= min(pt2[i], pt2[nn[i]])
            if d < best:
                best, ia = d, a
        i = active[ia]
        k = nn[i]
        new = n + step
        if mode == _KT_WTA:
            harder = i if pt2[i] >= pt2[k] else k
            pt_sum = np.sqrt(pt2[i]) + np.sqrt(pt2[k])
            rap[new], phi[new] = rap[harder], phi[harder]
            pt2[new] = pt_sum * pt_sum
        node_px[new] = node_px[i] + node_px[k]
        node_py[new] = node_py[i] + node_py[k]
        node_pz[new] = node_pz[i] + node_pz[k]
        node_e[new] = node_e[i] + node_e[k]
        if mode == _CA:
            rap[new], phi[new] = _rap_phi(node_px[new], node_py[new], node_pz[new], node_e[new])
            pt2[new] = node_px[new] ** 2 + node_py[new] ** 2
        left[new], right[new] = i, k
        # replace i by new, drop k
        for a in range(m):
            if active[a] == i:
                active[a] = new
        for a in range(m):
            if active[a] == k:
                active[a] = active[m - 1]
                m -= 1
                break
        if m <= 4:
            history[m] = new
        # update nearest neighbours
        best_new, arg_new = np.inf, -1
        for a in range(m):
            x = active[a]
            if x == new:
                continue
            d = _dr2(rap[x], phi[x], rap[new], phi[new])
            if d < best_new:
                best_new, arg_new = d, x
            if nn[x] == i or nn[x] == k:
                bx, ax = np.inf, -1
                for b in range(m):
                    y = active[b]
                    if y != x:
                        dy = _dr2(rap[x], phi[x], rap[y], phi[y])
                        if dy < bx:
                            bx, ax = dy, y
                nn[x], nnd[x] = ax, bx
            elif d < nnd[x]:
                nn[x], nnd[x] = new, d
        nn[new], nnd[new] = arg_new, best_new
    return 2 * n - 2


@numba.njit(cache=True)
def _softdrop_mass_one(px, py, pz, e, zcut, beta, r0):
    n = len(px)
    if n == 1:
        return np.sqrt(max(e[0] ** 2 - px[0] ** 2 - py[0] ** 2 - pz[0] ** 2, 0.0))
    size = 2 * n - 1
    npx, npy, npz, ne = np.empty(size), np.empty(size), np.empty(size), np.empty(size)
    rap, phi, pt2 = np.empty(size), np.empty(size), np.empty(size)
    left, right = np.empty(size, np.int64), np.empty(size, np.int64)
    history = np.full(5, -1, np.int64)
    node = _cluster(px, py, pz, e, _CA, npx, npy, npz, ne, rap, phi, pt2, left, right, history)
    while left[node] >= 0:
        a, b = left[node], right[node]
        pta, ptb = np.sqrt(pt2[a]), np.sqrt(pt2[b])
        z = min(pta, ptb) / (pta + ptb)
        threshold = zcut
        if beta != 0.0:
            threshold *= (np.sqrt(_dr2(rap[a], phi[a], rap[b], phi[b])) / r0) ** beta
        if z > threshold:
            break
        node = a if pta >= ptb else b
    return np.sqrt(max(ne[node] ** 2 - npx[node] ** 2 - npy[node] ** 2 - npz[node] ** 2, 0.0))


@numba.njit(cache=True)
def softdrop_mass(px, py, pz, e, offsets, zcut, beta, r0):
    """Softdrop groomed mass per jet: C/A reclustering of each jet's constituents
    (``offsets`` delimit the jets), then declustering along the harder branch until
    min(pT1, pT2) / (pT1 + pT2) > zcut (dR12 / r0)^beta.  Empty jets get 0."""
    n_jets = len(offsets) - 1
    out = np.zeros(n_jets)
    for j in range(n_jets):
        a, b = offsets[j], offsets[j + 1]
        if b > a:
            out[j] = _softdrop_mass_one(px[a:b], py[a:b], pz[a:b], e[a:b], zcut, beta, r0)
    return out


@numba.njit(cache=True)
def _nsub_one(px, py, pz, e, r0, out):
    n = len(px)
    size = 2 * n - 1
    npx, npy, npz, ne = np.empty(size), np.empty(size), np.empty(size), np.empty(size)
    rap, phi, pt2 = np.empty(size), np.empty(size), np.empty(size)
    left, right = np.empty(size, np.int64), np.empty(size, np.int64)
    history = np.full(5, -1, np.int64)
    _cluster(px, py, pz, e, _KT_WTA, npx, npy, npz, ne, rap, phi, pt2, left, right, history)
    pts = np.sqrt(px * px + py * py)
    norm = pts.sum() * r0
    # alive nodes when N remained: nodes created at or before history[N], not yet merged then
    n_nodes = 2 * n - 1
    parent_step = np.full(n_nodes, n_nodes, np.int64)
    for node in range(n, n_nodes):
        parent_step[left[node]] = node
        parent_step[right[node]] = node
    for big_n in range(1, 5):
        if big_n >= n:
            out[big_n - 1] = 0.0
            continue
        last = history[big_n]
        total = 0.0
        for p in range(n):
            prap, pphi = _rap_phi(px[p], py[p], pz[p], e[p])
            best = np.inf
            for node in range(last + 1):
                if parent_step[node] > last:  # alive when big_n nodes remained
                    d = _dr2(prap, pphi, rap[node], phi[node])
                    if d < best:
                        best = d
            total += pts[p] * np.sqrt(best)
        out[big_n - 1] = total / norm


@numba.njit(cache=True)
def nsubjettiness_wta_kt(px, py, pz, e, offsets, r0):
    """tau_1..tau_4 per jet (beta = 1, normalized measure, exclusive-kt axes with winner-take-all
    recombination), shape (n_jets, 4); tau_N = 0 when the jet has <= N constituents."""
    n_jets = len(offsets) - 1
    out = np.zeros((n_jets, 4))
    for j in range(n_jets):
        a, b = offsets[j], offsets[j + 1]
        if b - a >= 2:
            _nsub_one(px[a:b], py[a:b], pz[a:b], e[a:b], r0, out[j])
    return out


@numba.njit(cache=True)
def isolation_sums(obj_event, obj_eta, obj_phi, part_offsets, part_eta, part_phi, part_pt, cone):
    """Scalar pT sum of the particles within ``cone`` of each object, excluding dR = 0 (itself)."""
    out = np.zeros(len(obj_event))
    cone2 = cone * cone
    for i in range(len(obj_event)):
        ev = obj_event[i]
        total = 0.0
        for k in range(part_offsets[ev], part_offsets[ev + 1]):
            dphi = abs(part_phi[k] - obj_phi[i])
            if dphi > np.pi:
                dphi = 2.0 * np.pi - dphi
            d = (part_eta[k] - obj_eta[i]) ** 2 + dphi * dphi
            if 1e-10 < d < cone2:
                total += part_pt[k]
        out[i] = total
    return out
