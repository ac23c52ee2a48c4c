"""Print README's N-th fenced command (1-based), so CI runs exactly what users are told to run."""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    """Every fenced bash block of the README, in order, stripped."""
    return [b.strip() for b in re.findall(r"```(?:bash|sh)?\n(.*?)```", README.read_text(), re.S)]


if __name__ == "__main__":
    print(readme_commands()[int(sys.argv[1]) - 1])
