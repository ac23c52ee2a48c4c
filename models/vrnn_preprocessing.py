"""The VRNN's jet preprocessing (arXiv:2105.09274): every jet in one reference frame, its
constituents in a fixed order, so the network sees jet *shape*, not jet mass, energy or direction.

:func:`preprocess`: each jet's constituent four-vectors are scaled so that the jet has the
reference mass ``reference_mass`` (0.25), then boosted along the jet axis to the reference
energy ``reference_energy`` (1), then rotated so that the jet axis is the z axis, the leading-pT
constituent lies in the x-z plane (p_x > 0) and the second-leading has p_y >= 0. Features per
constituent: (E, p_x, p_y, p_z) in that frame; zero-padded constituents stay zero and last.
Order (``ordering``): ``"pt"`` keeps the input order (the processor stores pT-ordered
constituents); ``"kt"`` sorts by the k_t distance to the jet axis, d_i = pT_i * Delta R(i, jet),
largest first (computed in the lab frame, before the boost).

>>> jets = np.zeros((1, 3, 4), np.float32)
>>> jets[0, :2] = [[300., 0.1, 0.0, 0.], [200., -0.1, 0.05, 0.]]
>>> x, mask = preprocess(jets)
>>> mask.tolist(), bool(abs(x[0, :2, 0].sum() - 1.0) < 1e-4), bool(abs(x[0, 0, 2]) < 1e-6)
([[True, True, False]], True, True)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["preprocess", "kt_distances", "ORDERINGS"]

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


def preprocess(constituents: np.ndarray, reference_mass: float = 0.25, reference_energy: float = 1.0,
               ordering: Literal["pt", "kt"] = "pt") -> tuple[np.ndarray, np.ndarray]:
    """(features (n, N, 4) float32, mask (n, N)) from padded pT-ordered (pt, eta, phi, mass) constituents."""
    c = np.asarray(constituents)
    if c.ndim != 3 or c.shape[-1] != 4:
        raise ValueError(f"constituents must have shape (n_jets, n_constituents, 4), got {c.shape}")
    if ordering not in ORDERINGS:
        raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
    mask = c[..., 0] > 0
    p = _four(c) * mask[..., None]
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
    out = np.stack([energy, x, y, mom[..., 2]], axis=-1) * mask[..., None]
    if ordering == "kt":
        order = np.argsort(-kt_distances(c), axis=1, kind="stable")
        out, mask = np.take_along_axis(out, order[..., None], axis=1), np.take_along_axis(mask, order, axis=1)
    return out.astype(np.float32), mask
