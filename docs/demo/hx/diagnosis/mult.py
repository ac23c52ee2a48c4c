"""Scratch study behind docs/demo/hx/vrnn_diagnosis.md (kept so its figures can be rerun).

HX_STORE: the hx store (default /tmp/hx/demo0.zarr); HX_DIAG_DIR: working folder (default /tmp/hx14b).
Order: load.py (X jets -> jets.npz), check.py, mult.py, study.py TAG [JSON VRNNConfig overrides], steps.py.
"""
import os
WORK = os.environ.get("HX_DIAG_DIR", "/tmp/hx14b")
os.makedirs(WORK, exist_ok=True)
import numpy as np
from adsearch.searches.common.samples import load_sample
from adsearch.store import open_store
from adsearch.models.vrnn_preprocessing import _four
store = open_store(os.environ.get("HX_STORE", "/tmp/hx/demo0.zarr"))
for ds in ["qcd", "yxh_2000_100", "yxh_qqq_2000_100", "yxh_hf_2000_100", "yxh_dark_2000_100"]:
    s = load_sample(store, ds, ["n_constituents_x", "pt_x_gev", "mx_gev", "x_constituents"])
    n = np.asarray(s["n_constituents_x"]); pt = np.asarray(s["pt_x_gev"]); c = np.asarray(s["x_constituents"])
    p = _four(c) * (c[..., 0] > 0)[..., None]; J = p.sum(1)
    print(f"{ds:20s} n_total q10/50/90 {np.percentile(n,[10,50,90])}  pT frac in leading 20: {np.median(np.hypot(J[:,1],J[:,2])/pt):.2f}  pT_x median {np.median(pt):.0f}")
