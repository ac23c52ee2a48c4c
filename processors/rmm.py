"""Rapidity-Mass Matrix (RMM): the autoencoder's input, computed by one numba kernel.

The recipe is the ATLAS configuration of S. Chekanov's public Map2RMM / ADFilter code
(``projectevent.cxx`` / ``make_RMMs.C``), whose conventions were read and are kept here:

* object types in the order MET, jets, b-jets, muons, electrons, photons (10, 10, 5, 5, 5)
  -> a 36 x 36 matrix; within a type objects are ordered by E_T descending, only the first
  ``max_per_type`` enter, missing objects leave zeros;
* 4-vectors as ROOT's ``SetPtEtaPhiM`` builds them (a negative mass, as NanoAOD stores for
  some electrons, gives E^2 = p^2 - m^2); E_T is ``TLorentzVector::Et()`` = E pT / |p| (pT for
  massless objects); MET is a massless vector with pz = 0, so its E_T is MET;
* y is the rapidity 0.5 ln((E + pz) / (E - pz));
* m_T is Map2RMM's "exact" transverse mass sqrt((E_T,i + MET)^2 - |pT_i + MET|^2);
* cells: [0][0] = MET / sqrt(s); first object of a type on the diagonal E_T / sqrt(s), k-th
  (k > 1) (E_T(k-1) - E_T(k)) / (E_T(k-1) + E_T(k)); row 0 m_T(MET, i) / sqrt(s) (0 without
  MET); column 0 C (cosh y_i - 1); upper triangle m(i, j) / sqrt(s) for every pair, same type
  or not; lower triangle C (cosh((y_i - y_j) / 2) - 1).

Two choices of the ATLAS configuration that the public C++ code lacks are configurable in
:class:`RMMConfig`: the angular scale C = 0.15 (public code: C = 1) and the MET threshold
(30 GeV; public code: MET > 0). MET below threshold counts as absent: [0][0] and row 0 stay 0.
Values are clipped to [0, 1]; the kernel counts the cells where clipping acted. The nine
leading jet/b-jet + X mass cells are dropped (they are stored as separate features) and the
rest are flattened row-major -> 1287 features.

The public code orders objects by pT; the recipe here orders by E_T (equal for massless
objects, a few per cent apart for jets). The kernel computes the hyperbolic terms from u = exp(y / 2):
cosh(y) - 1 = (u - 1/u)^2 / 2 and cosh((y_i - y_j) / 2) - 1 = (u_i - u_j)^2 / (2 u_i u_j), so a
pair costs one sqrt and no transcendental call, without cancellation near y = 0.

Speed (see ``benchmarks/kernel_rates.py``): per event the kernel zeroes and fills one 5.1 kB
float32 output row; on the shared 2-core development VM writing that row to memory takes about
as long as all the arithmetic, which is why outputs are reused buffers (``out=``) and why the
arithmetic avoids libm sin/cos and data-dependent branches.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import awkward as ak
import numpy as np
from pydantic import Field, field_validator

from adsearch import SQRT_S_GEV
from adsearch.config import StrictModel
from adsearch.processors.rmm_kernel import rmm_kernel

__all__ = [
    "KEPT_CELLS",
    "KINDS",
    "REMOVED_CELLS",
    "RMMConfig",
    "RMMFeatures",
    "RMMLayout",
    "compute_rmm",
    "feature_names",
    "flatten_rmm",
    "rmm_features",
    "rmm_layout",
]

KINDS: tuple[str, ...] = ("jet", "bjet", "muon", "electron", "photon")
_FIELDS = ("pt", "eta", "phi", "mass")
# Mass cells removed from the RMM because the lepton processor stores them as separate
# features: (type, rank) pairs, ranks counted from 1.
_REMOVED_PAIRS = (
    (("jet", 1), ("jet", 2)),
    (("jet", 1), ("bjet", 1)),
    (("jet", 1), ("muon", 1)),
    (("jet", 1), ("electron", 1)),
    (("jet", 1), ("photon", 1)),
    (("bjet", 1), ("bjet", 2)),
    (("bjet", 1), ("muon", 1)),
    (("bjet", 1), ("electron", 1)),
    (("bjet", 1), ("photon", 1)),
)


class RMMConfig(StrictModel):
    """RMM settings; the defaults are the ATLAS lepton + X anomaly-detection configuration."""

    sqrt_s_gev: float = Field(SQRT_S_GEV, gt=0)
    angular_scale: float = Field(0.15, gt=0)
    met_min_gev: float = Field(30.0, ge=0)
    max_per_type: dict[str, int] = Field(
        default_factory=lambda: {"jet": 10, "bjet": 10, "muon": 5, "electron": 5, "photon": 5}
    )

    @field_validator("max_per_type")
    @classmethod
    def _all_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        if set(value) != set(KINDS):
            raise ValueError(f"needs exactly the keys {list(KINDS)}, got {sorted(value)}")
        if any(v < 1 for v in value.values()):
            raise ValueError(f"every multiplicity must be >= 1, got {value}")
        return {kind: int(value[kind]) for kind in KINDS}


class RMMLayout(NamedTuple):
    """Where each type sits in the matrix and which cells are kept, for one set of multiplicities."""

    size: int  # matrix side, 1 + sum of multiplicities
    starts: np.ndarray  # (5,) first matrix index of each type
    caps: np.ndarray  # (5,) objects kept per type
    kept_cells: np.ndarray  # flat indices (row-major) of the kept cells
    removed_cells: np.ndarray  # flat indices of the removed cells
    kept_column: np.ndarray  # (size*size,) output column of each cell, -1 when removed
    names: tuple[str, ...]  # name of each kept cell


class RMMFeatures(NamedTuple):
    """Flattened RMMs of one chunk and how many cells had to be clipped to [0, 1]."""

    features: np.ndarray  # (n, n_kept) float32
    n_clipped: int


def _cell_names(caps: tuple[int, ...], cells: list[int]) -> tuple[str, ...]:
    """Names like ``met_et``, ``jet1_et``, ``jet2_et_imbalance``, ``met_muon1_mt``,
    ``jet1_rapidity`` (column 0), ``jet1_jet2_mass`` (upper), ``jet1_jet2_rapidity`` (lower)."""
    objects = ["met"] + [f"{kind}{rank}" for kind, cap in zip(KINDS, caps) for rank in range(1, cap + 1)]
    first_of_type = {0} | {1 + sum(caps[:t]) for t in range(len(caps))}
    names = []
    for cell in cells:
        row, col = divmod(cell, len(objects))
        low, high = sorted((row, col))
        if row == col:
            names.append(f"{objects[row]}_et" if row in first_of_type else f"{objects[row]}_et_imbalance")
        elif low == 0:
            names.append(f"met_{objects[col]}_mt" if row == 0 else f"{objects[row]}_rapidity")
        else:
            names.append(f"{objects[low]}_{objects[high]}_{'mass' if row < col else 'rapidity'}")
    return tuple(names)


@lru_cache(maxsize=8)
def _layout(caps: tuple[int, ...]) -> RMMLayout:
    caps_arr = np.asarray(caps, dtype=np.int64)
    starts = 1 + np.concatenate([[0], np.cumsum(caps_arr)[:-1]]).astype(np.int64)
    size = 1 + int(caps_arr.sum())
    start_of = dict(zip(KINDS, starts.tolist()))
    cap_of = dict(zip(KINDS, caps))
    removed = np.asarray(
        sorted(
            (start_of[ka] + ra - 1) * size + start_of[kb] + rb - 1
            for (ka, ra), (kb, rb) in _REMOVED_PAIRS
            if ra <= cap_of[ka] and rb <= cap_of[kb]
        ),
        dtype=np.int64,
    )
    kept = np.setdiff1d(np.arange(size * size, dtype=np.int64), removed)
    column = np.full(size * size, -1, dtype=np.int64)
    column[kept] = np.arange(kept.size, dtype=np.int64)
    for arr in (starts, caps_arr, removed, kept, column):
        arr.setflags(write=False)
    return RMMLayout(size, starts, caps_arr, kept, removed, column, _cell_names(caps, kept.tolist()))


def rmm_layout(config: RMMConfig | None = None) -> RMMLayout:
    """The matrix layout (type offsets, kept/removed cells, names) for ``config``."""
    config = config or RMMConfig()
    return _layout(tuple(config.max_per_type[k] for k in KINDS))


_DEFAULT_LAYOUT = rmm_layout()
KEPT_CELLS: np.ndarray = _DEFAULT_LAYOUT.kept_cells
REMOVED_CELLS: np.ndarray = _DEFAULT_LAYOUT.removed_cells


def feature_names(config: RMMConfig | None = None) -> list[str]:
    """Names of the kept cells in output order, e.g. ``"jet1_jet2_rapidity"``, ``"met_muon1_mt"``."""
    return list(rmm_layout(config).names)


def flatten_rmm(rmm: np.ndarray, *, config: RMMConfig | None = None) -> np.ndarray:
    """(n, N, N) matrices -> (n, n_kept) features: drop the removed cells, row-major order."""
    layout = rmm_layout(config)
    rmm = np.asarray(rmm)
    if rmm.ndim != 3 or rmm.shape[1:] != (layout.size, layout.size):
        raise ValueError(f"expected RMMs of shape (n, {layout.size}, {layout.size}), got {rmm.shape}")
    return rmm.reshape(rmm.shape[0], -1)[:, layout.kept_cells]


# --------------------------------------------------------------------------------------------
# awkward -> flat arrays


def _kind_arrays(objs: Any, kind: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """One kind's jagged records -> (offsets starting at 0, [pt, eta, phi, mass] contents).

    Plain list-offset records (what NanoEvents and ``ak.zip`` build) are read without copies;
    anything else (masked, indexed, ...) goes through ``ak.flatten``.
    """
    layout = ak.to_layout(objs)
    missing = [f for f in _FIELDS if f not in ak.fields(objs)]
    if missing:
        if len(objs) == 0 or ak.sum(ak.num(objs, axis=1)) == 0:  # e.g. [[], []] of unknown type
            return np.zeros(len(objs) + 1, dtype=np.int64), [np.zeros(0)] * len(_FIELDS)
        raise ValueError(f"{kind}: records lack the fields {missing} (need {list(_FIELDS)})")
    contents = ak.contents
    if isinstance(layout, contents.ListOffsetArray) and isinstance(layout.content, contents.RecordArray):
        columns = [layout.content[f] for f in _FIELDS]
        plain = [isinstance(c, contents.NumpyArray) and type(c.data) is np.ndarray for c in columns]
        if all(plain) and all(c.data.ndim == 1 for c in columns):
            offsets = np.asarray(layout.offsets.data, dtype=np.int64)
            lo, hi = int(offsets[0]), int(offsets[-1])
            return offsets - lo, [np.asarray(c.data)[lo:hi] for c in columns]
    counts = ak.to_numpy(ak.num(objs, axis=1))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, [ak.to_numpy(ak.flatten(objs[f], axis=1)) for f in _FIELDS]


def _flat_inputs(
    collections: dict[str, Any], n_events: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-kind jagged records -> (offsets (5, n+1), pt, eta, phi, mass) flat arrays.

    Values keep their dtype (NanoAOD float32 stays float32); the kernel upcasts per value.
    """
    unknown = set(collections) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown object kinds {sorted(unknown)}; expected some of {list(KINDS)}")
    offsets = np.zeros((len(KINDS), n_events + 1), dtype=np.int64)
    pieces: list[list[np.ndarray]] = [[] for _ in _FIELDS]
    base = 0
    for t, kind in enumerate(KINDS):
        objs = collections.get(kind)
        if objs is None:
            offsets[t, :] = base
            continue
        if len(objs) != n_events:
            raise ValueError(f"{kind}: {len(objs)} events, but MET has {n_events}")
        kind_offsets, columns = _kind_arrays(objs, kind)
        offsets[t, :] = kind_offsets + base
        base += int(kind_offsets[-1])
        for piece, column in zip(pieces, columns):
            piece.append(column)
    flat = [np.concatenate(p) if p else np.zeros(0) for p in pieces]
    return offsets, flat[0], flat[1], flat[2], flat[3]


def _name_bad_value(collections: dict[str, Any], met: np.ndarray, met_phi: np.ndarray, event: int) -> str:
    """Say which input made event ``event`` non-finite (slow path, only after a failure)."""
    if not (np.isfinite(met[event]) and np.isfinite(met_phi[event])):
        return f"MET of event {event} is not finite"
    for kind in KINDS:
        if kind in collections:
            for field in _FIELDS:
                values = np.asarray(ak.to_numpy(collections[kind][field][event]), dtype=np.float64)
                if not np.isfinite(values).all():
                    return f"{kind}.{field} of event {event} is not finite: {values.tolist()}"
    return f"event {event} has kinematics that overflow"


def _met_arrays(met_pt: Any, met_phi: Any) -> tuple[np.ndarray, np.ndarray]:
    met = np.ascontiguousarray(ak.to_numpy(ak.Array(met_pt)) if isinstance(met_pt, ak.Array) else met_pt)
    phi = np.ascontiguousarray(ak.to_numpy(ak.Array(met_phi)) if isinstance(met_phi, ak.Array) else met_phi)
    if met.ndim != 1 or met.shape != phi.shape:
        raise ValueError(f"met_pt and met_phi must be 1-d and equal length, got {met.shape}, {phi.shape}")
    return met.astype(np.float64, copy=False), phi.astype(np.float64, copy=False)


def _run(
    collections: dict[str, Any],
    met_pt: Any,
    met_phi: Any,
    config: RMMConfig,
    column: np.ndarray,
    out: np.ndarray,
) -> int:
    met, phi = _met_arrays(met_pt, met_phi)
    offsets, pt, eta, phi_flat, mass = _flat_inputs(collections, met.shape[0])
    layout = rmm_layout(config)
    n_clipped, first_bad = rmm_kernel(
        offsets, pt, eta, phi_flat, mass, met, phi,
        layout.starts, layout.caps, column, layout.size,
        float(config.sqrt_s_gev), float(config.angular_scale), float(config.met_min_gev),
        out,
    )  # fmt: skip
    if first_bad >= 0:
        raise ValueError(f"RMM input: {_name_bad_value(collections, met, phi, first_bad)}")
    return int(n_clipped)


def rmm_features(
    collections: dict[str, Any],
    met_pt: Any,
    met_phi: Any,
    *,
    config: RMMConfig | None = None,
    out: np.ndarray | None = None,
) -> RMMFeatures:
    """Flattened RMMs of one chunk, straight from per-kind jagged collections (the fast path).

    ``collections`` maps kinds (``"jet"``, ``"bjet"``, ``"muon"``, ``"electron"``,
    ``"photon"``; absent kinds count as empty) to jagged records with ``pt, eta, phi, mass``
    in GeV, in any order. Pass ``out`` (float32, shape (>= n, n_kept)) to reuse a buffer
    across chunks: fresh zeroed (n, 36, 36) outputs cost more than the kernel itself.

    >>> feats = rmm_features({"jet": jets, "muon": muons}, met_pt, met_phi)  # doctest: +SKIP
    >>> feats.features.shape                                                   # doctest: +SKIP
    (n, 1287)
    """
    config = config or RMMConfig()
    layout = rmm_layout(config)
    n_events = len(met_pt)
    n_kept = layout.kept_cells.size
    if out is None:
        out = np.empty((n_events, n_kept), dtype=np.float32)
    elif (
        out.dtype != np.float32
        or out.ndim != 2
        or out.shape[0] < n_events
        or out.shape[1] != n_kept
        or not out.flags.c_contiguous
    ):
        raise ValueError(
            f"out must be a C-contiguous float32 array of shape (>= {n_events}, {n_kept}), "
            f"got {out.dtype} {out.shape}"
        )
    n_clipped = _run(collections, met_pt, met_phi, config, layout.kept_column, out)
    return RMMFeatures(out[:n_events], n_clipped)


def compute_rmm(
    objects: Any, met_pt: Any, met_phi: Any, *, config: RMMConfig | None = None
) -> np.ndarray:
    """Full (n, 36, 36) float32 RMMs from per-event object lists with a ``kind`` field.

    ``objects``: awkward array (or nested lists) of records ``pt, eta, phi, mass`` (GeV) and
    ``kind`` in ``KINDS``, any order within an event. For checking and plotting; the
    processors use :func:`rmm_features`, which writes only the kept cells.

    >>> compute_rmm([[{"pt": 50.0, "eta": 0.1, "phi": 0.0, "mass": 5.0, "kind": "jet"}]],
    ...             [40.0], [1.0]).shape
    (1, 36, 36)
    """
    config = config or RMMConfig()
    layout = rmm_layout(config)
    objects = ak.Array(objects) if not isinstance(objects, ak.Array) else objects
    collections: dict[str, Any] = {}
    if "kind" in ak.fields(objects):
        kinds_present = set(ak.flatten(objects.kind, axis=1).to_list())
        unknown = kinds_present - set(KINDS)
        if unknown:
            raise ValueError(f"unknown object kinds {sorted(unknown)}; expected some of {list(KINDS)}")
        for kind in kinds_present:
            collections[kind] = objects[objects.kind == kind]
    elif len(objects) > 0 and ak.sum(ak.num(objects, axis=1)) > 0:
        raise ValueError(f"objects need the fields {list(_FIELDS) + ['kind']}, got {ak.fields(objects)}")
    n_events = len(met_pt)
    out = np.empty((n_events, layout.size * layout.size), dtype=np.float32)
    identity = np.arange(layout.size * layout.size, dtype=np.int64)
    _run(collections, met_pt, met_phi, config, identity, out)
    return out.reshape(n_events, layout.size, layout.size)
