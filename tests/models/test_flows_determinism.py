"""Same seed, same flow templates: CURTAINS, CATHODE and DOWN-UP-SAMPLING rerun bitwise.

Why: TFP's MADE layers leave their Keras initializers unseeded, and tf_keras then seeds them from
Python's global ``random`` (OS entropy per process, shared with a Dask worker's other threads),
so before the seeded initializer in :mod:`adsearch.models.flows` every CURTAINS run drew another
flow (4 identical tasks on a 2-worker cluster: 4 different templates).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from adsearch.models.flow_matching import FlowMatchingConfig, train_flow_matching
from adsearch.models.flows import FlowConfig, _MAF
from adsearch.models.templates import CurtainsConfig, cathode_template, curtains_template, fit_sideband_flow

FLOW = FlowConfig(max_epochs=2, n_layers=2, hidden=[16], batch_size=128, seed=42)


def _sidebands(n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    m = np.where(rng.random(n) < 0.6, rng.uniform(2.0, 2.6, n), rng.uniform(3.2, 3.8, n))
    a = 0.1 * m + 0.03 * m * rng.normal(size=n)
    x = np.stack([a, 5.0 * a + 0.3 * rng.normal(size=n)], 1).astype(np.float32)
    return x, m * 1000.0, rng.uniform(2600.0, 3200.0, 2 * n)


def _unrelated_tf_work() -> None:
    """What a reused worker process did before: other TF ops, unseeded Keras layers, Python/numpy random."""
    import tensorflow as tf
    import tf_keras

    tf.random.uniform([3])
    tf_keras.layers.Dense(4)(tf.zeros([1, 3]))
    tf.random.set_seed(7)
    random.random()
    np.random.random()


def _templates(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, m, targets = _sidebands()
    config = CurtainsConfig(flow=FLOW.model_copy(update={"seed": seed}), oversampling=2, seed=seed)
    flow = fit_sideband_flow(x, m, config.flow)
    curtains = curtains_template(x, m, targets, config, flow=flow).features
    cathode = cathode_template(x, m, targets[: len(x)], config, flow=flow).features
    fm = train_flow_matching(x, m[:, None] / 1000.0, FlowMatchingConfig(max_epochs=2, batch_size=128, seed=seed))
    return curtains, cathode, fm.sample(np.full((200, 1), 2.9), seed=seed)


def test_same_seed_gives_bitwise_equal_flow_templates_in_one_process() -> None:
    first = _templates(42)
    _unrelated_tf_work()
    second = _templates(42)
    for name, a, b in zip(("curtains", "cathode", "flow matching"), first, second):
        assert np.array_equal(a, b), f"{name}: max |diff| {np.abs(a - b).max()}"
    # and the seed matters (the test is not passing on a constant)
    other = _templates(43)
    assert not np.array_equal(first[0], other[0]) and not np.array_equal(first[2], other[2])


def test_seeded_initial_weights_keep_glorot_scale_and_the_autoregressive_mask() -> None:
    import tensorflow as tf

    maf = _MAF(3, 1, FlowConfig(n_layers=1, hidden=[32, 32], seed=1))
    kernels = [v.numpy() for v in maf.variables if len(v.shape) == 2]
    assert all(np.abs(k).max() <= np.sqrt(6.0 / sum(k.shape)) for k in kernels)
    assert all(np.abs(k).max() > 0.5 * np.sqrt(6.0 / sum(k.shape)) for k in kernels)  # drawn, not zero
    # equal-shaped layers get their own draws (a seeded Keras initializer would repeat itself)
    square = [k for k in kernels if k.shape == (32, 32)]
    assert len(square) == 1 or not np.array_equal(square[0], square[1])
    x = tf.Variable(tf.random.stateless_normal([1, 3], seed=[1, 2]))
    with tf.GradientTape() as tape:
        shift = maf.mades[0](x, conditional_input=tf.zeros([1, 1]))[..., 0]
    jac = tape.jacobian(shift, x).numpy()[0, :, 0, :]
    assert np.allclose(np.triu(jac), 0.0) and np.abs(np.tril(jac, -1)).sum() > 0  # left-to-right order


def _template_task(seed: int, x: np.ndarray, m: np.ndarray, targets: np.ndarray) -> np.ndarray:
    config = CurtainsConfig(flow=FLOW.model_copy(update={"seed": seed}), oversampling=2)
    return curtains_template(x, m, targets, config).features


@pytest.mark.slow
def test_identical_curtains_tasks_on_two_workers_give_one_template() -> None:
    from adsearch.cluster import dask_client, run_tasks

    x, m, targets = _sidebands()
    with dask_client(n_workers=2) as client:
        out = run_tasks(_template_task, [(42,)] * 4, client, shared={"x": x, "m": m, "targets": targets})
    here = _template_task(42, x, m, targets)
    assert all(np.array_equal(o, here) for o in out), [float(np.abs(o - here).max()) for o in out]
