"""NanoAOD-schema ROOT output: one ``Events`` TTree per chunk file, plus its JSON sidecar.

Like NanoAOD, each file also has a one-entry ``Runs`` tree with the chunk's ``genEventCount``,
``genEventSumw`` and ``genEventSumw2``: the whole-sample normalisation the processors record.

uproot 5.7 may choose RNTuple for ``file["Events"] = {...}``; ``mktree`` with explicit branch
types and ``counter_name`` writes the TTree layout coffea's ``NanoAODSchema`` expects
(``nJet`` counting ``Jet_pt``, ``Jet_eta``, ...).  Files are written under a temporary name and
renamed when complete, so a killed job never leaves a file that looks finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import uproot

__all__ = ["ChunkWriter", "EVENT_BRANCHES", "TRUTH_BRANCHES", "COLLECTIONS", "OPTIONAL_COLLECTIONS"]

#: Flat per-event branches and their ROOT types (NanoAOD names).
EVENT_BRANCHES: dict[str, str] = {
    "run": "uint32",
    "luminosityBlock": "uint32",
    "event": "uint64",
    "MET_pt": "float32",
    "MET_phi": "float32",
    "MET_sumEt": "float32",
    "genWeight": "float32",
    "HLT_IsoMu24": "bool",
    "HLT_Ele32_WPTight_Gsf": "bool",
}
#: Generator truth for evaluation only: no selection or model may read these.
TRUTH_BRANCHES: dict[str, str] = {
    "truth_process_id": "int32",
    "truth_is_signal": "bool",
    "truth_pthat": "float32",
}
COLLECTIONS = ("Jet", "FatJet", "Electron", "Muon", "Photon", "TrigObj", "PFCands", "FatJetPFCands")
#: written only when the batch has them (the constituents are optional, see GeneratorOptions.constituents)
OPTIONAL_COLLECTIONS = ("PFCands", "FatJetPFCands")


class ChunkWriter:
    """Append batches to one ROOT file; :meth:`close` renames the temporary file into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp_path = path.with_name(path.name + ".tmp")
        self._file: Any = uproot.recreate(self.tmp_path)
        self._tree: Any = None
        self.n_events = 0
        self._run, self._sumw, self._sumw2 = 1, 0.0, 0.0

    def extend(self, arrays: dict[str, Any]) -> None:
        """Write one batch: flat branches as numpy, collections as awkward records."""
        branches: dict[str, Any] = {}
        for name, dtype in {**EVENT_BRANCHES, **TRUTH_BRANCHES}.items():
            branches[name] = np.asarray(arrays[name], dtype=dtype)
        for name in COLLECTIONS:
            if name in arrays or name not in OPTIONAL_COLLECTIONS:
                branches[name] = arrays[name]
        if self._tree is None:
            types = {name: (value.dtype if isinstance(value, np.ndarray) else value.type.content)
                     for name, value in branches.items()}
            self._tree = self._file.mktree("Events", types, counter_name=lambda n: f"n{n}")
        self._tree.extend(branches)
        self.n_events += len(branches["event"])
        weights = branches["genWeight"].astype(np.float64)
        self._sumw, self._sumw2 = self._sumw + weights.sum(), self._sumw2 + np.dot(weights, weights)
        self._run = int(branches["run"][0]) if len(branches["run"]) else self._run

    def close(self) -> Path:
        """Write the ``Runs`` bookkeeping, finish the file and move it to its final name."""
        runs = {"run": np.array([self._run], np.uint32), "genEventCount": np.array([self.n_events], np.int64),
                "genEventSumw": np.array([self._sumw]), "genEventSumw2": np.array([self._sumw2])}
        self._file.mktree("Runs", {k: v.dtype for k, v in runs.items()}).extend(runs)
        self._file.close()
        self.tmp_path.replace(self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file (used when generation fails)."""
        try:
            self._file.close()
        finally:
            self.tmp_path.unlink(missing_ok=True)

