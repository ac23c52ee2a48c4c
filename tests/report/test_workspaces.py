"""pyhf's own command line reads the written workspaces, and a limit workspace reproduces the
search's limit: CLs = 0.05 at the reported expected (median) and observed limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyhf
import pytest
from scipy.stats import norm

PYHF = str(Path(sys.executable).with_name("pyhf"))


def _cls_cli(workspace: Path, poi: float) -> dict[str, object]:
    out = subprocess.run([PYHF, "cls", "--test-poi", str(poi), str(workspace)], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


def _cls_observed(workspace: Path, poi: float) -> float:
    ws = pyhf.Workspace(json.loads(workspace.read_text()))
    model = ws.model()
    return float(pyhf.infer.hypotest(poi, ws.data(model), model, test_stat="qtilde"))


def test_pyhf_cls_reads_every_spectrum_workspace(ae_report: Path, cwola_report: Path) -> None:
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


def test_weak_workspace_is_the_searchs_merged_bin_likelihood(weak_report: Path) -> None:
    """The merged signal-region bin with the fit and ensemble uncertainties as two Gaussian-constrained
    nuisances: pyhf on the written file gives the search's own Z, and ``pyhf cls`` at the limit the
    search's limit code computes from the same numbers gives CLs = 0.05."""
    from adsearch.searches.weak.analysis import merged_bin_inputs
    from adsearch.stats.limits import upper_limit

    index = json.loads((weak_report / "report.json").read_text())
    (entry,) = index["spectra"]
    path = weak_report / entry["workspace"]
    spec = json.loads(path.read_text())
    (channel,) = spec["channels"]
    assert channel["name"] == "merged_sr" and len(spec["observations"][0]["data"]) == 1
    modifiers = {m["name"]: m["type"] for s in channel["samples"] for m in s["modifiers"]}
    assert modifiers == {"mu": "normfactor", "bkg_fit_eig0": "histosys", "ensemble": "histosys"}
    ws = pyhf.Workspace(spec)
    model = ws.model()
    assert {model.config.param_set(p).__class__.__name__ for p in ("bkg_fit_eig0", "ensemble")} == {"constrained_by_normal"}
    searched = json.loads((weak_report.parent / "results.json").read_text())["windows"][0]["spectra"][0]
    p0 = float(pyhf.infer.hypotest(0.0, ws.data(model), model, test_stat="q0"))
    z = float(norm.isf(p0))
    assert searched["n_sr"] > searched["b_sr"] and z == pytest.approx(searched["z"], abs=2e-3)
    limit = upper_limit(merged_bin_inputs(searched["n_sr"], 1.0, searched["b_sr"], searched["sigma_fit_sr"],
                                          searched["sigma_ensemble_sr"]))
    cls = _cls_cli(path, limit.observed)
    assert cls["CLs_obs"] == pytest.approx(0.05, abs=0.004)
    assert _cls_cli(path, limit.expected)["CLs_exp"][2] == pytest.approx(0.05, abs=0.004)


def test_limit_workspace_reproduces_the_search_limit(ae_report: Path) -> None:
    index = json.loads((ae_report / "report.json").read_text())
    (limit,) = index["limits"]
    assert len(limit["workspaces"]) == len(limit["mass_gev"]) >= 3
    point = len(limit["mass_gev"]) // 2
    ws = ae_report / limit["workspaces"][point]
    spec = json.loads(ws.read_text())
    modifiers = {m["name"] for s in spec["channels"][0]["samples"] for m in s["modifiers"]}
    # the fit covariance, the alternative function, the autoencoder-retraining spread and the
    # signal systematics are in the likelihood, none left out
    assert {"bkg_fit_eig0", "bkg_shape_alt", "ae_retraining", "luminosity", "jet_energy_scale"} <= modifiers
    assert limit["omitted_systematics"] == []
    results = json.loads((ae_report.parent / "results.json").read_text())
    shift = results["spectra"][0]["systematics"]["ae_retraining"]["sigma_events"]
    (retraining,) = [m for s in spec["channels"][0]["samples"] for m in s["modifiers"] if m["name"] == "ae_retraining"]
    background = [s for s in spec["channels"][0]["samples"] if s["name"] == "background"][0]["data"]
    assert max(shift) > 0 and max(h - b for h, b in zip(retraining["data"]["hi_data"], background)) > 0
    assert _cls_cli(ws, limit["expected_events"][point])["CLs_exp"][2] == pytest.approx(0.05, abs=0.004)
    assert _cls_observed(ws, limit["observed_events"][point]) == pytest.approx(0.05, abs=0.004)
    for other in (0, len(limit["mass_gev"]) - 1):  # and at the ends of the scan
        assert _cls_observed(ae_report / limit["workspaces"][other],
                             limit["observed_events"][other]) == pytest.approx(0.05, abs=0.004)
