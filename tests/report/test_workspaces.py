"""pyhf's own command line reads the written workspaces, and a limit workspace reproduces the
search's limit: CLs = 0.05 at the reported expected (median) and observed limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyhf
import pytest

PYHF = str(Path(sys.executable).with_name("pyhf"))


def _cls_cli(workspace: Path, poi: float) -> dict[str, object]:
    out = subprocess.run([PYHF, "cls", "--test-poi", str(poi), str(workspace)], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


def _cls_observed(workspace: Path, poi: float) -> float:
    ws = pyhf.Workspace(json.loads(workspace.read_text()))
    model = ws.model()
    return float(pyhf.infer.hypotest(poi, ws.data(model), model, test_stat="qtilde"))


def test_pyhf_cls_reads_every_spectrum_workspace(ae_report: Path, cwola_report: Path, weak_report: Path) -> None:
    for report in (ae_report, cwola_report):
        index = json.loads((report / "report.json").read_text())
        fitted = [s for s in index["spectra"] if s["status"] == "ok"]
        assert fitted and all(s["workspace"] for s in fitted)
        first = _cls_cli(report / fitted[0]["workspace"], 1.0)  # the pyhf command line reads it
        assert 0.0 < first["CLs_obs"] <= 1.0 and len(first["CLs_exp"]) == 5
        assert first["CLs_obs"] == pytest.approx(_cls_observed(report / fitted[0]["workspace"], 1.0), rel=1e-6)
        for s in fitted[1:]:
            assert 0.0 < _cls_observed(report / s["workspace"], 1.0) <= 1.0
        # a spectrum without a fit has no workspace and says why
        assert all(s["workspace"] is None and "too few" in s["status"]
                   for s in index["spectra"] if s["status"] != "ok")
    # the weak search's ensemble uncertainty enters as a Gaussian-constrained per-bin term (one
    # nuisance per bin: a hypotest takes ~10 s, so only the model and its prediction are checked)
    spec = json.loads((weak_report / "workspaces" / "sr2800_M_tau21_efficiency_0.1.json").read_text())
    assert "staterror" in {m["type"] for s in spec["channels"][0]["samples"] for m in s["modifiers"]}
    ws = pyhf.Workspace(spec)
    model = ws.model()
    background = json.loads((weak_report / "report.json").read_text())
    fitted = json.loads((weak_report.parent / "results.json").read_text())["windows"][0]["spectra"][0]["fit"]
    init = model.config.suggested_init()
    init[model.config.poi_index] = 0.0
    assert model.expected_actualdata(init) == pytest.approx(fitted["background"], rel=1e-6)
    assert background["spectra"][0]["workspace"].endswith(".json")


def test_limit_workspace_reproduces_the_search_limit(ae_report: Path) -> None:
    index = json.loads((ae_report / "report.json").read_text())
    (limit,) = index["limits"]
    assert len(limit["workspaces"]) == len(limit["mass_gev"]) >= 3
    point = len(limit["mass_gev"]) // 2
    ws = ae_report / limit["workspaces"][point]
    spec = json.loads(ws.read_text())
    modifiers = {m["name"] for s in spec["channels"][0]["samples"] for m in s["modifiers"]}
    # the fit covariance, the alternative function and the signal systematics are in the likelihood
    assert {"bkg_fit_eig0", "bkg_shape_alt", "luminosity", "jet_energy_scale"} <= modifiers
    assert _cls_cli(ws, limit["expected_events"][point])["CLs_exp"][2] == pytest.approx(0.05, abs=0.004)
    assert _cls_observed(ws, limit["observed_events"][point]) == pytest.approx(0.05, abs=0.004)
    for other in (0, len(limit["mass_gev"]) - 1):  # and at the ends of the scan
        assert _cls_observed(ae_report / limit["workspaces"][other],
                             limit["observed_events"][other]) == pytest.approx(0.05, abs=0.004)
