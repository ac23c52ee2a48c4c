"""Small generated samples, made once per test session and shared by the generator tests.

Sizes are the smallest that keep each physics check a few sigma from its threshold; the whole
folder runs in well under two minutes on two cores.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import awkward as ak
import pytest

from adsearch.generator import GenerationSummary, generate_sample

#: A two-prong signal with unequal daughters, so both mass peaks are checked.
SIGNAL = "wprime_3000_400_80"
FAST = {"pilot_events": 2000}


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@pytest.fixture(scope="session")
def qcd_sample(generated_dir: Path) -> GenerationSummary:
    """300 QCD dijet events in two chunks (exercises chunking and the multi-file bookkeeping)."""
    return generate_sample("dijet", 300, seed=11, out_dir=generated_dir / "qcd", chunk_events=150, **FAST)


@pytest.fixture(scope="session")
def signal_sample(generated_dir: Path) -> GenerationSummary:
    return generate_sample("dijet", 200, seed=12, out_dir=generated_dir / "signal", signal=SIGNAL, **FAST)


@pytest.fixture(scope="session")
def lepton_sample(generated_dir: Path) -> GenerationSummary:
    """The SM lepton mix; 700 events give ~130 ttbar events (~250 true b jets) and ~450 W+jets."""
    return generate_sample("lepton", 700, seed=13, out_dir=generated_dir / "lepton", **FAST)


def _read_events(paths: list[Path]) -> ak.Array:
    """All chunks of a sample as coffea NanoAOD events (eager), concatenated."""
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    arrays = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coffea warns about cross-references NanoAOD has and we do not
        for path in paths:
            events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NanoAODSchema, mode="eager").events()
            arrays.append(events)
    return arrays[0] if len(arrays) == 1 else ak.concatenate(arrays)


@pytest.fixture(scope="session")
def qcd_events(qcd_sample: GenerationSummary) -> ak.Array:
    return _read_events(qcd_sample.files)


@pytest.fixture(scope="session")
def signal_events(signal_sample: GenerationSummary) -> ak.Array:
    return _read_events(signal_sample.files)


@pytest.fixture(scope="session")
def lepton_events(lepton_sample: GenerationSummary) -> ak.Array:
    return _read_events(lepton_sample.files)
