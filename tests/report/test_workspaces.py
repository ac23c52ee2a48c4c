"""pyhf's own command line reads the written workspaces, and a limit workspace reproduces the
search's limit: CLs = 0.05 at the reported expected (median) and observed limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PYHF = str(Path(sys.executable).with_name("pyhf"))


def _cls(workspace: Path, poi: float) -> dict[str, object]:
    out = subprocess.run([PYHF, "cls", "--test-poi", str(poi), str(workspace)], capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


def test_pyhf_cls_reads_every_spectrum_workspace(ae_report: Path, cwola_report: Path) -> None:
    for report in (ae_report, cwola_report):
        index = json.loads((report / "report.json").read_text())
        fitted = [s for s in index["spectra"] if s["status"] == "ok"]
        assert fitted and all(s["workspace"] for s in fitted)
        for s in fitted:
            result = _cls(report / s["workspace"], 1.0)
            assert 0.0 < result["CLs_obs"] <= 1.0 and len(result["CLs_exp"]) == 5
        # a spectrum without a fit has no workspace and says why
        assert all(s["workspace"] is None and "too few" in s["status"]
                   for s in index["spectra"] if s["status"] != "ok")


@pytest.mark.parametrize("point", [1, 4])
def test_limit_workspace_reproduces_the_search_limit(ae_report: Path, point: int) -> None:
    index = json.loads((ae_report / "report.json").read_text())
    (limit,) = index["limits"]
    assert len(limit["workspaces"]) == len(limit["mass_gev"]) >= 5
    ws = ae_report / limit["workspaces"][point]
    spec = json.loads(ws.read_text())
    modifiers = {m["name"] for s in spec["channels"][0]["samples"] for m in s["modifiers"]}
    # the fit covariance, the alternative function and the signal systematics are in the likelihood
    assert {"bkg_fit_eig0", "bkg_shape_alt", "luminosity", "jet_energy_scale"} <= modifiers
    expected = _cls(ws, limit["expected_events"][point])["CLs_exp"][2]
    observed = _cls(ws, limit["observed_events"][point])["CLs_obs"]
    assert expected == pytest.approx(0.05, abs=0.004)
    assert observed == pytest.approx(0.05, abs=0.004)
