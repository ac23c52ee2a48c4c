"""A HEPData record (hepdata_lib): one table per fitted spectrum and per limit scan, plus the
report's summary tables, validated by hepdata_lib's own validator and packed as submission.tar.gz.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
from hepdata_lib import Submission, Table, Uncertainty, Variable

from adsearch.report.records import LimitRecord, SearchRecords, SpectrumRecord, TableRecord

__all__ = ["write_hepdata"]

_SQRT_S = {"name": "SQRT(S)", "units": "GeV", "value": 13000}


def _variable(name: str, values: Any, *, units: str = "", independent: bool = False, binned: bool = False,
              lumi_ipb: float | None = None) -> Variable:
    var = Variable(name, is_independent=independent, is_binned=binned, units=units, zero_uncertainties_warning=False)
    var.values = values
    if not independent:
        var.add_qualifier("SQRT(S)", 13000, "GeV")
        if lumi_ipb is not None:
            var.add_qualifier("LUMINOSITY", f"{lumi_ipb / 1000.0:.4g}", "fb$^{-1}$")
    return var


def _symmetric(var: Variable, label: str, sigma: np.ndarray) -> None:
    unc = Uncertainty(label, is_symmetric=True)
    unc.values = [float(x) for x in sigma]
    var.add_uncertainty(unc)


def _spectrum_table(spec: SpectrumRecord, lumi: float) -> Table:
    table = Table(spec.key)
    table.description = (f"{spec.title}: observed events per bin and the fitted background"
                         + ("" if spec.fitted else f" (no fit: {spec.status})") + ".")
    table.location = f"spectra/{spec.key}"
    table.keywords["observables"] = ["N"]
    table.keywords["reactions"] = ["P P --> X"]
    table.add_variable(_variable(f"${spec.observable}$", [(float(a), float(b)) for a, b in
                                                          zip(spec.edges_gev[:-1], spec.edges_gev[1:])],
                                 units="GeV", independent=True, binned=True))
    data = _variable("observed events", [float(x) for x in spec.counts], lumi_ipb=lumi)
    if spec.counts_sigma is not None:
        _symmetric(data, "stat", spec.counts_sigma)
    table.add_variable(data)
    if spec.fitted:
        bkg = _variable(f"background ({spec.fit_function} fit)", [float(x) for x in spec.background], lumi_ipb=lumi)
        if spec.background_sigma is not None:
            _symmetric(bkg, "fit", spec.background_sigma)
        table.add_variable(bkg)
    return table


def _limit_table(limit: LimitRecord, lumi: float) -> Table:
    table = Table(limit.key)
    table.description = f"95% CL upper limits (CLs) on the signal yield in events: {limit.title}."
    table.location = f"limits/{limit.key}"
    table.keywords["observables"] = ["N"]
    table.add_variable(_variable("signal mass", [float(m) for m in limit.mass_gev], units="GeV", independent=True))
    table.add_variable(_variable("observed limit", [float(x) for x in limit.observed], units="events", lumi_ipb=lumi))
    expected = _variable("expected limit", [float(x) for x in limit.expected], units="events", lumi_ipb=lumi)
    for label, lo, hi in (("1 sigma", limit.minus1, limit.plus1), ("2 sigma", limit.minus2, limit.plus2)):
        unc = Uncertainty(label, is_symmetric=False)
        unc.values = [(float(a - e), float(b - e)) for a, b, e in zip(lo, hi, limit.expected)]
        expected.add_uncertainty(unc)
    table.add_variable(expected)
    return table


def _summary_table(rec: TableRecord) -> Table:
    table = Table(rec.key)
    table.description = rec.title
    table.location = "summary tables"
    table.add_variable(_variable("row", list(range(1, len(rec.rows) + 1)), independent=True))
    for i, name in enumerate(rec.header):
        col = [row[i] for row in rec.rows]
        var = Variable(name, is_independent=False, is_binned=False)
        # HEPData values are numbers; text cells (status, windows) go in as qualifiers-free strings
        var.values = [float(x) if _is_number(x) else str(x) for x in col]
        table.add_variable(var)
    return table


def _is_number(x: Any) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return True


def write_hepdata(records: SearchRecords, report_dir: str | Path) -> str:
    """Write ``hepdata/`` (submission.yaml + one YAML per table) and ``hepdata/submission.tar.gz``."""
    root = Path(report_dir).resolve()
    sub = Submission()
    sub.comment = f"adsearch {records.title}: spectra, background fits and limits (generated data unless stated)."
    for spec in records.spectra:
        sub.add_table(_spectrum_table(spec, records.luminosity_ipb))
    for limit in records.limits:
        sub.add_table(_limit_table(limit, records.luminosity_ipb))
    for table in records.tables:
        sub.add_table(_summary_table(table))
    (root / "hepdata").mkdir(parents=True, exist_ok=True)
    # hepdata_lib writes its tarball into the working directory: run it from the record's folder
    with contextlib.chdir(root / "hepdata"):
        sub.create_files(".", validate=True, remove_old=False)
    return "hepdata/submission.yaml"
