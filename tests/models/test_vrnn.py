"""The VRNN scorer: preprocessing invariants, a real TF training that separates two-prong jets
from one-prong ones without labels, and the k-fold ensemble on a real two-worker Dask cluster."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.models.vrnn import VRNNConfig, VRNNModel, initial_weights, preprocess, train_vrnn, vrnn_ensemble_scores
from adsearch.models.vrnn_preprocessing import kt_distances

N = 8
#: a small network; these toys are separated by the whole loss at lambda = 0.1 (with the published
#: KL-only score at lambda = 1 they are not: 12 epochs on 1,500 toy jets leave the KL near 0 for all)
SMALL = VRNNConfig(hidden=12, feature=12, epochs=12, batch_size=128, patience=3, kl_weight=0.1, score_term="loss",
                   ordering="pt")


def _jets(n: int, prongs: int, rng: np.random.Generator) -> np.ndarray:
    """Toy jets: pT-ordered constituents around ``prongs`` axes 0.3 apart (QCD-like: one prong)."""
    out = np.zeros((n, N, 4), np.float32)
    pt_jet = rng.uniform(500, 1500, n)
    eta0, phi0 = rng.uniform(-1.5, 1.5, n), rng.uniform(-np.pi, np.pi, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    share = rng.dirichlet(np.ones(N) * 0.7, n)
    prong = rng.integers(0, prongs, (n, N))
    offset = 0.3 * prong[..., None] * np.stack([np.cos(angle), np.sin(angle)], -1)[:, None, :]
    spread = rng.normal(0, 0.03, (n, N, 2)) + offset
    out[..., 0] = pt_jet[:, None] * share
    out[..., 1] = eta0[:, None] + spread[..., 0]
    out[..., 2] = phi0[:, None] + spread[..., 1]
    out[:, -2:] = 0.0  # padding
    order = np.argsort(-out[..., 0], axis=1)
    return np.take_along_axis(out, order[..., None], axis=1)


def test_preprocessing_sets_the_reference_frame() -> None:
    rng = np.random.default_rng(0)
    jets = _jets(200, 2, rng)
    x, mask = preprocess(jets, reference_mass=0.25, reference_energy=1.0)
    assert mask[:, -2:].sum() == 0 and mask[:, :-2].all()
    total = x.sum(axis=1)
    np.testing.assert_allclose(total[:, 0], 1.0, atol=1e-4)  # common energy
    np.testing.assert_allclose(total[:, 1:3], 0.0, atol=1e-4)  # jet along z
    mass = np.sqrt(total[:, 0] ** 2 - np.sum(total[:, 1:] ** 2, axis=1))
    np.testing.assert_allclose(mass, 0.25, rtol=1e-3)  # common mass
    assert np.all(np.abs(x[:, 0, 2]) < 1e-5) and np.all(x[:, 0, 1] >= 0)  # leading in the x-z plane
    assert np.all(x[:, 1, 2] >= -1e-6)  # second with p_y >= 0
    # boost-invariant: the same jet at another pT and position gives the same features
    moved = jets.copy()
    moved[..., 0] *= 2.0
    moved[..., 2] += 1.0
    np.testing.assert_allclose(preprocess(moved)[0], x, atol=2e-4)


def test_preprocessing_uses_constituent_masses_and_ignores_padding() -> None:
    """Massive constituents keep their mass in units of the jet's (m_i * 0.25 / m_jet: a massless
    four-vector would break it); jets of any multiplicity reach the reference frame exactly; padding
    slots stay zero and do not enter the jet sum."""
    rng = np.random.default_rng(4)
    jets = _jets(60, 2, rng)
    jets[..., 3] = np.where(jets[..., 0] > 0, rng.uniform(0.1, 2.0, jets.shape[:2]), 0.0)
    jets[:20, 3:] = 0.0  # 20 jets with 3 real constituents, the rest with N - 2
    x, mask = preprocess(jets.astype(np.float64).astype(np.float32))
    np.testing.assert_array_equal(mask.sum(1), np.where(np.arange(60) < 20, 3, N - 2))
    assert np.all(x[~mask] == 0)
    total = x.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(total[:, 0], 1.0, atol=1e-5)
    np.testing.assert_allclose(np.sqrt(total[:, 0] ** 2 - np.sum(total[:, 1:] ** 2, 1)), 0.25, rtol=1e-4)
    pt, eta, phi, m = (jets[..., k].astype(np.float64) for k in range(4))
    p = np.stack([np.sqrt((pt * np.cosh(eta)) ** 2 + m * m), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)
    p = p * (pt > 0)[..., None]
    jet_mass = np.sqrt(p[..., 0].sum(1) ** 2 - np.sum(p[..., 1:].sum(1) ** 2, 1))
    x64 = x.astype(np.float64)
    m2 = x64[..., 0] ** 2 - np.sum(x64[..., 1:] ** 2, -1)
    np.testing.assert_allclose(np.sqrt(np.maximum(m2[mask], 0)), (m * 0.25 / jet_mass[:, None])[mask], atol=2e-4)


def _reference_kl(weights: dict[str, np.ndarray], x: np.ndarray, cfg: VRNNConfig) -> np.ndarray:
    """An independent numpy pass of the network (z = mean of q): per-step KL, zero at padding."""
    def dense(name: str, a: np.ndarray, act: bool = True) -> np.ndarray:
        y = a @ weights[f"{name}/w"] + weights[f"{name}/b"]
        return np.maximum(y, 0) if act else y

    def sigmoid(a: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-a))

    h = c = np.zeros((len(x), cfg.hidden))
    kl = np.zeros(x.shape[:2])
    for t in range(x.shape[1]):
        real = (x[:, t, 0] > 0)[:, None]
        fx, hp = dense("phi_x", x[:, t]), dense("prior", h)
        mu_p, ls_p = dense("prior_mu", hp, False), np.clip(dense("prior_ls", hp, False), -6, 6)
        he = dense("enc", np.concatenate([fx, h], 1))
        mu_q, ls_q = dense("enc_mu", he, False), np.clip(dense("enc_ls", he, False), -6, 6)
        step = ls_p - ls_q + (np.exp(2 * ls_q) + (mu_q - mu_p) ** 2) / (2 * np.exp(2 * ls_p)) - 0.5
        kl[:, t] = step.sum(1) * real[:, 0]
        gates = dense("lstm", np.concatenate([fx, dense("phi_z", mu_q), h], 1), False)
        i, f, g, o = np.split(gates, 4, axis=1)
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h, c = np.where(real, sigmoid(o) * np.tanh(c_new), h), np.where(real, c_new, c)
    return kl


def test_jet_kl_is_the_mean_over_its_real_constituents() -> None:
    """The score's mean_t KL runs over the jet's real constituents only: padded steps neither add
    KL nor count in the mean (a mean over the padded length would score low-multiplicity jets lower)."""
    rng = np.random.default_rng(5)
    jets = _jets(40, 2, rng)
    jets[:20, 3:] = 0.0
    x, mask = preprocess(jets)
    model = VRNNModel(SMALL, initial_weights(SMALL, 11), N)
    _, kl = model.losses(x)
    per_step = _reference_kl(model.weights, x.astype(np.float64), SMALL)
    assert np.all(per_step[~mask] == 0) and np.all(per_step[mask] > 0)
    np.testing.assert_allclose(kl, per_step.sum(1) / mask.sum(1), rtol=1e-4, atol=1e-6)
    assert not np.allclose(kl[:20], per_step[:20].sum(1) / N, rtol=1e-2)  # the padded-length mean differs


def test_kt_ordering_reorders_the_same_constituents() -> None:
    """kt order (the method paper's alternative): the same frame and constituents, sorted by
    pT * Delta R to the jet axis, largest first, padding still last."""
    rng = np.random.default_rng(1)
    jets = _jets(100, 2, rng)
    x_pt, _ = preprocess(jets)
    x_kt, mask = preprocess(jets, ordering="kt")
    assert mask[:, -2:].sum() == 0 and mask[:, :-2].all()
    d = np.sort(kt_distances(jets), axis=1)[:, ::-1]
    order = np.argsort(-kt_distances(jets), axis=1, kind="stable")
    np.testing.assert_allclose(x_kt, np.take_along_axis(x_pt, order[..., None], axis=1), atol=1e-6)
    assert np.all(np.diff(d[:, :-2], axis=1) <= 0)
    assert not np.allclose(x_kt, x_pt)  # the toy jets' pT order differs from their kt order
    with pytest.raises(ValueError, match="ordering"):
        preprocess(jets, ordering="eta")


def _flat_wide(n: int, rng: np.random.Generator) -> np.ndarray:
    """Anomalous toy jets: constituents spread over a disc of R = 0.6 with nearly equal pT."""
    out = _jets(n, 1, rng)
    r, a = 0.6 * np.sqrt(rng.random((n, N))), rng.uniform(0, 2 * np.pi, (n, N))
    out[..., 1] += r * np.cos(a)
    out[..., 2] += r * np.sin(a)
    out[..., 0] = np.sort(rng.uniform(10, 100, (n, N)), axis=1)[:, ::-1]
    out[:, -2:] = 0.0
    return out


def test_unsupervised_training_scores_anomalous_jets_higher() -> None:
    rng = np.random.default_rng(1)
    background = _jets(1500, 1, rng)
    model = train_vrnn(preprocess(background, ordering=SMALL.ordering)[0], SMALL, seed=3)
    assert model.history[-1] < 0.5 * model.history[0]
    s_bkg, s_sig = model.score(_jets(500, 1, rng)), model.score(_flat_wide(300, rng))
    assert np.all((s_bkg >= 0) & (s_bkg < 1)) and np.all((s_sig >= 0) & (s_sig < 1))
    auc = np.mean(s_sig[:, None] > s_bkg[None, :])
    assert auc > 0.7, auc
    # the published score is 1 - exp(-mean KL) of the same network
    kl_model = type(model)(SMALL.model_copy(update={"score_term": "kl"}), model.weights, model.n_steps, model.input_scale)
    _, kl = kl_model.losses(preprocess(background[:50])[0])
    np.testing.assert_allclose(kl_model.score(background[:50]), 1 - np.exp(-kl), rtol=1e-5)
    again = train_vrnn(preprocess(background)[0], SMALL.model_copy(update={"epochs": 2}), seed=3)
    first = train_vrnn(preprocess(background)[0], SMALL.model_copy(update={"epochs": 2}), seed=3)
    np.testing.assert_array_equal(again.score(background[:50]), first.score(background[:50]))  # same seed, same net


@pytest.mark.slow
def test_ensemble_on_two_workers_equals_in_process() -> None:
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(2)
    jets = np.concatenate([_jets(900, 1, rng), _jets(100, 2, rng)])
    ids = {"run": np.ones(1000, np.int64), "event": np.arange(1000, dtype=np.uint64)}
    cfg = SMALL.model_copy(update={"epochs": 2})
    here = vrnn_ensemble_scores(jets, ids, cfg, seed=4)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        there = vrnn_ensemble_scores(jets, ids, cfg, seed=4, client=client)
    np.testing.assert_allclose(there.scores, here.scores, rtol=1e-5)
    assert len(here.epochs) == 4 and np.all(np.array(here.n_train) > 400)
