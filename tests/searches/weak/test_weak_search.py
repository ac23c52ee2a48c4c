"""The 2025 weak search on toy events through the real dijet processor, store, TF and pyhf."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from adsearch.models.templates.salad import SaladConfig, salad_template
from adsearch.searches.weak.analysis import merged_bin_significance
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.features import FEATURE_SETS, feature_matrix, load_weak, logit
from adsearch.searches.weak.regions import sliding_regions
from adsearch.store import open_store
from adsearch.stats.likelihood import discovery_significance


def test_published_regions_and_window_binning() -> None:
    regions = sliding_regions()
    assert [r.signal_region_gev for r in regions] == [(2600.0 + 300 * i, 3200.0 + 300 * i) for i in range(7)]
    r = regions[1]
    assert r.edges_gev.size == 31 and np.allclose(np.diff(r.edges_gev), 60.0)
    assert (r.edges_gev[0], r.edges_gev[-1]) == (2300.0, 4100.0) and r.sr_bins.sum() == 10
    assert r.in_sidebands(np.array([2310.0, 2950.0, 4090.0, 4200.0])).tolist() == [True, False, True, False]


def test_features_use_massless_mjj_and_logit_taus(weak_store: Path) -> None:
    fs = open_store(weak_store)
    s = load_weak(fs, "signal")
    raw = fs.read("signal", ["mjj_gev", "mjj_massless_gev", "is_validation"])
    keep = ~raw["is_validation"].astype(bool)
    np.testing.assert_array_equal(s["mjj_gev"], raw["mjj_massless_gev"][keep])
    assert np.all(s["mjj_gev"] < raw["mjj_gev"][keep])  # massless: below the massive-jet mJJ
    assert np.all(s["mj1_gev"] >= s["mj2_gev"])
    x = feature_matrix(s, "M_tau21_tau32")
    assert x.shape == (s.n_events, 6) == (s.n_events, len(FEATURE_SETS["M_tau21_tau32"]))
    np.testing.assert_allclose(x[:, 2], logit(s["tau21_j1"]), rtol=1e-5)
    np.testing.assert_allclose(x[:, 0], s["mj1_gev"] / 1000.0, rtol=1e-6)


def test_salad_reweights_the_simulation_towards_the_data(weak_store: Path) -> None:
    fs = open_store(weak_store)
    data, sim = load_weak(fs, "background"), load_weak(fs, "simulation")
    r = sliding_regions()[0]
    xd, xs = feature_matrix(data, "M_tau21"), feature_matrix(sim, "M_tau21")
    md, ms = data["mjj_gev"], sim["mjj_gev"]
    t = salad_template(xd[r.in_sidebands(md)], md[r.in_sidebands(md)], xs[r.in_sidebands(ms)], ms[r.in_sidebands(ms)],
                       xs[r.in_signal_region(ms)], ms[r.in_signal_region(ms)], SaladConfig(max_epochs=15, patience=5))
    target = xd[r.in_signal_region(md)].mean(axis=0)
    raw = xs[r.in_signal_region(ms)].mean(axis=0)
    weighted = np.average(t.features, axis=0, weights=t.weights)
    # jet masses and tau21 (both jets) move at least halfway from the simulation to the data
    assert np.all(np.abs(weighted - target) < 0.5 * np.abs(raw - target)), (raw, weighted, target)
    assert t.n_effective > 0.5 * len(t.weights)


def test_merged_bin_uses_gaussian_constraints() -> None:
    # two additive Gaussian nuisances: Z close to (n - b) / sqrt(b + s_fit^2 + s_ens^2)
    z, _ = merged_bin_significance(1300.0, 1000.0, 50.0, 60.0)
    assert abs(z - 300.0 / np.sqrt(1000.0 + 50.0**2 + 60.0**2)) < 0.1
    assert abs(z - merged_bin_significance(1300.0, 1000.0, 78.1, 0.0)[0]) < 0.01
    assert z < merged_bin_significance(1300.0, 1000.0, 50.0, 0.0)[0] - 0.3
    poisson = discovery_significance([1300.0], [31.6], [1000.0], extra_sigma=np.array([78.1])).z
    gaussian = discovery_significance([1300.0], [31.6], [1000.0], extra_sigma=np.array([78.1]),
                                      uncorrelated_constraint="gaussian").z
    assert abs(poisson - gaussian) > 0.05
    assert merged_bin_significance(900.0, 1000.0, 10.0, 10.0)[0] == 0.0


def _config(tmp_path: Path, **extra: object) -> Path:
    cfg = {"signal_datasets": ["signal"], "signal_regions_gev": [[2600.0, 3200.0]], "feature_sets": ["M"],
           "classifier": {"n_members": 2, "max_epochs": 6, "patience": 3}, "salad": {"max_epochs": 6},
           "validation": {"samples": []}, **extra}
    path = tmp_path / "weak.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run_cli(args: list[str]) -> str:
    from adsearch.cli import cli

    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_weak_run_end_to_end_finds_an_injected_signal(weak_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "injected"
    text = _run_cli(["weak", "run", str(weak_store), "--out", str(out), "--template", "salad", "--workers", "0",
                     "--config", str(_config(tmp_path, inject_xsec_pb={"signal": 5.0}))])
    assert "largest merged-SR significance" in text
    res = json.loads((out / "results.json").read_text())
    assert res["n_injected"]["signal"] > 400 and res["template"] == "salad"
    (window,) = res["windows"]
    assert window["n_networks"] == 10 and window["n_injected_sr"] > 400
    spectra = {s["label"]: s for s in window["spectra"]}
    assert set(spectra) == {"no selection", "efficiency 0.1", "efficiency 0.02"}
    sel = spectra["efficiency 0.1"]
    assert len(sel["histogram"]["per_member"]) == 2 and sel["fit"]["success"]
    # the selection keeps ~10% of the window and enriches the signal: a larger Z than without it
    assert abs(sum(sel["histogram"]["median"]) / sum(spectra["no selection"]["histogram"]["median"]) - 0.1) < 0.01
    assert sel["z"] > 3.0 and sel["z"] > spectra["no selection"]["z"] + 1.0
    assert window["injected_selected"]["efficiency 0.1"] > 0.5
    assert "| 2.6-3.2 | M | efficiency 0.1 |" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_weak_run_background_only_has_no_excess(weak_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "null"
    _run_cli(["weak", "run", str(weak_store), "--out", str(out), "--workers", "0",
              "--feature-sets", "M,M_tau21", "--config", str(_config(tmp_path, classifier={"n_members": 3, "max_epochs": 20}))])
    res = json.loads((out / "results.json").read_text())
    zs = [s["z"] for w in res["windows"] for s in w["spectra"] if s["fit"]["success"]]
    assert len(zs) >= 4 and max(zs) < 2.0, zs


def test_curtains_run_end_to_end_finds_an_injected_signal(weak_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "curtains"
    cfg = _config(tmp_path, inject_xsec_pb={"signal": 5.0},
                  curtains={"oversampling": 2, "flow": {"max_epochs": 8, "n_layers": 2, "hidden": [32],
                                                        "learning_rate": 1e-2, "batch_size": 512}})
    _run_cli(["weak", "run", str(weak_store), "--out", str(out), "--template", "curtains", "--workers", "0",
              "--config", str(cfg)])
    res = json.loads((out / "results.json").read_text())
    (window,) = res["windows"]
    info = window["template_info"]
    # m x n template events: every sideband event of the window moved to 2 SR masses
    assert res["template"] == "curtains" and info["oversampling"] == 2
    assert window["n_template"] == 2 * info["n_sideband"] == 2 * window["n_data_sb"]
    assert abs(info["expected_sr"] / (window["n_data_sr"] - window["n_injected_sr"]) - 1.0) < 0.05
    spectra = {s["label"]: s for s in window["spectra"]}
    assert spectra["efficiency 0.1"]["z"] > 3.0 and spectra["efficiency 0.1"]["z"] > spectra["no selection"]["z"] + 1.0


def test_validation_instances_mark_regions_and_correct_z(weak_store: Path) -> None:
    from adsearch.searches.weak import weak_search

    config = WeakSearchConfig.model_validate({
        "signal_datasets": ["signal"], "inject_xsec_pb": {"signal": 5.0}, "signal_regions_gev": [[2600.0, 3200.0]],
        "feature_sets": ["M"], "classifier": {"n_members": 1, "max_epochs": 3, "patience": 2},
        "salad": {"max_epochs": 3},
        "validation": {"samples": ["large_dy", "monte_carlo", "down_up_sampling"], "instances": 2,
                       "mc_dataset": "simulation", "down_up": {"fraction": 0.2, "model": {"max_epochs": 3}}}})
    res = weak_search(weak_store, config, progress=False)
    samples = res.validation["samples"]
    assert samples["large_dy"]["n_events"] < 0.2 * res.n_data  # only |dy| > 1.2 events
    assert samples["down_up_sampling"]["flow_matching"][0]["n_fraction"] < 0.25 * samples["down_up_sampling"]["n_events"]
    assert all(samples[k]["instances"] == 2 for k in ("large_dy", "monte_carlo", "down_up_sampling"))
    for s in res.windows[0].spectra:
        assert set(s.validation) == {"large_dy", "monte_carlo", "down_up_sampling"}
        # 2 instances: never validated (the rule needs >= 10), so nothing is reported
        assert s.validated is False and np.isnan(s.reported_z)
        assert 0.0 <= s.z_corrected <= s.z or s.z <= 0
    assert res.validation["nonclosure"]["applied"]
    # DOWN-UP-SAMPLING keeps the data's mJJ values: the unselected spectrum (and its Z) is the data's,
    # so the non-closure correction removes it entirely
    assert res.windows[0].spectrum("no selection").z_corrected == 0.0
    assert np.isnan(res.max_z("efficiency 0.1", reported=True)) and res.max_z("efficiency 0.1") > 3.0


def test_every_template_is_configurable_and_unknown_ones_are_clear_errors() -> None:
    for name in ("salad", "curtains", "cathode"):
        assert WeakSearchConfig(template=name).template == name
    assert WeakSearchConfig().template == "salad" and WeakSearchConfig().validation.instances == 10
    with pytest.raises(ValueError, match="template"):
        WeakSearchConfig.model_validate({"template": "cwola"})


def test_validation_rule_needs_ten_instances_small_median_and_spread() -> None:
    from adsearch.searches.weak.validation import passes_validation, validation_summary

    rng = np.random.default_rng(5)
    good = np.abs(rng.normal(0.0, 0.6, 12))
    assert passes_validation(good)
    assert not passes_validation(good[:9])  # fewer than 10 instances: never validated
    assert not passes_validation(good + 1.0)  # median >= 1
    wide = np.concatenate([np.zeros(7), np.full(5, 2.5)])
    assert validation_summary(wide)[0] < 1 and not passes_validation(wide)  # spread >= 1
    assert not passes_validation(np.concatenate([good[:9], [np.nan, np.nan]]))  # failed fits do not count


def test_injection_limits_rerun_the_chain_and_order_the_band(weak_store: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load(_config(tmp_path).read_text())
    cfg["limits"] = {"signal": "signal", "xsec_pb": [1.0, 4.0]}
    cfg["classifier"] = {"n_members": 1, "max_epochs": 4, "patience": 2}
    cfg["salad"] = {"max_epochs": 3}
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(cfg))
    text = _run_cli(["weak", "limits", str(weak_store), "--out", str(tmp_path / "lim"), "--config", str(path),
                     "--workers", "0"])
    assert "95% CL limit" in text
    rows = {r["label"]: r for r in json.loads((tmp_path / "lim" / "limits.json").read_text())["limits"]}
    for row in rows.values():
        assert [p["xsec_injected_pb"] for p in row["points"]] == [1.0, 4.0]
        band = row["band_pb"]
        assert band == sorted(band) and row["limit_pb"] >= min(p["xsec_injected_pb"] for p in row["points"])
        assert all(p["excluded_pb"] >= p["xsec_injected_pb"] for p in row["points"])
    # every rerun selected the injected signal: the selection's CLs limit is tighter than without one
    sel = min(p["observed_pb"] for p in rows["efficiency 0.02"]["points"])
    assert sel < min(p["observed_pb"] for p in rows["no selection"]["points"])
    assert all(p["signal_efficiency"] > 0.1 for p in rows["efficiency 0.02"]["points"])


@pytest.mark.slow  # ~80 s at load 10 (two worker processes import TensorFlow and trace)
def test_templates_and_validation_instances_run_as_dask_tasks_with_the_in_process_result(
    weak_store: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search's window and both DOWN-UP-SAMPLING instances: templates, flow-matching models
    and networks on a 2-process LocalCluster give what the same run gives in this process (the
    cluster run in template batches of 2, so the 3 windows take two batches)."""
    from adsearch.cluster import dask_client
    from adsearch.searches.weak import weak_search, windows as weak_windows

    config = WeakSearchConfig.model_validate({
        "signal_datasets": ["signal"], "inject_xsec_pb": {"signal": 5.0}, "signal_regions_gev": [[2600.0, 3200.0]],
        "feature_sets": ["M"], "classifier": {"n_members": 1, "max_epochs": 3, "patience": 2},
        "salad": {"max_epochs": 3},
        "validation": {"samples": ["down_up_sampling"], "instances": 2,
                       "down_up": {"fraction": 0.2, "model": {"max_epochs": 2}}}})
    here = weak_search(weak_store, config, progress=False)
    monkeypatch.setattr(weak_windows, "TEMPLATE_BATCH", 2)
    with dask_client(n_workers=2) as client:
        workers = set(client.scheduler_info()["workers"])
        there = weak_search(weak_store, config, client=client, progress=False)

    def windows(res):  # the search's window, then each instance's
        return [res.windows[0]] + [scan[0] for scan in res.validation_runs["down_up_sampling"]]

    assert {w.template_info["worker"] for w in windows(there)} <= workers
    assert {w.template_info["worker"] for w in windows(here)} == {"local"}
    fm_here = [i["n_fraction"] for i in here.validation["samples"]["down_up_sampling"]["flow_matching"]]
    assert fm_here == [i["n_fraction"] for i in there.validation["samples"]["down_up_sampling"]["flow_matching"]]
    for a, b in zip(windows(here), windows(there), strict=True):
        assert a.n_template == b.n_template and a.template_n_effective == pytest.approx(b.template_n_effective, rel=1e-4)
        for sa, sb in zip(a.spectra, b.spectra, strict=True):
            assert np.array_equal(sa.histogram.per_member, sb.histogram.per_member), sa.label
            assert sa.z == pytest.approx(sb.z, abs=1e-6, nan_ok=True)
    # the instances differ from the search's window (signal-free features, moved seeds)
    assert not np.array_equal(windows(here)[0].spectrum("efficiency 0.1").histogram.per_member,
                              windows(here)[1].spectrum("efficiency 0.1").histogram.per_member)
