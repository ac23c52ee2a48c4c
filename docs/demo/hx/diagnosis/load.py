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
store = open_store(os.environ.get("HX_STORE", "/tmp/hx/demo0.zarr"))
out = {}
for ds in ["qcd", "yxh_2000_100", "yxh_qqq_2000_100", "yxh_hf_2000_100", "yxh_dark_2000_100"]:
    s = load_sample(store, ds, ["mx_gev", "my_gev", "tau21_x", "x_constituents"])
    for k in ["mx_gev", "my_gev", "tau21_x", "x_constituents"]:
        out[f"{ds}/{k}"] = np.asarray(s[k])
    print(ds, out[f"{ds}/x_constituents"].shape)
np.savez(f"{WORK}/jets.npz", **out)
