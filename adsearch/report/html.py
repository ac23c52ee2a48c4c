"""The HTML page of a report: run metadata, headline, tables, cutflows, every figure, and links
to the workspaces, HEPData record and ROOT file. One self-contained file with relative links,
so the report folder can be copied, zipped or served as it is."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from adsearch.report.records import plain_title
from adsearch.report.schema import ReportIndex

__all__ = ["render_html"]

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; width: 560px; margin: 0.5em; vertical-align: top; }
figure img { width: 100%; } figcaption { font-size: 0.85em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _value(v: Any) -> str:
    """Headline cells: floats to 3 significant digits, containers as JSON."""
    if isinstance(v, float):
        return f"{v:.3g}"
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def _table(table_id: str, title: str, header: list[str], rows: list[list[Any]]) -> list[str]:
    out = [f"<h3>{_e(title)}</h3>", f'<table id="{_e(table_id)}" class="results">',
           "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows]
    return out + ["</table>"]


def _figure(src: str, caption: str, links: list[tuple[str, str]]) -> str:
    caption = plain_title(caption)  # the figures' LaTeX titles, as plain text
    link_html = " · ".join(f'<a href="{_e(href)}">{_e(text)}</a>' for text, href in links)
    return (f'<figure><a href="{_e(src)}"><img src="{_e(src)}" alt="{_e(caption)}"></a>'
            f"<figcaption>{_e(caption)}<br>{link_html}</figcaption></figure>")


def render_html(index: ReportIndex, report_dir: str | Path | None = None) -> str:
    """The report page for ``index`` (paths in it are relative to the page); ``report_dir``: the
    folder it is written to, to link the PDFs of the search's own figures that exist there."""
    prov = index.provenance
    lines = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>adsearch report: {_e(index.title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{_e(index.title)}</h1>",
             f"<p>sqrt(s) = {index.sqrt_s_gev / 1000:.0f} TeV, L = {index.luminosity_ipb / 1000:.4g} fb<sup>-1</sup>. "
             f'Results: <a href="report.json">report.json</a> (schema <a href="report.schema.json">report.schema.json</a>), '
             f'<a href="{_e(index.files["hepdata"])}">HEPData record</a> '
             f'(<a href="hepdata/submission.tar.gz">tarball</a>), '
             f'<a href="{_e(index.files["histograms_root"])}">ROOT histograms</a>, '
             f'<a href="{_e(index.files["histograms_pickle"])}">hist objects</a>, '
             f'<a href="{_e(index.files["search_results"])}">search results.json</a>.</p>']
    seed = prov.get("seed", prov.get("config", {}).get("seed", "-"))
    lines += _table("run-metadata", "Run", ["item", "value"], [
        ["search", index.search], ["pass", prov.get("pass", "-")], ["created (UTC)", prov.get("created_utc", "-")],
        ["config hash", prov.get("config_hash", "-")], ["seed", seed], ["command", prov.get("command", "-")],
    ] + [[f"input {k}", v] for k, v in sorted(prov.get("inputs", {}).items())])
    versions = sorted(prov.get("versions", {}).items())
    if versions:
        lines.append("<details><summary>package versions</summary>")
        lines += _table("versions", "Versions", ["package", "version"], [list(v) for v in versions])
        lines.append("</details>")
    lines += _table("headline", "Headline", ["quantity", "value"],
                    [[k, _value(v)] for k, v in index.headline.items()])
    lines.append("<h2>Tables</h2>")
    for t in index.tables:
        lines += _table(f"table-{t.key}", t.title, t.header, t.rows)
    if index.cutflows:
        lines.append("<h2>Cutflows</h2>")
        for dataset, cf in index.cutflows.items():
            rows = [[s, n, r, f"{w:.6g}"] for s, n, r, w in zip(cf["steps"], cf["events"], cf["removed"], cf["sumw"])]
            lines += _table(f"cutflow-{dataset}", f"dataset {dataset}", ["step", "events", "removed", "sum of weights"], rows)
    lines.append("<h2>Spectra</h2>")
    for s in index.spectra:
        links = ([("PDF", s.figure_pdf)] if s.figure_pdf else []) + [("HEPData table", s.hepdata_table)]
        if s.workspace:
            links.append(("pyhf workspace", s.workspace))
        lines.append(_figure(s.figure_png, f"{s.title} ({s.status})", links))
    if index.limits:
        lines.append("<h2>Limits</h2>")
        for lim in index.limits:
            ws = [(f"workspace m = {m:.0f} GeV", w) for m, w in zip(lim.mass_gev, lim.workspaces)]
            lines.append(_figure(lim.figure_png, lim.title, ws[:3] + ([("all workspaces", "workspaces/limits/")]
                                                                        if len(ws) > 3 else [])))
    if index.search_plots:
        lines.append("<h2>The search's own figures</h2>")
        for p in index.search_plots:
            pdf = str(Path(p).with_suffix(".pdf"))
            lines.append(_figure(p, Path(p).stem.replace("_", " "), [("PDF", pdf)] if report_dir is not None and (Path(report_dir) / pdf).is_file() else []))
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"
