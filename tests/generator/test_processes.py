"""Process definitions: signal names, Pythia settings, and the ttbar lepton split."""

from __future__ import annotations

import pytest

from adsearch.errors import ConfigError
from adsearch.generator.processes import (
    _W_E_MU_CHANNELS,
    NAMED_SIGNALS,
    lepton_sm_processes,
    signal_kind,
    signal_process,
)
from adsearch.generator.runner import make_pythia, pilot_cross_section


def test_every_named_signal_parses_into_its_kind() -> None:
    for kind, names in NAMED_SIGNALS.items():
        for name in names:
            spec = signal_process(name)
            assert spec.is_signal and spec.name == name and signal_kind(name) == kind
    assert signal_process("wprime_3500_500_100").params == {"m_a_gev": 3500.0, "m_b_gev": 500.0, "m_c_gev": 100.0}
    assert signal_process("ssm_wprime_2000").params["m_zprime_gev"] == 1750.0


def test_named_points_include_the_seed_points() -> None:
    required = {"wprime_3000_80_80", "wprime_3000_200_200", "wprime_3000_400_400", "wprime_3000_400_80",
                "wprime_5000_200_200", "wprime_3500_500_100"}
    assert required <= set(NAMED_SIGNALS["dijet"])


@pytest.mark.parametrize("name", ["wprime_3000_200", "ssm_wprime_400", "lq_50", "W'"])
def test_bad_signal_names(name: str) -> None:
    with pytest.raises(ConfigError):
        signal_process(name)


def test_w_lepton_channel_indices_match_pythia_table() -> None:
    """The ttbar split addresses W decay channels by index; check those are e nu and mu nu."""
    pythia, _ = make_pythia(lepton_sm_processes(100.0, 50.0)[0], seed=1, mpi=False, hard_process_only=True)
    entry = pythia.particleData.particleDataEntryPtr(24)
    leptonic = {i for i in range(entry.sizeChannels())
                if {abs(entry.channel(i).product(j)) for j in range(entry.channel(i).multiplicity())} & {11, 13}}
    assert leptonic == set(_W_E_MU_CHANNELS)


def test_ttbar_split_halves_have_the_expected_branching_ratios() -> None:
    """sigma(W+ lep, W- any) / sigma(W+ had-or-tau, W- lep) = 1 / BR(W -> had or tau nu) = 1/0.78."""
    specs = {spec.name: spec for spec in lepton_sm_processes(100.0, 0.0)}
    plus, _ = pilot_cross_section(specs["ttbar_wplus_lep"], 1, 3000)
    minus, _ = pilot_cross_section(specs["ttbar_wminus_lep"], 1, 3000)
    assert plus / minus == pytest.approx(1 / 0.7835, rel=0.06)
