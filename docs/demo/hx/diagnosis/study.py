"""Scratch study behind docs/demo/hx/vrnn_diagnosis.md (kept so its figures can be rerun).

HX_STORE: the hx store (default /tmp/hx/demo0.zarr); HX_DIAG_DIR: working folder (default /tmp/hx14b).
Order: load.py (X jets -> jets.npz), check.py, mult.py, study.py TAG [JSON VRNNConfig overrides], steps.py.
"""
import os
WORK = os.environ.get("HX_DIAG_DIR", "/tmp/hx14b")
os.makedirs(WORK, exist_ok=True)
import sys, json, time
import numpy as np
from sklearn.metrics import roc_auc_score
from adsearch.models.vrnn import VRNNConfig, train_vrnn
from adsearch.models.vrnn_preprocessing import preprocess, _four

tag = sys.argv[1]; opts = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
cfg = VRNNConfig(**{"epochs": 20, **opts})
d = np.load(f"{WORK}/jets.npz")
DS = ["qcd", "yxh_2000_100", "yxh_qqq_2000_100", "yxh_hf_2000_100", "yxh_dark_2000_100"]
rng = np.random.default_rng(0)
c = d["qcd/x_constituents"]; perm = rng.permutation(len(c)); tr, te = perm[:5000], perm[5000:]
x, _ = preprocess(c[tr], cfg.reference_mass, cfg.reference_energy, cfg.ordering)
t0 = time.time(); model = train_vrnn(x, cfg, seed=1); print(tag, "trained", model.epochs, "epochs %.0f s" % (time.time()-t0), flush=True)
np.savez(f"{WORK}/model_{tag}.npz", scale=model.input_scale, **model.weights)

def np_steps(w, xs, cfg):
    """numpy forward pass, z = mu_q: per-step KL and rec (independent check of the TF graph)."""
    relu = lambda a: np.maximum(a, 0); D = lambda n, a, act=True: (relu if act else (lambda b: b))(a @ w[f"{n}/w"] + w[f"{n}/b"])
    sig = lambda a: 1 / (1 + np.exp(-a))
    n, T, _ = xs.shape; h = np.zeros((n, cfg.hidden)); cc = np.zeros_like(h); KL = np.zeros((n, T)); REC = np.zeros((n, T))
    for t in range(T):
        xt = xs[:, t]; m = (xt[:, 0] > 0)[:, None]
        fx = D("phi_x", xt); hp = D("prior", h); mu_p = D("prior_mu", hp, False); ls_p = np.clip(D("prior_ls", hp, False), -6, 6)
        he = D("enc", np.concatenate([fx, h], 1)); mu_q = D("enc_mu", he, False); ls_q = np.clip(D("enc_ls", he, False), -6, 6)
        z = mu_q; fz = D("phi_z", z); y = D("dec_out", D("dec", np.concatenate([fz, h], 1)), False)
        KL[:, t] = (ls_p - ls_q + (np.exp(2*ls_q) + (mu_q-mu_p)**2) / (2*np.exp(2*ls_p)) - 0.5).sum(1) * m[:, 0]
        REC[:, t] = ((y - xt)**2).sum(1) * m[:, 0]
        g = D("lstm", np.concatenate([fx, fz, h], 1), False); i, f, gg, o = np.split(g, 4, 1)
        cn = sig(f)*cc + sig(i)*np.tanh(gg); hn = sig(o)*np.tanh(cn)
        h = np.where(m, hn, h); cc = np.where(m, cn, cc)
    return KL, REC

out = {}
kq = None
for ds in DS:
    cs = d[f"{ds}/x_constituents"]; cs = cs[te] if ds == "qcd" else cs
    xs, mask = preprocess(cs, cfg.reference_mass, cfg.reference_energy, cfg.ordering)
    rec, kl = model.losses(xs)
    KL, REC = np_steps(model.weights, xs / model.input_scale, cfg)
    nreal = mask.sum(1)
    assert np.allclose(KL.sum(1) / np.maximum(nreal, 1), kl, rtol=2e-3, atol=1e-4), (ds, np.abs(KL.sum(1)/nreal - kl).max())
    p4 = _four(cs) * (cs[..., 0] > 0)[..., None]; J = p4.sum(1)
    m20 = np.sqrt(np.maximum(J[:, 0]**2 - (J[:, 1:]**2).sum(1), 0)); pt20 = np.hypot(J[:, 1], J[:, 2])
    ptrel = np.hypot(xs[..., 1], xs[..., 2])
    feats = {"kl": kl, "rec": rec, "mx": d[f"{ds}/mx_gev"][te] if ds == "qcd" else d[f"{ds}/mx_gev"],
             "tau21": (d[f"{ds}/tau21_x"][te] if ds == "qcd" else d[f"{ds}/tau21_x"]), "m20": m20, "pt20": pt20,
             "m_over_pt": m20 / pt20, "n": nreal.astype(float), "E1": xs[:, 0, 0], "ptrel_mean": (ptrel * mask).sum(1) / nreal,
             "kl_t0": KL[:, 0], "kl_t1_5": KL[:, 1:5].mean(1), "kl_t5_20": KL[:, 5:].sum(1) / np.maximum(nreal - 5, 1)}
    out[ds] = feats
q = out["qcd"]
print(f"== {tag} {cfg.model_dump()}")
print("QCD(test) J>0.5: %.3f  kl median %.3f  rec median %.3f" % ((1 - np.exp(-q["kl"]) > 0.5).mean(), np.median(q["kl"]), np.median(q["rec"])))
print("per-step KL profile (QCD mean):", np.round(np.load if False else 0, 0))
for ds in DS:
    f = out[ds]
    line = f"{ds:20s} J>0.5 {(1-np.exp(-f['kl'])>0.5).mean():.3f} kl med {np.median(f['kl']):.3f} rec med {np.median(f['rec']):.3f}"
    if ds != "qcd":
        aucs = {k: roc_auc_score(np.r_[np.zeros(len(q[k])), np.ones(len(f[k]))], np.r_[q[k], f[k]]) for k in ["kl", "rec", "kl_t0", "kl_t1_5", "kl_t5_20", "tau21", "m_over_pt", "E1", "ptrel_mean", "n"]}
        line += " AUC " + " ".join(f"{k}={v:.2f}" for k, v in aucs.items())
    print(line)
# correlations of KL with jet features in QCD
for k in ["mx", "m20", "pt20", "m_over_pt", "tau21", "n", "E1", "ptrel_mean"]:
    print("QCD corr(kl,%s)=%.2f" % (k, np.corrcoef(q["kl"], q[k])[0, 1]), end="  ")
print()
# mass-matched: QCD with mx in 80-120
sel = (q["mx"] > 80) & (q["mx"] < 120)
print("QCD mx 80-120: n=%d J>0.5 %.3f kl med %.3f" % (sel.sum(), (1-np.exp(-q["kl"][sel])>0.5).mean(), np.median(q["kl"][sel])))
for ds in DS[1:]:
    f = out[ds]; s2 = (f["mx"] > 80) & (f["mx"] < 120)
    print("  %s mx-matched AUC kl %.2f rec %.2f" % (ds, roc_auc_score(np.r_[np.zeros(sel.sum()), np.ones(s2.sum())], np.r_[q["kl"][sel], f["kl"][s2]]),
          roc_auc_score(np.r_[np.zeros(sel.sum()), np.ones(s2.sum())], np.r_[q["rec"][sel], f["rec"][s2]])))
np.savez(f"{WORK}/feats_{tag}.npz", **{f"{ds}/{k}": v for ds in DS for k, v in out[ds].items()})
