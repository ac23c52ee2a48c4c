"""Anomaly regions select exactly sigma_vis x L events, or the events above explicit thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from adsearch.searches.autoencoder import AESearchConfig, anomaly_regions
from adsearch.errors import ConfigError
from adsearch.config import load_config


def test_regions_select_sigma_times_luminosity_events() -> None:
    scores = np.random.default_rng(3).normal(-10.0, 1.0, 200_000)
    lumi_ipb = 1500.0  # 1.5 fb^-1: 10 pb -> 15000, 1 pb -> 1500, 0.1 pb -> 150 events
    regions = anomaly_regions(scores, lumi_ipb, [10.0, 1.0, 0.1])
    assert [r.label for r in regions] == ["10pb", "1pb", "0.1pb"]
    for region, expected in zip(regions, (15000, 1500, 150)):
        assert region.n_selected == expected
        assert np.count_nonzero(region.select(scores)) == expected
    assert regions[0].threshold < regions[1].threshold < regions[2].threshold


def test_explicit_thresholds_as_in_atlas() -> None:
    scores = np.array([-9.5, -9.0, -8.5, -7.9, -6.0, -5.0])
    regions = anomaly_regions(scores, thresholds=[-9.10, -8.0, -6.5])
    assert [r.n_selected for r in regions] == [5, 3, 2]


def test_region_larger_than_sample_is_flagged_saturated() -> None:
    regions = anomaly_regions(np.arange(50.0), luminosity_ipb=10.0, xsec_pb=[10.0, 1.0])
    assert regions[0].saturated and regions[0].n_selected == 50
    assert not regions[1].saturated and regions[1].n_selected == 10


def test_nan_scores_are_an_error() -> None:
    with pytest.raises(ValueError, match="NaN"):
        anomaly_regions(np.array([1.0, np.nan]), 1.0, [1.0])


def test_config_rejects_unknown_keys_and_spectra() -> None:
    with pytest.raises(ConfigError, match="not_a_key"):
        load_config(AESearchConfig, {"not_a_key": 1})
    with pytest.raises(ConfigError, match="unknown spectra"):
        load_config(AESearchConfig, {"spectra": ["jj", "tautau"]})
    assert load_config(AESearchConfig, None).region_xsec_pb == [10.0, 1.0, 0.1]
