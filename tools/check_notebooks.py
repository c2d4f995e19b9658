"""Fail if a course notebook carries outputs or execution counts, or lacks unique cell ids.

Notebooks are committed stripped (see README, "Contributing"); run
`.venv/bin/nbstripout --keep-id notebooks/*.ipynb source/*/*.ipynb` to clean them. Every cell
needs an `id`, unique in its notebook (nbformat 4.5), so that grading and feedback can name it.
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


def id_problems(path: Path) -> list[str]:
    """Cells without an id, and ids used more than once."""
    ids = [cell.get("id") for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    missing = [i for i, cell_id in enumerate(ids) if not cell_id]
    repeated = sorted({i for i in ids if i and ids.count(i) > 1})
    problems = [f"cells {missing} have no id"] if missing else []
    return problems + ([f"cell ids used twice: {repeated}"] if repeated else [])


def tracked_notebooks(root: Path) -> list[Path]:
    """Notebooks git tracks, and every notebook under notebooks/ and source/ (new ones too)."""
    course = {*root.glob("notebooks/*.ipynb"), *root.glob("source/*/*.ipynb")}
    try:
        out = subprocess.run(
            ["git", "ls-files", "*.ipynb"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
    tracked = {root / f for f in out}
    return sorted(p for p in tracked | course if p.exists())


def main(root: Path = Path(".")) -> int:
    problems = []
    for path in tracked_notebooks(root):
        try:
            cells = dirty_cells(path)
            ids = id_problems(path)
        except (OSError, json.JSONDecodeError, KeyError) as exc:
            problems.append(f"{path}: cannot be read as a notebook ({exc})")
            continue
        if cells:
            problems.append(f"{path}: code cells {cells} have outputs or execution counts")
        problems += [f"{path}: {p}" for p in ids]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("Strip outputs with: .venv/bin/nbstripout --keep-id <notebook> (without "
              "--keep-id it also renumbers the cell ids)", file=sys.stderr)
        return 1
    print("notebooks: all clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
