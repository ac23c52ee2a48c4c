"""Trimming of stored constituents for the session-7 variant of vrnn_diagnosis.md section 4:
kt subjets of R_sub = 0.2 from the stored (up to 50) constituents, those below f_cut = 0.05 of the
jet pT (the stored constituents' sum) dropped, the rest pT-ordered, the leading ``n_out`` kept
(ATLAS's trimmed large-R jets; the store holds ungroomed ones). Used by training.py with HX_TRIM=1.
"""
import awkward as ak
import fastjet
import numpy as np

import adsearch.generator.events  # noqa: F401  (FastJet banner off)


def trim(c: np.ndarray, r_sub: float = 0.2, f_cut: float = 0.05, n_out: int = 20) -> np.ndarray:
    """(n, n_out, 4) trimmed (pt, eta, phi, mass) constituents of padded pT-ordered ``c``."""
    c = np.asarray(c)
    mask = c[..., 0] > 0
    counts = mask.sum(1)
    flat = c[mask].astype(np.float64)
    pt, eta, phi, m = flat.T
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    E = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    out = np.zeros((len(c), n_out, 4), np.float32)
    arr = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": E}), counts)
    cs = fastjet.ClusterSequence(arr, fastjet.JetDefinition(fastjet.kt_algorithm, r_sub))
    sub = cs.inclusive_jets()
    idx = cs.constituent_index()
    jet_pt = np.hypot(np.asarray(ak.sum(arr.px, axis=1)), np.asarray(ak.sum(arr.py, axis=1)))
    sub_pt = np.hypot(sub.px, sub.py)
    keep_sub = sub_pt > f_cut * jet_pt[:, None]
    kept = idx[keep_sub]  # per jet: list of subjets' constituent lists
    kept = ak.flatten(kept, axis=2)
    for j in range(len(c)):
        k = np.asarray(kept[j], np.int64)
        if len(k) == 0:
            k = np.arange(counts[j])
        rows = c[j][k]
        rows = rows[np.argsort(-rows[:, 0], kind="stable")][:n_out]
        out[j, :len(rows)] = rows
    return out
