"""TensorFlow process set-up: the C++ start-up log filter (every Dask worker printed ~5 lines)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from adsearch.models.runtime import native_logs_filtered

_START = "from adsearch.models.runtime import configure_tensorflow; configure_tensorflow(1).constant(1); print('ok')"


def _start_tensorflow(level: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": level}
    return subprocess.run([sys.executable, "-c", _START], capture_output=True, text=True, env=env, timeout=120,
                          check=True)


@pytest.mark.parametrize(("level", "shown"), [("2", False), ("0", True)])
def test_tensorflow_start_up_lines_follow_tf_cpp_min_log_level(level: str, shown: bool) -> None:
    """At the default level 2 a worker starting TensorFlow prints none of its info lines (oneDNN,
    the absl preamble); asked for with level 0 they are there: the filter applies the level, it
    does not swallow the descriptor."""
    result = _start_tensorflow(level)
    assert result.stdout.strip() == "ok"
    assert ("oneDNN custom operations" in result.stderr) is shown, result.stderr
    assert ("absl::InitializeLog" in result.stderr) is shown


def test_the_filter_keeps_what_is_not_tensorflow_start_up_noise(capfd: pytest.CaptureFixture[str]) -> None:
    with native_logs_filtered():
        os.write(2, b"I0000 00:00:1.5    7916 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"E0000 00:00:1.5    7916 op_kernel.cc:9] a real failure\n")
        os.write(2, b"plain output of another library\n")
    err = capfd.readouterr().err
    assert "oneDNN" not in err and "a real failure" in err and "plain output of another library" in err


def test_flow_training_logs_no_graph_import_errors() -> None:
    """Training the CURTAINS / CATHODE sideband flow made TF 2.21 log 3 harmless 'empty op name'
    graph-import errors per traced function (~100 lines per weak demo); the template's flow
    training filters exactly those (the same training outside the filter, later in the same
    process, shows them: one TensorFlow start-up for both)."""
    code = ("import os, numpy as np; from adsearch.models.flows import FlowConfig, train_conditional_flow; "
            "from adsearch.models.templates.curtains import fit_sideband_flow; "
            "r = np.random.default_rng(0); x = r.normal(size=(600, 2)).astype('float32'); "
            "m = r.uniform(2000, 3000, 600); cfg = FlowConfig(max_epochs=1, hidden=(8,), n_layers=2); "
            "fit_sideband_flow(x, m, cfg); os.write(2, b'=== raw ===\\n'); "
            "train_conditional_flow(x, (m / 1e3)[:, None].astype('float32'), cfg); print('ok')")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                         check=True)
    assert run.stdout.strip() == "ok"
    template, raw = run.stderr.split("=== raw ===\n")
    assert "has an empty op name" in raw  # what TF does on its own
    assert "tfg_optimizer" not in template and "GrapplerHook" not in template
