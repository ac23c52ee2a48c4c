"""The worked real-data examples validate against the configuration schemas they feed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adsearch.config import load_config
from adsearch.models import AutoencoderConfig
from adsearch.processors.lepton import LeptonConfig
from adsearch.searches.autoencoder.config import AESearchConfig

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SCHEMAS = {"lepton.yaml": LeptonConfig, "ae.yaml": AutoencoderConfig, "search.yaml": AESearchConfig}


@pytest.mark.parametrize("path", sorted(p for p in EXAMPLES.rglob("*.yaml") if p.name in SCHEMAS), ids=str)
def test_example_config_validates(path: Path) -> None:
    config = load_config(SCHEMAS[path.name], path)
    assert config is not None


@pytest.mark.parametrize("folder", ["nanoaod", "physlite"])
def test_search_datasets_are_declared_in_the_fileset(folder: str) -> None:
    fileset = yaml.safe_load((EXAMPLES / folder / "fileset.yaml").read_text())
    search = load_config(AESearchConfig, EXAMPLES / folder / "search.yaml")
    for name in [search.data_dataset, *search.signal_datasets, *([search.background_only_dataset] if search.background_only_dataset else [])]:
        assert name in fileset, name
    tree = "CollectionTree" if folder == "physlite" else "Events"
    assert all(t == tree for d in fileset.values() for t in d["files"].values())
    for name in search.signal_datasets:
        assert fileset[name]["metadata"]["xsec_pb"] > 0
