"""Scratch study behind docs/demo/hx/vrnn_diagnosis.md (kept so its figures can be rerun).

HX_STORE: the hx store (default /tmp/hx/demo0.zarr); HX_DIAG_DIR: working folder (default /tmp/hx14b).
Order: load.py (X jets -> jets.npz), check.py, mult.py, study.py TAG [JSON VRNNConfig overrides], steps.py.
"""
import os
WORK = os.environ.get("HX_DIAG_DIR", "/tmp/hx14b")
os.makedirs(WORK, exist_ok=True)
import sys, numpy as np
from sklearn.metrics import roc_auc_score
sys.argv = ["x", "base"]
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "study.py")).read()
ns = {}
exec(src.split("out = {}")[0].split("x, _ = preprocess(c[tr]")[0], ns)  # imports, data, split
exec("def_np=1\n" + "def np_steps" + src.split("def np_steps")[1].split("out = {}")[0], ns)
from adsearch.models.vrnn import VRNNConfig
from adsearch.models.vrnn_preprocessing import preprocess
cfg = VRNNConfig(epochs=20); w = dict(np.load(f"{WORK}/model_base.npz")); scale = w.pop("scale")
d, te = ns["d"], ns["te"]; f = dict(np.load(f"{WORK}/feats_base.npz"))
res = {}
for ds in ns["DS"]:
    cs = d[f"{ds}/x_constituents"]; cs = cs[te] if ds == "qcd" else cs
    xs, mask = preprocess(cs, ordering="kt"); KL, REC = ns["np_steps"](w, xs / scale, cfg); res[ds] = (KL, mask)
q = res["qcd"][0]
print("QCD mean KL per step:", np.round(q.mean(0), 2))
for ds in ns["DS"][1:]:
    K, m = res[ds]
    au = [roc_auc_score(np.r_[np.zeros(len(q)), np.ones(len(K))], np.r_[q[:, t], K[:, t]]) for t in range(20)]
    print(ds, "mean KL/step", np.round(K.mean(0)[:20:2], 2), "\n   AUC per step", np.round(au, 2))
# pT-matched and pT+mass matched
fq = {k.split("/")[1]: v for k, v in f.items() if k.startswith("qcd/")}
for ds in ns["DS"][1:]:
    fs = {k.split("/")[1]: v for k, v in f.items() if k.startswith(ds + "/")}
    for lo, hi in [(600, 800), (800, 1000)]:
        a = (fq["pt20"] > lo) & (fq["pt20"] < hi); b = (fs["pt20"] > lo) & (fs["pt20"] < hi)
        a2 = a & (fq["mx"] > 70) & (fq["mx"] < 130); b2 = b & (fs["mx"] > 70) & (fs["mx"] < 130)
        auc = lambda A, B, k: roc_auc_score(np.r_[np.zeros(A.sum()), np.ones(B.sum())], np.r_[fq[k][A], fs[k][B]])
        print(f"{ds} pT {lo}-{hi}: nQCD {a.sum()} nS {b.sum()} AUC kl {auc(a,b,'kl'):.2f} rec {auc(a,b,'rec'):.2f} | +mx 70-130 nQCD {a2.sum()} AUC kl {auc(a2,b2,'kl'):.2f} tau21 {auc(a2,b2,'tau21'):.2f}")
print("QCD pt20 quantiles", np.percentile(fq["pt20"], [10, 50, 90]).round(), "mx q", np.percentile(fq["mx"], [10, 50, 90]).round())
