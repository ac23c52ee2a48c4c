"""Scratch study behind docs/demo/hx/vrnn_diagnosis.md (kept so its figures can be rerun).

HX_STORE: the hx store (default /tmp/hx/demo0.zarr); HX_DIAG_DIR: working folder (default /tmp/hx14b).
Order: load.py (X jets -> jets.npz), check.py, mult.py, study.py TAG [JSON VRNNConfig overrides], steps.py.
"""
import os
WORK = os.environ.get("HX_DIAG_DIR", "/tmp/hx14b")
os.makedirs(WORK, exist_ok=True)
import numpy as np
from adsearch.models.vrnn_preprocessing import preprocess, _four
d = np.load(f"{WORK}/jets.npz")
for ds in ["qcd", "yxh_2000_100", "yxh_qqq_2000_100", "yxh_hf_2000_100", "yxh_dark_2000_100"]:
    c = d[f"{ds}/x_constituents"]
    n = (c[..., 0] > 0).sum(1)
    p4 = _four(c) * (c[..., 0] > 0)[..., None]
    J = p4.sum(1); m20 = np.sqrt(np.maximum(J[:,0]**2 - (J[:,1:]**2).sum(1), 0)); pt20=np.hypot(J[:,1],J[:,2])
    for order in ["pt", "kt"]:
        x, mask = preprocess(c, ordering=order)
        x = x.astype(np.float64)
        S = x.sum(1)
        m = np.sqrt(np.maximum(S[:, 0]**2 - (S[:, 1:]**2).sum(1), 0))
        # mass of each constituent after
        mc2 = x[...,0]**2 - (x[...,1:]**2).sum(-1)
        print(ds, order, "n_real mean %.1f (min %d, frac<20 %.2f)" % (n.mean(), n.min(), (n < 20).mean()),
              "E max|dev| %.2e" % np.abs(S[:, 0] - 1).max(), "m max|dev| %.2e" % np.abs(m - 0.25).max(),
              "|px|+|py| sum max %.2e" % np.abs(S[:, 1:3]).max(), "pz mean %.4f" % S[:, 3].mean(),
              "pad nonzero", int(np.abs(x[~mask]).sum() > 0), "mask ok", bool((mask == (x[...,0] > 0)).all()),
              "E<=0 real", int((x[...,0][mask] <= 0).sum()), "neg m2 min %.2e" % mc2[mask].min())
        if order == "pt":
            i0 = 0
            print("   lead: py max|.| %.2e px min %.3f ; second py min %.2e" % (np.abs(x[:, 0, 2]).max(), x[:, 0, 1].min(), x[:, 1, 2].min()))
        else:
            print("   kt first: py %.3f px %.3f" % (np.abs(x[:, 0, 2]).mean(), x[:,0,1].mean()))
    print("   lab m(20) mean %.1f, pt(20) mean %.1f, mx mean %.1f" % (m20.mean(), pt20.mean(), d[f"{ds}/mx_gev"].mean()))
