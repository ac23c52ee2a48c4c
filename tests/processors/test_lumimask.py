"""Lumi masks: CMS golden JSON (coffea LumiMask) and ATLAS GRL XML give the same good (run, LB) pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from adsearch.errors import BadInputError
from adsearch.processors.lumimask import load_lumi_mask, parse_grl_xml

RANGES = {"315257": [[1, 88], [91, 92]], "315259": [[1, 172]]}


def _grl(path: Path) -> Path:
    blocks = "".join(
        f"<LumiBlockCollection><Run>{run}</Run>" + "".join(f'<LBRange Start="{a}" End="{b}"/>' for a, b in ranges)
        + "</LumiBlockCollection>" for run, ranges in RANGES.items())
    path.write_text(f'<?xml version="1.0"?><LumiRangeCollection><NamedLumiRange><Name>PHYS</Name>{blocks}'
                    "</NamedLumiRange></LumiRangeCollection>")
    return path


def test_golden_json_and_grl_xml_agree(tmp_path: Path) -> None:
    golden = tmp_path / "golden.json"
    golden.write_text(json.dumps(RANGES))
    runs = np.array([315257, 315257, 315257, 315257, 315259, 315260])
    lumis = np.array([1, 88, 89, 92, 172, 5])
    expected = np.array([True, True, False, True, True, False])
    assert np.array_equal(load_lumi_mask(golden)(runs, lumis), expected)
    assert np.array_equal(load_lumi_mask(_grl(tmp_path / "grl.xml"))(runs, lumis), expected)
    assert parse_grl_xml(tmp_path / "grl.xml")[315257] == [(1, 88), (91, 92)]


def test_a_file_of_neither_format_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "mask.txt"
    bad.write_text("run 1 lumi 2")
    with pytest.raises(BadInputError, match="neither a CMS golden JSON nor an ATLAS GRL XML"):
        load_lumi_mask(bad)


def test_processing_a_data_dataset_applies_its_lumi_mask(tmp_path: Path) -> None:
    import uproot

    from adsearch.generator import generate_sample
    from adsearch.processors.run import run_processor
    from adsearch.store import open_store

    sample = generate_sample("lepton", 600, seed=3, out_dir=tmp_path / "gen", chunk_events=200, pilot_events=500)
    blocks = sorted({int(b) for f in sample.files for b in uproot.open(f)["Events"]["luminosityBlock"].array()})
    assert len(blocks) >= 2
    golden = tmp_path / "golden.json"
    golden.write_text(json.dumps({"1": [[blocks[0], blocks[0]]]}))  # only the first chunk's block is good
    files = [str(f) for f in sample.files]
    run_processor("lepton", {"data": files}, tmp_path / "full.zarr", n_workers=0, progress=False)
    masked = run_processor("lepton", {"data": files}, tmp_path / "masked.zarr", n_workers=0, progress=False,
                           config={"lumi_masks": {"data": str(golden)}})
    lumis_full = open_store(tmp_path / "full.zarr").read("data", ["luminosityBlock"])["luminosityBlock"]
    lumis = open_store(tmp_path / "masked.zarr").read("data", ["luminosityBlock"])["luminosityBlock"]
    assert set(np.unique(lumis)) == {blocks[0]}
    assert lumis.size == int(np.sum(lumis_full == blocks[0])) > 0
    flow = masked.datasets["data"].cutflow
    steps = dict(zip(flow.steps, (int(v) for v in flow.passed)))
    assert steps["lumi_mask"] == lumis.size < steps["jet"] == int(lumis_full.size)
