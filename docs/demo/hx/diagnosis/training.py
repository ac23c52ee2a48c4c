"""Training-jet study (issue 14, session 6): one VRNN per variant trained on QCD jets, scored on
held-out QCD X jets and the four X topologies; kept so the figures in vrnn_diagnosis.md have a command.

HX_STORE: an hx store processed with training jets (docs/demo/hx/process.yaml); HX_DIAG_DIR: output folder.
Usage: training.py TAG SOURCE N [JSON VRNNConfig overrides, "recipe": "authors_code" for the authors'
recipe]; SOURCE "x" (QCD X jets) or "pre" (both
leading jets of every preselected QCD event); N training jets (seeded subset; 20% of them validate).
HX_TRIM=1: trimmed constituents (trimming.py). Held out: the events of fold 0 of 3 (fold_of_ids, as
the search), never trained on in either source.
"""
import os
import sys
import json
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from adsearch.models.ensemble import fold_of_ids
from adsearch.models.vrnn import VRNNConfig, prepare_jets, train_vrnn
from adsearch.store import open_store
from trimming import trim


def TR(a):
    """HX_TRIM=1: trimmed constituents (trimming.py); four-momentum inputs: the leading 20 (the demo
    store's; a store with n_constituents: 50 holds more), Algorithm 1 inputs: all stored."""
    if os.environ.get("HX_TRIM"):
        return trim(np.asarray(a))
    return np.asarray(a)[:, :20] if cfg.inputs == "four_momentum" else np.asarray(a)


WORK = os.environ.get("HX_DIAG_DIR", "/tmp/hx/diag")
os.makedirs(WORK, exist_ok=True)
tag, source, n_train = sys.argv[1], sys.argv[2], int(sys.argv[3])
opts = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
recipe = opts.pop("recipe", "default")  # "authors_code": VRNNConfig.authors_code() with the other overrides
cfg = (VRNNConfig.authors_code if recipe == "authors_code" else VRNNConfig)(**{"epochs": 30, **opts})
store = open_store(os.environ.get("HX_STORE", "/tmp/hx/hx.zarr"))
DS = ["qcd", "yxh_2000_100", "yxh_qqq_2000_100", "yxh_hf_2000_100", "yxh_dark_2000_100"]
IDS = ["run", "luminosityBlock", "event"]
cols = store.read("qcd", IDS + ["h_candidate", "x_constituents", "j1_constituents", "j2_constituents", "tau21_x"])
fold = fold_of_ids({k: np.asarray(cols[k]).astype(np.uint64) for k in IDS}, 3)
flag = np.asarray(cols["h_candidate"], bool)
held = fold == 0
if source == "x":
    pool = TR(np.asarray(cols["x_constituents"])[flag & ~held])
else:
    pool = TR(np.concatenate([np.asarray(cols["j1_constituents"])[~held], np.asarray(cols["j2_constituents"])[~held]]))
rng = np.random.default_rng(0)
if n_train > len(pool):
    raise SystemExit(f"only {len(pool)} {source} training jets")
pick = rng.choice(len(pool), n_train, replace=False)
x, _ = prepare_jets(pool[pick], cfg)
t0 = time.time()
SEED = int(os.environ.get("HX_SEED", "1"))
model = train_vrnn(x, cfg, seed=SEED)
seconds = time.time() - t0
print(f"== {tag}: {source} {n_train} jets (pool {len(pool)}), {model.epochs} epochs in {seconds:.0f} s, "
      f"{0.8 * n_train * model.epochs / seconds:.0f} training jet-epochs/s, load {os.getloadavg()[0]:.1f}, "
      f"config {opts}", flush=True)


def np_steps(w, xs, cfg):
    """numpy forward pass (z = mean of q): per-step KL (as study.py's independent check)."""
    relu = lambda a: np.maximum(a, 0)
    D = lambda n, a, act=True: (relu if act else (lambda b: b))(a @ w[f"{n}/w"] + w[f"{n}/b"])
    sig = lambda a: 1 / (1 + np.exp(-a))
    n, T, _ = xs.shape
    h = np.zeros((n, cfg.hidden)); cc = np.zeros_like(h); KL = np.zeros((n, T))
    for t in range(T):
        xt = xs[:, t]; m = (xt[:, 0] > 0)[:, None]
        fx = D("phi_x", xt); hp = D("prior", h); mu_p = D("prior_mu", hp, False); ls_p = np.clip(D("prior_ls", hp, False), -6, 6)
        he = D("enc", np.concatenate([fx, h], 1)); mu_q = D("enc_mu", he, False); ls_q = np.clip(D("enc_ls", he, False), -6, 6)
        fz = D("phi_z", mu_q)
        KL[:, t] = (ls_p - ls_q + (np.exp(2 * ls_q) + (mu_q - mu_p) ** 2) / (2 * np.exp(2 * ls_p)) - 0.5).sum(1) * m[:, 0]
        g = D("lstm", np.concatenate([fx, fz, h], 1), False); i, f, gg, o = np.split(g, 4, 1)
        cn = sig(f) * cc + sig(i) * np.tanh(gg); hn = sig(o) * np.tanh(cn)
        h = np.where(m, hn, h); cc = np.where(m, cn, cc)
    return KL


kl = {}
tau = {}
steps = {}
for ds in DS:
    c = store.read(ds, ["h_candidate", "x_constituents", "tau21_x"])
    keep = np.asarray(c["h_candidate"], bool)
    if ds == "qcd":
        keep &= held
    xs, _ = prepare_jets(TR(np.asarray(c["x_constituents"])[keep]), cfg)
    kl[ds] = model.losses(xs)[1]
    if os.environ.get("HX_STEPS") and cfg.inputs == "four_momentum":
        steps[ds] = np_steps(model.weights, xs[:3000] / model.input_scale, cfg)
    tau[ds] = np.asarray(c["tau21_x"])[keep]
row = {"tag": tag, "source": source, "n_train": n_train, "seed": SEED, "epochs": model.epochs, "seconds": round(seconds, 1),
       "config": {"recipe": recipe, **opts}, "qcd_x_above_0.5": float(np.mean(1 - np.exp(-kl["qcd"]) > 0.5)),
       "kl_median/qcd": float(np.median(kl["qcd"])), "n_qcd_test": len(kl["qcd"])}
xs_train, _ = prepare_jets(pool[pick[: min(5000, n_train)]], cfg)
row["train_jets_above_0.5"] = float(np.mean(1 - np.exp(-model.losses(xs_train)[1]) > 0.5))
for ds in DS[1:]:
    y = np.r_[np.zeros(len(kl["qcd"])), np.ones(len(kl[ds]))]
    row[f"auc_kl/{ds}"] = round(roc_auc_score(y, np.r_[kl["qcd"], kl[ds]]), 3)
    row[f"above_0.5/{ds}"] = round(float(np.mean(1 - np.exp(-kl[ds]) > 0.5)), 3)
    row[f"kl_median/{ds}"] = float(np.median(kl[ds]))
    row[f"auc_tau21/{ds}"] = round(roc_auc_score(y, -np.r_[tau["qcd"], tau[ds]]), 3)
if steps:
    np.savez(f"{WORK}/steps_{tag}.npz", **steps)
    q = steps["qcd"]
    row["qcd_mean_kl_per_step"] = np.round(q.mean(0), 3).tolist()
    for ds in DS[1:]:
        y = np.r_[np.zeros(len(q)), np.ones(len(steps[ds]))]
        row[f"auc_per_step/{ds}"] = [round(roc_auc_score(y, np.r_[q[:, t], steps[ds][:, t]]), 2) for t in range(q.shape[1])]
print(json.dumps(row), flush=True)
with open(f"{WORK}/training_rows.jsonl", "a") as f:
    f.write(json.dumps(row) + "\n")
