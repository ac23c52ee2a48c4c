"""What a report shows, in one shape for every search: spectra, limit scans, tables, cutflows.

Each search writes its own ``results.json``; :func:`search_records` reads one and returns the
spectra (observed counts, fitted background and its uncertainty, the bins left out of the fit,
the tested window) and limit scans that every output format (pyhf workspaces, HEPData, ROOT
histograms, figures, HTML) is then written from. A search's adapter is the only place that
knows its results layout, so the formats never do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from adsearch.errors import AdsearchError

__all__ = ["SpectrumRecord", "LimitRecord", "TableRecord", "SearchRecords", "search_records", "plain_title",
           "SEARCH_KINDS"]

#: Axis labels of the spectra the searches fit (x in TeV on plots, GeV in files).
OBSERVABLES: dict[str, str] = {
    "jj": "m_{jj}", "jb": "m_{jb}", "bb": "m_{bb}", "je": "m_{je}", "jmu": r"m_{j\mu}", "jgamma": r"m_{j\gamma}",
    "be": "m_{be}", "bmu": r"m_{b\mu}", "bgamma": r"m_{b\gamma}", "mjj": "m_{JJ}",
}


@dataclass
class SpectrumRecord:
    """One fitted (or unfittable) spectrum; counts-valued arrays have one entry per bin.

    ``status`` is "ok" or says why there is no fit (the figure prints it instead of a curve).
    ``counts_sigma``: the counts' uncertainty (Poisson, or the ensemble's for a median spectrum).
    ``covariance``: the fit's count covariance where the search kept it, else None.
    """

    key: str
    title: str
    observable: str
    edges_gev: np.ndarray
    counts: np.ndarray
    status: str = "ok"
    background: np.ndarray | None = None
    background_sigma: np.ndarray | None = None
    covariance: np.ndarray | None = None
    fit_function: str | None = None
    fit_mask: np.ndarray | None = None
    window_gev: tuple[float, float] | None = None
    z: float | None = None
    z_label: str = "Z"
    counts_sigma: np.ndarray | None = None
    background_alt: np.ndarray | None = None
    extra_sigma: np.ndarray | None = None
    uncorrelated_constraint: str = "poisson"
    signal_width_floor: float = 0.0
    #: the likelihood the search itself tested, where it is not the whole fitted spectrum (the weak
    #: search's merged signal-region bin): its workspace is written instead of the spectrum's
    likelihood: Any = field(default=None, repr=False)
    likelihood_channel: str = ""

    @property
    def fitted(self) -> bool:
        return self.background is not None and self.status == "ok"

    @property
    def variable_bins(self) -> bool:
        w = np.diff(self.edges_gev)
        return bool(w.size and not np.allclose(w, w[0], rtol=1e-6))


@dataclass
class LimitRecord:
    """A CLs scan over signal masses, limits in events (95% CL) with the expected band."""

    key: str
    title: str
    spectrum_key: str
    width_fraction: float
    mass_gev: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    minus2: np.ndarray
    minus1: np.ndarray
    plus1: np.ndarray
    plus2: np.ndarray
    sigma_gev: np.ndarray
    window_gev: list[tuple[float, float]]
    inputs: list[Any] = field(default_factory=list, repr=False)
    omitted: list[str] = field(default_factory=list)


@dataclass
class TableRecord:
    """A small table (significances, regions, sensitivities) as header + rows of cells."""

    key: str
    title: str
    header: list[str]
    rows: list[list[Any]]


@dataclass
class SearchRecords:
    """Everything a report shows about one search run."""

    search: str
    title: str
    luminosity_ipb: float
    spectra: list[SpectrumRecord] = field(default_factory=list)
    limits: list[LimitRecord] = field(default_factory=list)
    tables: list[TableRecord] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)


def _slug(text: str) -> str:
    """File-safe identifier.

    >>> _slug("10 pb / efficiency 0.1")
    '10_pb_efficiency_0.1'
    """
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_")


def plain_title(text: str) -> str:
    """A figure title without its LaTeX markup, for text and HTML.

    >>> plain_title(r"region 10 pb, $m_{j\mu}$")
    'region 10 pb, m_jmu'
    """
    return re.sub(r"[$\\{}]", "", text)


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and np.isfinite(float(x)) else None


def _ae(results: dict[str, Any]) -> SearchRecords:
    from adsearch.stats.fitting import fit_spectrum

    config = results.get("provenance", {}).get("config", {})
    rec = SearchRecords("autoencoder", "Autoencoder search", float(results["luminosity_ipb"]))
    z_rows = []
    for s in results["spectra"]:
        key = _slug(f"{s['region']}_{s['spectrum']}")
        edges, counts = np.asarray(s["edges_gev"], float), np.asarray(s["counts"], float)
        spec = SpectrumRecord(key, f"region {s['region']}, $m_{{{s['spectrum']}}}$".replace("mu}", r"\mu}"),
                              OBSERVABLES.get(s["spectrum"], s["spectrum"]), edges, counts, s["status"],
                              counts_sigma=np.sqrt(counts), z_label="global Z")
        bh = s.get("bumphunt")
        if s.get("fit") and s["status"] == "ok":
            spec.fit_function = s["fit"]["function"]
            if "count_covariance" in s["fit"]:  # the search's own prediction and count covariance
                spec.background = np.asarray(s["fit"]["expected"], float)
                spec.covariance = np.asarray(s["fit"]["count_covariance"], float)
                spec.background_sigma = np.sqrt(np.clip(np.diag(spec.covariance), 0.0, None))
            else:  # results.json of an older adsearch: the fit is repeated (deterministic, milliseconds)
                fit = fit_spectrum(counts, edges, s["fit"]["function"])
                spec.background, spec.background_sigma, spec.covariance = fit.expected, fit.sigma, fit.count_covariance
            alt = s.get("fit_alt") or {}
            if alt.get("converged"):
                spec.background_alt = (np.asarray(alt["expected"], float) if "expected" in alt
                                       else _converged_expected(fit_spectrum(counts, edges, alt["function"])))
        if bh:
            spec.window_gev = (float(bh["lo_gev"]), float(bh["hi_gev"]))
            spec.z = _finite(bh["global_z"])
        rec.spectra.append(spec)
        z_rows.append([s["region"], s["spectrum"], s["n_events"],
                       f"{s['fit']['p_value']:.3f}" if s.get("fit") else "-",
                       f"{bh['lo_gev']:.0f}-{bh['hi_gev']:.0f}" if bh else "-",
                       f"{bh['local_z']:.2f}" if bh else "-", f"{bh['global_z']:.2f}" if bh else "-", s["status"]])
        for width, points in (s.get("limits") or {}).items():
            if not points:
                continue
            get = lambda name: np.array([p[name] for p in points], float)  # noqa: E731
            rec.limits.append(LimitRecord(
                _slug(f"limit_{key}_w{width}"), f"{spec.title}, Gaussian width {float(width):.0%}", key, float(width),
                get("mass_gev"), get("observed"), get("expected"), get("minus2"), get("minus1"), get("plus1"),
                get("plus2"), get("sigma_gev"), [(p["window_lo_gev"], p["window_hi_gev"]) for p in points]))
            if spec.fitted:
                _ae_limit_inputs(rec.limits[-1], spec, points, s.get("systematics", {}), config)
    rec.tables.append(TableRecord("regions", "Anomaly regions", ["region", "ln(MSE) threshold", "events"],
                                  [[r["label"], f"{r['threshold']:.3f}", r["n_selected"]] for r in results["regions"]]))
    rec.tables.append(TableRecord("significances", "Spectra: fits and BumpHunter (global Z with the look-elsewhere effect)",
                                  ["region", "spectrum", "events", "fit p", "window [GeV]", "local Z", "global Z", "status"],
                                  z_rows))
    if results.get("sensitivity"):
        rec.tables.append(TableRecord(
            "sensitivity", "Benchmark sensitivity (Delta-Z)",
            ["benchmark", "spectrum", "region", "Z presel", "Z region", "Delta-Z"],
            [[p["benchmark"], p["spectrum"], p["region"], _fmt(p["z_presel"], ".2f"), _fmt(p["z_region"], ".2f"),
              _fmt(p["delta_z_percent"], "+.0f") + ("%" if _finite(p["delta_z_percent"]) is not None else "")]
             for p in results["sensitivity"]]))
    rec.headline = {"max_global_z": results.get("max_global_z"), "n_data": results.get("n_data"),
                    "n_injected": results.get("n_injected", {})}
    return rec


def _converged_expected(fit: Any) -> np.ndarray | None:
    return fit.expected if fit.converged else None


def _ae_limit_inputs(limit: LimitRecord, spec: SpectrumRecord, points: list[dict[str, Any]],
                     systematics: dict[str, Any], config: dict[str, Any]) -> None:
    """The likelihood of each limit point, rebuilt as the search built it from what results.json
    keeps: the fit covariance, the alternative function, the spurious signal at each mass, the
    signal's luminosity/efficiency/JES/JER terms, and the autoencoder-retraining spread (one
    correlated shape nuisance, ``ae_retraining``). A results.json that keeps only the retraining
    spread's size (older adsearch) gives workspaces without it, and ``omitted`` says so."""
    from adsearch.stats.binning import mass_resolution_gev
    from adsearch.stats.likelihood import LikelihoodInputs
    from adsearch.stats.limits import gaussian_template
    from adsearch.stats.systematics import SignalUncertainties

    unc = SignalUncertainties(**config["signal_uncertainties"]) if config.get("signal_uncertainties") else None
    spur = {round(p["mass_gev"], 3): abs(p["events"]) for p in systematics.get(f"spurious_signal_w{limit.width_fraction:g}", [])}
    shapes: dict[str, np.ndarray] = {}
    if "sigma_events" in systematics.get("ae_retraining", {}):
        shapes["ae_retraining"] = np.asarray(systematics["ae_retraining"]["sigma_events"], float)
    elif "ae_retraining" in systematics:
        limit.omitted.append("ae_retraining (this results.json keeps only its size)")
    edges = spec.edges_gev
    for p in points:
        mass, sigma = float(p["mass_gev"]), float(p["sigma_gev"])
        select = (edges[:-1] >= p["window_lo_gev"] - 1e-6) & (edges[1:] <= p["window_hi_gev"] + 1e-6)
        extra: dict[str, Any] = {"background_shapes": shapes} if shapes else {}
        if round(mass, 3) in spur:
            extra["spurious_signal"] = spur[round(mass, 3)]
        if unc is not None:
            extra["signal_norm"] = unc.norms()
            extra["signal_shapes"] = unc.shapes(edges, mass, limit.width_fraction, mass_resolution_gev)
        limit.inputs.append(LikelihoodInputs.make(
            spec.counts, gaussian_template(edges, mass, sigma), spec.background, spec.covariance, None,
            spec.background_alt, select, **extra))


def _window_spectrum(rec: SearchRecords, key: str, title: str, s: dict[str, Any], counts: np.ndarray,
                     edges: np.ndarray, mask: np.ndarray | None, counts_sigma: np.ndarray,
                     background: list[float] | None, sigma: list[float] | None, window: tuple[float, float],
                     z: Any) -> SpectrumRecord:
    spec = SpectrumRecord(key, title, OBSERVABLES["mjj"], edges, counts, counts_sigma=counts_sigma, window_gev=window,
                          z=_finite(z), fit_mask=mask, fit_function=s["fit"].get("function"), signal_width_floor=0.03)
    if background is not None and s["fit"]["success"]:
        spec.background = np.asarray(background, float)
        spec.background_sigma = None if sigma is None else np.asarray(sigma, float)
        spec.covariance = _refit_covariance(spec)
    else:
        spec.status = f"no accepted fit: {s['fit'].get('message') or 'the strategy rejected every function'}"
        spec.z = None
    rec.spectra.append(spec)
    return spec


def _refit_covariance(spec: SpectrumRecord) -> np.ndarray | None:
    """The fit's count covariance, by repeating the accepted fit where results.json keeps only
    per-bin errors; None unless the repeat reproduces the stored background (to 0.1%). With it a
    workspace carries the fit's few correlated eigenmodes instead of one nuisance per bin."""
    from adsearch.stats.fitting import fit_spectrum

    if spec.fit_function is None:
        return None
    try:
        fit = fit_spectrum(spec.counts, spec.edges_gev, spec.fit_function, mask=spec.fit_mask)
    except (ValueError, RuntimeError):
        return None
    ok = fit.converged and np.allclose(fit.expected, spec.background, rtol=1e-3, atol=1e-3)
    return fit.count_covariance if ok else None


def _cwola(results: dict[str, Any]) -> SearchRecords:
    rec = SearchRecords("cwola", "CWoLa hunting", float(results["luminosity_ipb"]))
    rows = []
    for region in results["regions"]:
        for s in region["spectra"]:
            key = _slug(f"region{region['index']}_{s['label']}")
            edges, counts = np.asarray(s["edges_gev"], float), np.asarray(s["counts"], float)
            _window_spectrum(rec, key, f"region {region['index']}, {s['label']}", s, counts, edges, None,
                             np.sqrt(counts), s["fit"]["background"], s["fit"]["sigma"], tuple(s["window_gev"]), s["z"])
            rows.append([region["index"], s["label"], f"{s['window_gev'][0]:.0f}-{s['window_gev'][1]:.0f}",
                         f"{s['n_window']:.0f}", _fmt(s["b_window"], ".1f"), _fmt(s["z"], ".2f")])
    rec.tables.append(TableRecord("significances", "Fit signal regions: observed, fitted background, Z",
                                  ["region", "selection", "fit SR [GeV]", "observed", "background", "Z"], rows))
    rec.headline = {"n_data": results.get("n_data"), "n_injected": results.get("n_injected", {})}
    return rec


def _weak(results: dict[str, Any]) -> SearchRecords:
    rec = SearchRecords("weak", f"Weakly supervised search ({results.get('template', 'salad')} template)",
                        float(results["luminosity_ipb"]))
    rows = []
    for w in results["windows"]:
        sr = tuple(w["signal_region_gev"])
        for s in w["spectra"]:
            h = s["histogram"]
            edges, counts = np.asarray(h["edges_gev"], float), np.asarray(h["median"], float)
            centres = 0.5 * (edges[1:] + edges[:-1])
            in_sr = (centres > sr[0]) & (centres < sr[1])
            key = _slug(f"sr{sr[0]:.0f}_{w['feature_set']}_{s['label']}")
            sigma = np.hypot(np.sqrt(counts), np.asarray(h["sigma"], float))
            # the reported Z passed the validation rule (and carries the non-closure correction);
            # where no validation sample ran, the merged bin's Z, labelled as such
            validated = s.get("validated")
            z = s["z"] if validated is None else s.get("reported_z")
            spec = _window_spectrum(rec, key, f"SR {sr[0]:.0f}-{sr[1]:.0f} GeV, {w['feature_set']}, {s['label']}", s,
                                    counts, edges, ~in_sr, sigma, s["fit"]["background"], None, sr, z)
            spec.z_label = "Z (not validated)" if validated is None else "reported Z"
            spec.extra_sigma, spec.uncorrelated_constraint = np.asarray(h["sigma"], float), "gaussian"
            if spec.fitted:  # the search's test: one merged SR bin, unit signal (mu = signal events)
                from adsearch.searches.weak.analysis import merged_bin_inputs

                spec.likelihood = merged_bin_inputs(s["n_sr"], 1.0, s["b_sr"], s["sigma_fit_sr"], s["sigma_ensemble_sr"])
                spec.likelihood_channel = "merged_sr"
            rows.append([f"{sr[0]:.0f}-{sr[1]:.0f}", w["feature_set"], s["label"], f"{s['n_sr']:.0f}",
                         _fmt(s["b_sr"], ".1f"), _fmt(s["z"], ".2f"), _fmt(z, ".2f")])
    rec.tables.append(TableRecord("significances", "Merged signal-region bins: observed (ensemble median), background, "
                                  "Z, and the reported Z (validated, non-closure corrected; - where not reported)",
                                  ["signal region [GeV]", "features", "selection", "observed", "background", "Z",
                                   "reported Z"], rows))
    rec.headline = {"n_data": results.get("n_data"), "n_injected": results.get("n_injected", {})}
    return rec


def _hx(results: dict[str, Any]) -> SearchRecords:
    """The Y -> X H search: per region (anomaly, tau21, inclusive) one m_Y spectrum per m_X bin."""
    rec = SearchRecords("hx", "Y -> X H search (VRNN anomaly score)", float(results["luminosity_ipb"]))
    hunts, sens = [], []
    for region, r in results["regions"].items():
        grid, hunt = r["grid"], r["hunt"]
        mx, my = np.asarray(grid["mx_edges_gev"], float), np.asarray(grid["my_edges_gev"], float)
        counts, background = np.asarray(grid["counts"], float), np.asarray(grid["background"], float)
        for i, (lo, hi) in enumerate(zip(mx[:-1], mx[1:])):
            best = abs(hunt["mx_lo_gev"] - lo) < 1e-6
            fitted = bool(grid["fitted_rows"][i])
            spec = SpectrumRecord(_slug(f"{region}_mx{lo:.0f}-{hi:.0f}"),
                                  f"{region} region, {lo:.0f} < $m_X$ < {hi:.0f} GeV", "m_Y", my, counts[i],
                                  "ok" if fitted else "no fit: too few events in this m_X bin",
                                  counts_sigma=np.sqrt(counts[i]), z_label="global Z", signal_width_floor=0.03,
                                  fit_function=results.get("config", {}).get("fit_function"))
            if fitted:
                spec.background = background[i]
                spec.covariance = _refit_covariance(spec)
                if spec.covariance is not None:  # the figure's fit band
                    spec.background_sigma = np.sqrt(np.clip(np.diag(spec.covariance), 0.0, None))
            if best and fitted:
                spec.window_gev, spec.z = (hunt["my_lo_gev"], hunt["my_hi_gev"]), _finite(hunt["global_z"])
            rec.spectra.append(spec)
        hunts.append([region, r["n_events"], f"{hunt['mx_lo_gev']:.0f}-{hunt['mx_hi_gev']:.0f}",
                      f"{hunt['my_lo_gev']:.0f}-{hunt['my_hi_gev']:.0f}", f"{hunt['n_observed']:.0f}",
                      _fmt(hunt["n_background"], ".1f"), _fmt(hunt["local_z"], ".2f"), _fmt(hunt["global_z"], ".2f")])
        sens += [[region, s["signal"], f"{s['efficiency']:.3g}", _fmt(s["z_expected"], ".2f"),
                  _fmt(s["limit_observed_pb"], ".3g"), _fmt(s["limit_expected_pb"], ".3g")] for s in r["sensitivities"]]
    rec.tables.append(TableRecord("significances", "Most significant (m_X bin, m_Y window) per region",
                                  ["region", "events", "m_X [GeV]", "m_Y [GeV]", "observed", "background", "local Z",
                                   "global Z"], hunts))
    if sens:
        rec.tables.append(TableRecord("sensitivity", "Signals per region: efficiency, expected Z, CLs limits (pb)",
                                      ["region", "signal", "efficiency", "Z expected", "limit obs [pb]",
                                       "limit exp [pb]"], sens))
    if results.get("limits"):  # the injection scan (config.limits): the chain rerun per injected cross-section
        signal = results.get("config", {}).get("limits", {}).get("signal", "signal")
        rec.tables.append(TableRecord(
            "injection_limits", f"95% CL limits on {signal} by injection (VRNNs retrained per point), pb",
            ["region", "observed", "expected", "-2 sigma", "-1 sigma", "+1 sigma", "+2 sigma", "set at injected"],
            [[region, _fmt(v["observed_pb"], ".3g"), _fmt(v["expected_pb"], ".3g"),
              *[_fmt(b, ".3g") for b in v["band_pb"]], _fmt(v["set_at_injected_pb"], ".3g")]
             for region, v in results["limits"].items()]))
    rec.headline = {"n_data": results.get("n_data"), "n_injected": results.get("n_injected", {})}
    return rec


def _fmt(x: Any, spec: str) -> str:
    return "-" if x is None or not np.isfinite(float(x)) else format(float(x), spec)


_ADAPTERS: dict[str, Callable[[dict[str, Any]], SearchRecords]] = {"autoencoder": _ae, "cwola": _cwola, "weak": _weak,
                                                                   "hx": _hx}
#: Searches whose results.json the report understands.
SEARCH_KINDS = tuple(_ADAPTERS)


def search_records(kind: str, results: dict[str, Any]) -> SearchRecords:
    """The report's view of one search's ``results.json`` (already parsed)."""
    if kind not in _ADAPTERS:
        raise AdsearchError(f"no report adapter for search {kind!r}; known: {', '.join(SEARCH_KINDS)}")
    try:
        return _ADAPTERS[kind](results)
    except KeyError as exc:
        raise AdsearchError(f"{kind} results.json lacks the key {exc}: was it written by this adsearch version?") from exc
