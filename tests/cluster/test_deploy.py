"""deploy/: the images install with CI's command, the jobqueue profiles and Helm values are valid
and say what they promise, and the JupyterHub notebook runs against the local dask-gateway."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _ci_install_command() -> str:
    """README's second command (what .ci/run executes) without its final test step."""
    blocks = [b.strip() for b in re.findall(r"```(?:bash|sh)?\n(.*?)```", (ROOT / "README.md").read_text(), re.S)]
    install, _, test = blocks[1].rpartition(" && ")
    assert "pytest" in test and "pip install" in install
    return install


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_images_install_with_the_ci_command(dockerfile: str) -> None:
    runs = [line[len("RUN "):].strip() for line in (DEPLOY / dockerfile).read_text().splitlines()
            if line.startswith("RUN ")]
    assert _ci_install_command() in runs, f"{dockerfile} does not RUN CI's install command verbatim"
    assert "scripts/readme_command.py 2" in (ROOT / ".ci" / "run").read_text()  # and CI runs README's


@pytest.mark.parametrize("name, kind, expected", [
    ("slurm.yaml", "slurm", ["#SBATCH -p short", "--tls-ca-file", "--nthreads 1"]),
    ("slurm-gpu.yaml", "slurm", ["#SBATCH --gres=gpu:1", "--resources GPU=1", "--tls-ca-file"]),
    ("htcondor.yaml", "htcondor", ["+MaxRuntime", "--tls-ca-file", "RequestDisk"]),
])
def test_jobqueue_profiles_render_job_scripts(name: str, kind: str, expected: list[str], tmp_path: Path) -> None:
    import dask_jobqueue

    from adsearch.cluster_jobqueue import _cluster_kwargs, load_profile

    profile = load_profile(DEPLOY / "jobqueue" / name)
    kwargs = _cluster_kwargs(profile.model_copy(update={"shared_temp_directory": str(tmp_path)}), kind)
    cls = {"slurm": dask_jobqueue.SLURMCluster, "htcondor": dask_jobqueue.HTCondorCluster}[kind]
    with cls(**kwargs) as cluster:
        script = cluster.job_script()
        assert cluster.scheduler_address.startswith("tls://")  # TLS by default: it listens beyond loopback
    for text in expected:
        assert text in script, f"{name}: {text!r} not in the job script:\n{script}"


def test_profile_without_tls_binds_loopback_unless_asked(tmp_path: Path) -> None:
    from adsearch.cluster_jobqueue import JobqueueProfile, _cluster_kwargs

    plain = _cluster_kwargs(JobqueueProfile(tls=False), "slurm")
    assert plain["scheduler_options"]["host"] == "127.0.0.1" and "security" not in plain
    asked = _cluster_kwargs(JobqueueProfile(tls=False, listen_beyond_loopback_without_tls=True), "slurm")
    assert "host" not in asked["scheduler_options"]
    assert _cluster_kwargs(JobqueueProfile(), "slurm")["scheduler_options"]["dashboard_address"].startswith("127.0.0.1")


def test_helm_values_offer_the_options_adsearch_sets() -> None:
    from traitlets.config import Config

    from adsearch.cluster_gateway import _OPTION_NAMES

    values = yaml.safe_load((DEPLOY / "helm" / "dask-gateway-values.yaml").read_text())
    assert values["gateway"]["auth"]["type"] == "jupyterhub"
    assert values["gateway"]["backend"]["worker"]["threads"] == 1
    c = Config()
    exec(compile(values["gateway"]["extraConfig"]["adsearch-options"], "extraConfig", "exec"), {"c": c})
    offered = {f.field for f in c.Backend.cluster_options.fields}
    for names in _OPTION_NAMES.values():
        assert offered & set(names), f"the chart offers none of {names}"


def test_notebook_runs_on_the_gateway(gateway_server, cluster_nano_files, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(DEPLOY / "notebook.ipynb", as_version=4)
    fileset = tmp_path / "fileset.yaml"
    fileset.write_text(yaml.safe_dump({"bkg": [str(f) for f in cluster_nano_files]}))
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    parameters.source += (f"\nGATEWAY_URL = {gateway_server.url!r}\nPROXY_ADDRESS = {gateway_server.proxy_address!r}"
                          f"\nGATEWAY_AUTH = 'basic'\nFILESET = {str(fileset)!r}\nOUT = {str(tmp_path / 'out')!r}")
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"dashboard: {gateway_server.url}" in text
    assert "3000 events in" in text and "bkg:" in text and "events scored" in text
    from adsearch.store import open_store

    store = open_store(tmp_path / "out" / "store.zarr")
    assert store.read("bkg", ["ae_score"])["ae_score"].size == store.n_events("bkg") > 0
