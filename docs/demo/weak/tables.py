"""The README weak-demo tables from finished ``adsearch weak demo`` folders.

    python docs/demo/weak/tables.py OUT_DIR [OUT_DIR ...]

One row per run (template x background only / injected), feature set and selection: Z raw
(validated: yes / no; Z corrected), the fraction of the injected SR signal the selection keeps,
N_SR, B_SR and the fit sd; then each run's wall time from ``results.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def rows(out: Path) -> list[str]:
    """Markdown rows of one demo folder."""
    lines = []
    for template in ("salad", "curtains"):
        for run in ("null", "injected"):
            path = out / f"{template}_{run}" / "results.json"
            if not path.exists():
                continue
            r = json.loads(path.read_text())
            secs = sum(r["timings_s"].values())
            for w in r["windows"]:
                cells = []
                for s in w["spectra"]:
                    val = {True: "yes", False: "no", None: "-"}[s["validated"]]
                    kept = (w.get("injected_selected") or {}).get(s["label"])
                    cell = f"{s['z']:.2f} ({val}; {s['z_corrected']:.2f})"
                    if run == "injected" and kept is not None:
                        cell += f", {100 * kept:.0f}%"
                    cell += f" [{s['n_sr']:.1f} / {s['b_sr']:.1f} +- {s['sigma_fit_sr']:.1f}]"
                    cells.append(cell)
                lines.append(f"| {out.name} | {template.upper()} {run} (injected {sum((r['n_injected'] or {}).values())}, SR {w['n_injected_sr']}) | "
                             f"{w['feature_set']} | " + " | ".join(cells) + f" | {secs:.0f} s |")
    return lines


if __name__ == "__main__":
    print("| demo | run | features | no selection | efficiency 0.1 | efficiency 0.02 | run time |")
    print("|---|---|---|---|---|---|---|")
    for arg in sys.argv[1:]:
        print("\n".join(rows(Path(arg))))
