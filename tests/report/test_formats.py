"""The report's files read back with the field's own tools and agree with the search's numbers."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import uproot
import yaml
from PIL import Image

from adsearch.report.schema import ReportIndex


def test_report_json_follows_its_schema(ae_report: Path) -> None:
    index = ReportIndex.model_validate_json((ae_report / "report.json").read_text())
    schema = json.loads((ae_report / "report.schema.json").read_text())
    assert set(schema["required"]) >= {"search", "spectra", "limits", "provenance"}
    assert index.search == "autoencoder" and index.sqrt_s_gev == 13000.0
    assert index.provenance["config_hash"] == "0123abcd"


def test_histograms_root_and_hist_match_the_results(ae_report: Path) -> None:
    results = json.loads((ae_report.parent / "results.json").read_text())
    counts = np.asarray(results["spectra"][0]["counts"])
    edges = np.asarray(results["spectra"][0]["edges_gev"])
    with uproot.open(ae_report / "histograms" / "spectra.root") as f:
        data = f["10_pb_je/data"]
        np.testing.assert_allclose(data.values(), counts)
        np.testing.assert_allclose(data.axis().edges(), edges)
        assert f["10_pb_je/background"].values().sum() > 0.9 * counts.sum()
        assert "0.1_pb_jmu/background" not in f  # no fit, no background histogram
    hists = pickle.loads((ae_report / "histograms" / "spectra.pkl").read_bytes())
    np.testing.assert_allclose(hists["10_pb_je"]["data"].values(), counts)


def test_hepdata_tables_hold_the_spectra_and_limits(ae_report: Path) -> None:
    index = json.loads((ae_report / "report.json").read_text())
    sub = list(yaml.safe_load_all((ae_report / "hepdata" / "submission.yaml").read_text()))
    names = {doc["name"] for doc in sub if "name" in doc}
    assert {s["key"] for s in index["spectra"]} | {lim["key"] for lim in index["limits"]} <= names
    table = yaml.safe_load((ae_report / index["spectra"][0]["hepdata_table"]).read_text())
    observed = [v["value"] for v in table["dependent_variables"][0]["values"]]
    assert observed == json.loads((ae_report.parent / "results.json").read_text())["spectra"][0]["counts"]
    quals = {q["name"]: q["value"] for q in table["dependent_variables"][0]["qualifiers"]}
    assert quals["SQRT(S)"] == 13000
    (limit,) = index["limits"]
    lim_table = yaml.safe_load((ae_report / "hepdata" / f"{limit['key']}.yaml").read_text())
    # hepdata_lib keeps 4 significant digits
    np.testing.assert_allclose([v["value"] for v in lim_table["dependent_variables"][1]["values"]],
                               limit["expected_events"], rtol=1e-3)
    assert (ae_report / "hepdata" / "submission.tar.gz").stat().st_size > 500


def test_every_figure_is_png_and_pdf_at_150_dpi(ae_report: Path, cwola_report: Path) -> None:
    for report in (ae_report, cwola_report):
        index = json.loads((report / "report.json").read_text())
        fitted = [s["figure_png"] for s in index["spectra"] if s["status"] == "ok"]
        unfitted = [s for s in index["spectra"] if s["status"] != "ok"]
        for png in fitted + [lim["figure_png"] for lim in index["limits"]] + [s["figure_png"] for s in unfitted]:
            with Image.open(report / png) as img:
                assert img.info["dpi"][0] >= 149.9 and img.size[0] > 900
        for png in fitted + [lim["figure_png"] for lim in index["limits"]]:
            assert (report / png).with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
        assert all(s["figure_pdf"] is None for s in unfitted)
    # the search's own figures come with their PDFs, linked from the page
    assert (ae_report / "search_plots" / "anomaly_scores.pdf").read_bytes()[:4] == b"%PDF"
    assert 'href="search_plots/anomaly_scores.pdf"' in (ae_report / "index.html").read_text()


def test_hx_report_has_one_spectrum_per_mx_bin(hx_report: Path) -> None:
    index = json.loads((hx_report / "report.json").read_text())
    assert [s["key"] for s in index["spectra"]] == ["inclusive_mx30_90", "inclusive_mx90_200", "inclusive_mx200_500"]
    assert sum(s["z"] is not None for s in index["spectra"]) == 1  # the hunt's best row carries its global Z
    fitted = [s for s in index["spectra"] if s["status"] == "ok"]
    assert fitted and all((hx_report / s["workspace"]).is_file() for s in fitted)
    # the injection-scan limits, where the search ran one, are a table of the report (and of HEPData)
    (limits,) = [t for t in index["tables"] if t["key"] == "injection_limits"]
    assert limits["rows"] == [["inclusive", "0.8", "0.6", "0.3", "0.4", "0.9", "1.3", "0.5"]]
    assert (hx_report / "hepdata" / "injection_limits.yaml").is_file()


def test_figures_drawn_on_cluster_workers_equal_the_local_ones(cwola_report: Path, tmp_path: Path) -> None:
    """With a client the report's figures are Dask tasks returning the files' bytes (no shared disk
    needed); the PNGs are the same bytes as those drawn in this process."""
    from adsearch.cluster import cluster_client
    from adsearch.cluster_spec import ClusterSpec
    from adsearch.report.figures import write_figures
    from adsearch.report.records import search_records

    records = search_records("cwola", json.loads((cwola_report.parent / "results.json").read_text()))
    with cluster_client(ClusterSpec.parse("local")) as client:
        figures = write_figures(records, tmp_path, client=client)
        assert len(client.scheduler_info()["workers"]) == 2
    assert figures and set(figures) == {s.key for s in records.spectra}
    for key, png in figures.items():
        assert (tmp_path / png).read_bytes() == (cwola_report / png).read_bytes(), key
        assert (tmp_path / png).with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
