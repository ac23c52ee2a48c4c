"""The report's results file (``report.json``): a documented, versioned schema (pydantic).

``report.schema.json`` beside every report is this model's JSON Schema, so other tools can
validate a report without adsearch. Units are in the field names (GeV, pb^-1).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["SCHEMA_VERSION", "SpectrumEntry", "LimitEntry", "TableEntry", "ReportIndex"]

SCHEMA_VERSION = "1.0"


class SpectrumEntry(BaseModel):
    """One spectrum: where its figure, workspace and HEPData table are, and what was found."""

    key: str = Field(description="identifier, also the file stem of the figure, workspace and HEPData table")
    title: str
    observable: str = Field(description="LaTeX name of the mass, e.g. m_{je}")
    n_bins: int
    n_events: float
    status: str = Field(description="'ok', or why the spectrum has no fit")
    z: float | None = Field(description="the search's significance of this spectrum (see z_label)")
    z_label: str
    window_gev: tuple[float, float] | None = Field(description="tested window: BumpHunter's or the signal region")
    figure_png: str
    figure_pdf: str | None = Field(description="PDF of a fitted spectrum (None: no fit, PNG only)")
    workspace: str | None = Field(description="pyhf JSON workspace (None without a fit)")
    hepdata_table: str


class LimitEntry(BaseModel):
    """One CLs scan: limits in events at each mass (95% CL), the figure and one workspace per mass."""

    key: str
    title: str
    spectrum_key: str
    width_fraction: float
    mass_gev: list[float]
    observed_events: list[float]
    expected_events: list[float]
    figure_png: str
    workspaces: list[str]
    omitted_systematics: list[str] = Field(description="systematics of the search not in the workspaces, and why")


class TableEntry(BaseModel):
    key: str
    title: str
    header: list[str]
    rows: list[list[Any]]


class ReportIndex(BaseModel):
    """Everything one report holds; paths are relative to the report folder."""

    schema_version: str = SCHEMA_VERSION
    search: str = Field(description="autoencoder | cwola | weak | hx")
    title: str
    sqrt_s_gev: float = 13000.0
    luminosity_ipb: float
    headline: dict[str, Any]
    spectra: list[SpectrumEntry]
    limits: list[LimitEntry]
    tables: list[TableEntry]
    cutflows: dict[str, dict[str, Any]] = Field(description="dataset -> processor cutflow (steps, events, removed, sumw)")
    search_plots: list[str] = Field(description="the search's own figures (score distributions, maps), copied")
    files: dict[str, str] = Field(description="hepdata, histograms_root, histograms_pickle, search_results, html")
    provenance: dict[str, Any] = Field(description="resolved config, versions, seeds, input checksums")
