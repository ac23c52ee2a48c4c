"""The last stage of every search: its results in the field's formats and one HTML page.

``make_report(kind, search_dir, report_dir)`` reads the search's ``results.json`` and writes

    report_dir/index.html             every figure, tables, cutflows, run metadata, links
    report_dir/report.json            results in a documented schema (report.schema.json beside it)
    report_dir/workspaces/*.json      a pyhf workspace per fitted spectrum (``pyhf cls`` reads them)
    report_dir/workspaces/limits/     a pyhf workspace per limit point
    report_dir/hepdata/               HEPData YAML (hepdata_lib) + submission.tar.gz
    report_dir/histograms/            spectra as hist objects (spectra.pkl) and TH1s (spectra.root)
    report_dir/figures/               mplhep figures, PNG + PDF at 150 dpi
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from adsearch.errors import AdsearchError
from adsearch.report.records import SEARCH_KINDS, SearchRecords, search_records

__all__ = ["make_report", "SEARCH_KINDS", "SearchRecords", "search_records"]


def make_report(
    kind: str, search_dir: str | Path, report_dir: str | Path, *, cutflows: dict[str, dict[str, Any]] | None = None,
    provenance: dict[str, Any] | None = None, client: Any = None,
) -> Path:
    """Write the report of the ``kind`` search whose outputs are in ``search_dir``; returns index.html.

    ``cutflows``: dataset -> processor cutflow dict (the store's); ``provenance``: the run record
    (defaults to the one in results.json); ``client``: a Dask client the figures are drawn on.

    >>> page = make_report("cwola", "hunt", "hunt/report")   # doctest: +SKIP
    >>> page.name                                             # doctest: +SKIP
    'index.html'
    """
    from adsearch.provenance import write_json
    from adsearch.report.figures import write_figures
    from adsearch.report.hepdata import write_hepdata
    from adsearch.report.histograms import write_histograms
    from adsearch.report.html import render_html
    from adsearch.report.schema import LimitEntry, ReportIndex, SpectrumEntry, TableEntry
    from adsearch.report.workspaces import write_workspaces

    search_dir, out = Path(search_dir), Path(report_dir)
    results_path = search_dir / "results.json"
    if not results_path.is_file():
        raise AdsearchError(f"{results_path}: no results.json (run the search stage first)")
    results = json.loads(results_path.read_text())
    records = search_records(kind, results)
    out.mkdir(parents=True, exist_ok=True)
    figures = write_figures(records, out, client=client)
    workspaces = write_workspaces(records, out)
    spectrum_ws = {w.key: w.path for w in workspaces if w.kind == "spectrum"}
    hepdata = write_hepdata(records, out)
    pkl, root = write_histograms(records, out)
    plots = []
    for png in sorted((search_dir / "plots").glob("*.png")):
        (out / "search_plots").mkdir(exist_ok=True)
        for source in (png, png.with_suffix(".pdf")):  # the search's PDF beside its PNG, where it wrote one
            if source.is_file():
                shutil.copy2(source, out / "search_plots" / source.name)
        plots.append(f"search_plots/{png.name}")
    index = ReportIndex(
        search=kind, title=records.title, luminosity_ipb=records.luminosity_ipb, headline=records.headline,
        spectra=[SpectrumEntry(key=s.key, title=s.title, observable=s.observable, n_bins=int(s.counts.size),
                               n_events=float(s.counts.sum()), status=s.status, z=s.z, z_label=s.z_label,
                               window_gev=s.window_gev, figure_png=figures[s.key],
                               figure_pdf=figures[s.key][:-4] + ".pdf" if s.fitted else None,
                               workspace=spectrum_ws.get(s.key),
                               hepdata_table=f"hepdata/{s.key.lower()}.yaml") for s in records.spectra],
        limits=[LimitEntry(key=lim.key, title=lim.title, spectrum_key=lim.spectrum_key, width_fraction=lim.width_fraction,
                           mass_gev=lim.mass_gev.tolist(), observed_events=lim.observed.tolist(),
                           expected_events=lim.expected.tolist(), figure_png=figures[lim.key],
                           workspaces=[w.path for w in workspaces if w.kind == "limit" and w.key.startswith(lim.key + "_m")],
                           omitted_systematics=lim.omitted) for lim in records.limits],
        tables=[TableEntry(key=t.key, title=t.title, header=t.header, rows=t.rows) for t in records.tables],
        cutflows=cutflows or {}, search_plots=plots,
        files={"hepdata": hepdata, "histograms_root": root, "histograms_pickle": pkl,
               "search_results": os.path.relpath(results_path, out), "html": "index.html"},
        provenance=provenance or results.get("provenance", {}),
    )
    write_json(out / "report.json", index.model_dump(mode="json"))
    write_json(out / "report.schema.json", ReportIndex.model_json_schema())
    (out / "index.html").write_text(render_html(index, out))
    return out / "index.html"
