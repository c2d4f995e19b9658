"""Fail if a committed notebook carries outputs or execution counts.

Notebooks are committed stripped (see README, "Contributing"); run
`.venv/bin/nbstripout --keep-id notebooks/*.ipynb source/*/*.ipynb` to clean them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def dirty_cells(path: Path) -> list[int]:
    """Indices of code cells with outputs or an execution count."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [
        i
        for i, cell in enumerate(nb.get("cells", []))
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]


def tracked_notebooks(root: Path) -> list[Path]:
    """Notebooks git tracks, or every notebook under notebooks/ and source/ outside git."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "*.ipynb"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split()
        return [root / f for f in out]
    except (OSError, subprocess.CalledProcessError):
        return sorted([*root.glob("notebooks/*.ipynb"), *root.glob("source/*/*.ipynb")])


def main(root: Path = Path(".")) -> int:
    problems = []
    for path in tracked_notebooks(root):
        try:
            cells = dirty_cells(path)
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{path}: cannot be read as a notebook ({exc})")
            continue
        if cells:
            problems.append(f"{path}: code cells {cells} have outputs or execution counts")
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("Strip them with: .venv/bin/nbstripout --keep-id <notebook>", file=sys.stderr)
        return 1
    print("notebooks: all clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
