"""A real AE-search results.json (analyse_spectrum on a toy spectrum with a bump, CLs limits
with systematics) and a real dijet one (analyse_window, the CWoLa layout), each reported once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from adsearch.report import make_report


@pytest.fixture(scope="session")
def ae_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adsearch.searches.autoencoder.spectra import analyse_spectrum
    from adsearch.stats.systematics import SignalUncertainties

    unc = {"luminosity": 0.017, "efficiency": 0.02, "jet_energy_scale": 0.02, "jet_energy_resolution": 0.1}
    rng = np.random.default_rng(1)
    m = np.concatenate([300 + rng.exponential(400, 3000), rng.normal(1200, 40, 60)])
    # two "retrains" selecting slightly different events: their fits' spread is the retraining shape
    retrains = [m[rng.random(m.size) < 0.97] for _ in range(2)]
    fitted = analyse_spectrum(m, region="10 pb", spectrum="je", n_pseudo=100, limit_widths=(0.15,),
                              limit_mass_spacing=0.5, signal_uncertainties=SignalUncertainties(**unc),
                              retrain_masses=retrains)
    too_few = analyse_spectrum(m[:10], region="0.1 pb", spectrum="jmu", n_pseudo=100)
    search = tmp_path_factory.mktemp("ae_search")
    (search / "plots").mkdir()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(search / "plots" / "anomaly_scores.png", dpi=150)
    fig.savefig(search / "plots" / "anomaly_scores.pdf")
    plt.close(fig)
    results = {"luminosity_ipb": 139.0, "n_data": int(m.size), "n_injected": {}, "max_global_z": fitted.global_z,
               "regions": [{"label": "10 pb", "threshold": -9.1, "n_selected": 3060},
                           {"label": "0.1 pb", "threshold": -7.0, "n_selected": 10}],
               "spectra": [fitted.to_dict(), too_few.to_dict()], "sensitivity": [],
               "provenance": {"config": {"signal_uncertainties": unc}, "config_hash": "0123abcd", "seed": 1}}
    (search / "results.json").write_text(json.dumps(results, default=float))
    make_report("autoencoder", search, search / "report",
                cutflows={"background": {"steps": ["all", "lepton"], "events": [100, 60], "removed": [0, 40],
                                         "sumw": [100.0, 60.0]}})
    return search / "report"


@pytest.fixture(scope="session")
def cwola_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adsearch.searches.common.spectrum import analyse_window

    rng = np.random.default_rng(2)
    mjj = 1800 + rng.exponential(600, 20000)
    edges = np.arange(1800.0, 6000.0, 100.0)
    spectra = [analyse_window(mjj, edges, (2600.0, 3400.0), label="no selection", centre_gev=3000.0).to_dict()]
    region = {"index": 3, "spectra": spectra}
    search = tmp_path_factory.mktemp("cwola_search")
    (search / "results.json").write_text(json.dumps(
        {"region": "search", "luminosity_ipb": 10300.0, "n_data": 20000, "n_injected": {}, "regions": [region]},
        default=float))
    make_report("cwola", search, search / "report")
    return search / "report"


@pytest.fixture(scope="session")
def weak_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adsearch.searches.weak.analysis import analyse_members
    from adsearch.searches.weak.regions import SlidingRegion

    region = SlidingRegion(2800.0, 3400.0)
    centres = 0.5 * (region.edges_gev[1:] + region.edges_gev[:-1])
    shape = 4000.0 * (centres / 2200.0) ** -7
    shape[region.sr_bins] += 25.0  # an excess in the signal region, so the merged bin has Z > 0
    members = np.random.default_rng(3).poisson(np.tile(shape, (5, 1))).astype(float)
    spectrum = analyse_members(members, region, "efficiency 0.1").to_dict()
    window = {"signal_region_gev": [2800.0, 3400.0], "feature_set": "M_tau21", "spectra": [spectrum]}
    search = tmp_path_factory.mktemp("weak_search")
    (search / "results.json").write_text(json.dumps(
        {"template": "salad", "luminosity_ipb": 2700.0, "n_data": int(members[0].sum()), "n_injected": {},
         "windows": [window]}, default=float))
    make_report("weak", search, search / "report")
    return search / "report"


@pytest.fixture(scope="session")
def hx_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    grid_module = pytest.importorskip("adsearch.searches.hx.grid")
    rng = np.random.default_rng(4)
    my = 1300.0 * (1.0 - rng.random(20000)) ** (-1.0 / 4.0)
    mx = 30.0 + rng.gamma(2.0, 40.0, my.size)
    grid = grid_module.fit_grid(mx, my, np.array([30.0, 90.0, 200.0, 500.0]), np.arange(1300.0, 4001.0, 100.0))
    hunt = grid_module.hunt_grid(grid, n_pseudo=100)
    limits = {"inclusive": {"observed_pb": 0.8, "expected_pb": 0.6, "band_pb": [0.3, 0.4, 0.9, 1.3],
                            "set_at_injected_pb": 0.5}}
    results = {"config": {"fit_function": "three_param", "limits": {"signal": "yxh_3500_100"}}, "luminosity_ipb": 1000.0,
               "n_data": int(my.size), "n_injected": {}, "limits": limits,
               "regions": {"inclusive": {"name": "inclusive", "n_events": int(my.size), "hunt": hunt.to_dict(),
                                         "grid": grid.to_dict(), "sensitivities": []}}}
    search = tmp_path_factory.mktemp("hx_search")
    (search / "results.json").write_text(json.dumps(results, default=float))
    make_report("hx", search, search / "report")
    return search / "report"
