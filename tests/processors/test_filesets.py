"""coffea's preprocessed fileset JSON becomes an adsearch fileset that the reading layer accepts."""

from __future__ import annotations

from pathlib import Path

import uproot

from adsearch.processors.filesets import from_preprocessed, is_preprocessed
from adsearch.processors.reading import load_fileset

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def test_preprocessed_fileset_of_real_files_loads() -> None:
    path = str(REAL / "nano_dy.root")
    n = uproot.open(path)["Events"].num_entries
    pre = {"dy": {"files": {path: {"object_path": "Events", "steps": [[0, n]], "uuid": "abc", "num_entries": n}},
                  "form": "{...}", "metadata": {"xsec_pb": 6077.2}}}
    assert is_preprocessed(pre) and not is_preprocessed({"dy": {"files": {path: "Events"}}})
    (dataset,) = load_fileset(from_preprocessed(pre))
    assert dataset.name == "dy" and [f.path for f in dataset.files] == [path]
    assert dataset.files[0].treename == "Events"
    assert dataset.metadata["xsec_pb"] == 6077.2
    assert dataset.metadata["preprocessed"][path] == {"uuid": "abc", "num_entries": n, "steps": [[0, n]]}


def test_preprocessed_json_file_and_a_root_file_given_as_fileset(tmp_path) -> None:
    import json

    import pytest

    from adsearch.errors import ConfigError

    path = str(REAL / "nano_dy.root")
    spec = {"dy": {"files": {path: {"object_path": "Events", "steps": [[0, 40]], "uuid": "u", "num_entries": 40}},
                   "form": "{}", "metadata": {}}}
    (tmp_path / "pre.json").write_text(json.dumps(spec))
    (dataset,) = load_fileset(tmp_path / "pre.json")
    assert dataset.files[0].treename == "Events"
    with pytest.raises(ConfigError, match="is a ROOT file, not a fileset"):
        load_fileset(REAL / "nano_dy.root")
