"""The VRNN's jet preprocessing (arXiv:2105.09274): every jet in one reference frame, its
constituents in a fixed order, so the network sees jet *shape*, not jet mass, energy or direction.

Two input recipes (``VRNNConfig.inputs``):

:func:`preprocess_pt_eta_phi` (the authors' code, github.com/akahn1213/vrnn,
``helpers/processing.py``, the paper's Algorithm 1): massless constituents; the jet rotated to
phi = 0 and boosted along z to eta = 0 (so it lies along x), its four-vector scaled to mass 0.25,
boosted along x to energy 1, rotated about x so the leading constituent sits at eta = 0, phi > 0;
constituents with Delta R >= 1 from the axis in that frame dropped and the frame rebuilt from the
rest until none is dropped; k_t-ordered by pT^2 Delta R^2 *in that frame*, the first ``max_steps``
kept and the frame rebuilt once more. Features per constituent: (pT, eta, phi) in that frame.

:func:`preprocess` (the default, our reading of the paper text): massive constituent four-vectors
scaled to the reference mass, boosted along the jet axis to the reference energy, rotated so the
axis is z, the leading-pT constituent lies in the x-z plane (p_x > 0) and the second-leading has
p_y >= 0. Features per constituent: (E, p_x, p_y, p_z); ``ordering`` ``"pt"`` keeps the input order,
``"kt"`` sorts by pT_i * Delta R(i, jet) in the lab frame, largest first.
Zero-padded constituents stay zero and last in both.

>>> jets = np.zeros((1, 3, 4), np.float32)
>>> jets[0, :2] = [[300., 0.1, 0.0, 0.], [200., -0.1, 0.05, 0.]]
>>> x, mask = preprocess(jets)
>>> mask.tolist(), bool(abs(x[0, :2, 0].sum() - 1.0) < 1e-4), bool(abs(x[0, 0, 2]) < 1e-6)
([[True, True, False]], True, True)
>>> f, m = preprocess_pt_eta_phi(jets, max_steps=4)
>>> m.tolist(), f.shape
([[True, True, False, False]], (1, 4, 3))
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["preprocess", "preprocess_pt_eta_phi", "kt_distances", "ORDERINGS"]

ORDERINGS = ("pt", "kt")
#: jets lighter than this fraction of their energy are degenerate (one constituent): floored
_MIN_MASS_OVER_E = 1e-3


def _four(c: np.ndarray) -> np.ndarray:
    pt, eta, phi, mass = (c[..., k].astype(np.float64) for k in range(4))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px * px + py * py + pz * pz + mass * mass)
    return np.stack([energy, px, py, pz], axis=-1)


def _rotation_to_z(axis: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations taking unit vectors ``axis`` to +z (Rodrigues)."""
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(axis, z)
    s = np.linalg.norm(v, axis=1)
    c = axis @ z
    k = np.zeros((len(axis), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    k = k - np.transpose(k, (0, 2, 1))
    factor = np.where(s > 1e-12, (1 - c) / np.maximum(s * s, 1e-24), 0.5)
    rot = np.eye(3)[None] + k + (k @ k) * factor[:, None, None]
    flip = c < -1 + 1e-12  # anti-parallel: rotate by pi about x
    rot[flip] = np.diag([1.0, -1.0, -1.0])
    return rot


def kt_distances(constituents: np.ndarray) -> np.ndarray:
    """pT_i * Delta R(i, jet axis) per constituent (-1 for padding), the jet axis from their sum.

    >>> c = np.array([[[100., 0., 0., 0.], [10., 0.5, 0., 0.], [0., 0., 0., 0.]]])
    >>> kt_distances(c).round(2).tolist()
    [[4.74, 4.53, -1.0]]
    """
    p = _four(np.asarray(constituents)) * (np.asarray(constituents)[..., 0] > 0)[..., None]
    jet = p.sum(axis=1)
    jet_eta = np.arcsinh(jet[:, 3] / np.maximum(np.hypot(jet[:, 1], jet[:, 2]), 1e-12))
    jet_phi = np.arctan2(jet[:, 2], jet[:, 1])
    c = np.asarray(constituents, np.float64)
    dphi = (c[..., 2] - jet_phi[:, None] + np.pi) % (2 * np.pi) - np.pi
    d = c[..., 0] * np.hypot(c[..., 1] - jet_eta[:, None], dphi)
    return np.where(c[..., 0] > 0, d, -1.0)


def _frame(p: np.ndarray, reference_mass: float, reference_energy: float) -> np.ndarray:
    """(E, x, y, z) of masked four-vectors ``p`` (n, N, 4) in the frame where their sum has the
    reference mass and energy along +z, the first slot in the x-z plane (x >= 0), the second at y >= 0."""
    jet = p.sum(axis=1)
    m2 = jet[:, 0] ** 2 - np.sum(jet[:, 1:] ** 2, axis=1)
    mass = np.sqrt(np.maximum(m2, (_MIN_MASS_OVER_E * jet[:, 0]) ** 2 + 1e-12))
    p = p * (reference_mass / mass)[:, None, None]
    jet = p.sum(axis=1)
    pabs = np.linalg.norm(jet[:, 1:], axis=1)
    axis = jet[:, 1:] / np.maximum(pabs, 1e-12)[:, None]
    target = np.sqrt(max(reference_energy**2 - reference_mass**2, 0.0))
    delta = np.arctanh(np.clip(pabs / jet[:, 0], 0, 1 - 1e-12)) - np.arctanh(target / reference_energy)
    ch, sh = np.cosh(delta)[:, None], np.sinh(delta)[:, None]
    par = np.einsum("njk,nk->nj", p[..., 1:], axis)
    energy = ch * p[..., 0] - sh * par
    par_new = ch * par - sh * p[..., 0]
    mom = p[..., 1:] + (par_new - par)[..., None] * axis[:, None, :]
    mom = np.einsum("nij,ntj->nti", _rotation_to_z(axis), mom)
    phi0 = np.arctan2(mom[:, 0, 1], mom[:, 0, 0])
    cos, sin = np.cos(-phi0)[:, None], np.sin(-phi0)[:, None]
    x, y = cos * mom[..., 0] - sin * mom[..., 1], sin * mom[..., 0] + cos * mom[..., 1]
    y = y * np.where(y[:, 1:2] < 0, -1.0, 1.0)
    return np.stack([energy, x, y, mom[..., 2]], axis=-1)


def _authors_frame(p: np.ndarray, lead: np.ndarray, reference_mass: float,
                   reference_energy: float) -> np.ndarray:
    """(pT, eta, phi) of masked massless four-vectors ``p`` (n, N, 4) after the authors' chain:
    rotate the jet to phi = 0, boost along z to eta = 0, scale to the reference mass, boost along
    x to the reference energy, rotate about x so constituent ``lead`` sits at eta = 0, phi >= 0."""
    jet = p.sum(axis=1)
    phi = np.arctan2(jet[:, 2], jet[:, 1])[:, None]
    e, pz = p[..., 0], p[..., 3]
    px = np.cos(phi) * p[..., 1] + np.sin(phi) * p[..., 2]
    py = -np.sin(phi) * p[..., 1] + np.cos(phi) * p[..., 2]
    rap_z = np.arctanh(np.clip(jet[:, 3] / jet[:, 0], -1 + 1e-15, 1 - 1e-15))[:, None]
    e, pz = np.cosh(rap_z) * e - np.sinh(rap_z) * pz, np.cosh(rap_z) * pz - np.sinh(rap_z) * e
    jet_e, jet_px = e.sum(1), px.sum(1)
    m2 = jet_e**2 - jet_px**2 - py.sum(1) ** 2 - pz.sum(1) ** 2
    mass = np.sqrt(np.maximum(m2, (_MIN_MASS_OVER_E * jet_e) ** 2 + 1e-12))
    scale = (reference_mass / mass)[:, None]
    e, px, py, pz = e * scale, px * scale, py * scale, pz * scale
    target = np.arctanh(np.sqrt(max(reference_energy**2 - reference_mass**2, 0.0)) / reference_energy)
    rap_x = (np.arctanh(np.clip(px.sum(1) / e.sum(1), -1 + 1e-15, 1 - 1e-15)) - target)[:, None]
    e, px = np.cosh(rap_x) * e - np.sinh(rap_x) * px, np.cosh(rap_x) * px - np.sinh(rap_x) * e
    rows = np.arange(len(p))
    psi = np.arctan2(pz[rows, lead], py[rows, lead])[:, None]
    py, pz = np.cos(psi) * py + np.sin(psi) * pz, -np.sin(psi) * py + np.cos(psi) * pz
    pt = np.hypot(px, py)
    return np.stack([pt, np.arcsinh(pz / np.maximum(pt, 1e-300)), np.arctan2(py, px)], axis=-1)


def preprocess_pt_eta_phi(constituents: np.ndarray, reference_mass: float = 0.25, reference_energy: float = 1.0,
                          max_steps: int = 20, dr_max: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, max_steps, 3) float32 (pT, eta, phi), mask) from padded pT-ordered
    (pt, eta, phi, mass) constituents, as Algorithm 1 of the method paper's code (module doc).

    The masses are dropped (the authors' constituents are massless). A jet keeps at least its
    leading constituent (a jet whose every constituent fails Delta R < 1 keeps the last set)."""
    c = _validated(constituents)
    keep = c[..., 0] > 0
    massless = c.copy()
    massless[..., 3] = 0.0
    p = _four(massless)
    n, slots = keep.shape
    for _ in range(slots + 1):  # the kept set only shrinks: settles within slots + 1 passes
        lead = np.argmax(keep, axis=1)  # input is pT-ordered: the first kept slot leads
        f = _authors_frame(p * keep[..., None], lead, reference_mass, reference_energy)
        dr2 = f[..., 1] ** 2 + f[..., 2] ** 2
        new = keep & (dr2 < dr_max**2)
        new = np.where(new.any(axis=1)[:, None], new, keep)
        kt = np.where(new, f[..., 0] ** 2 * dr2, -1.0)
        rank = np.argsort(np.argsort(-kt, axis=1, kind="stable"), axis=1, kind="stable")
        new &= rank < max_steps
        if np.array_equal(new, keep):
            break
        keep = new
    order = np.argsort(-kt, axis=1, kind="stable")[:, :max_steps]
    out = np.take_along_axis(f * keep[..., None], order[..., None], axis=1)
    mask = np.take_along_axis(keep, order, axis=1)
    if out.shape[1] < max_steps:  # fewer stored slots than steps: pad
        pad = max_steps - out.shape[1]
        out = np.concatenate([out, np.zeros((n, pad, 3))], axis=1)
        mask = np.concatenate([mask, np.zeros((n, pad), bool)], axis=1)
    return out.astype(np.float32), mask


def _validated(constituents: np.ndarray) -> np.ndarray:
    c = np.asarray(constituents)
    if c.ndim != 3 or c.shape[-1] != 4:
        raise ValueError(f"constituents must have shape (n_jets, n_constituents, 4), got {c.shape}")
    return c


def preprocess(constituents: np.ndarray, reference_mass: float = 0.25, reference_energy: float = 1.0,
               ordering: Literal["pt", "kt"] = "pt") -> tuple[np.ndarray, np.ndarray]:
    """(features (n, N, 4) float32, mask (n, N)) from padded pT-ordered (pt, eta, phi, mass) constituents."""
    c = _validated(constituents)
    if ordering not in ORDERINGS:
        raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
    mask = c[..., 0] > 0
    out = _frame(_four(c) * mask[..., None], reference_mass, reference_energy) * mask[..., None]
    if ordering == "kt":
        order = np.argsort(-kt_distances(c), axis=1, kind="stable")
        out, mask = np.take_along_axis(out, order[..., None], axis=1), np.take_along_axis(mask, order, axis=1)
    return out.astype(np.float32), mask
