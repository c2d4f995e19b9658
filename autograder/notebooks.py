"""Small helpers on nbgrader notebooks: cells by grade id, solution and hidden-test regions."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
KNOWN_MISTAKE = re.compile(r"This matches a known mistake: ([^\n]*?)\.?\s*$", re.MULTILINE)


def read(path: str | Path) -> NotebookNode:
    """Read a notebook as version 4 (raises on malformed JSON)."""
    return nbformat.read(str(path), as_version=4)


def write(nb: NotebookNode, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell: NotebookNode) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def cell_by_id(nb: NotebookNode, gid: str) -> NotebookNode:
    """The cell whose nbgrader ``grade_id`` is ``gid`` (KeyError if absent)."""
    for cell in nb.cells:
        if grade_id(cell) == gid:
            return cell
    raise KeyError(f"no cell with grade_id {gid!r}")


def is_solution(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def grade_cells(nb: NotebookNode) -> list[NotebookNode]:
    """Cells that carry points (auto-graded tests and manually graded answers)."""
    return [c for c in nb.cells if nbgrader_meta(c).get("grade")]


def between(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly between every ``begin`` and ``end`` marker."""
    lines, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            inside = True
        elif stripped == end:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def outside(source: str) -> list[str]:
    """The lines of ``source`` outside every solution and hidden-test region (no markers)."""
    lines, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            inside = True
        elif stripped in (END_SOLUTION, END_HIDDEN):
            inside = False
        elif not inside:
            lines.append(line)
    return lines


def hidden_test_lines(nb: NotebookNode) -> list[str]:
    """Every non-blank line of every hidden-test region of the notebook."""
    return [
        line.strip()
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in between(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        if line.strip()
    ]


def solution_lines(nb: NotebookNode) -> list[str]:
    """Every non-blank line of every solution region of the notebook."""
    return [
        line.strip()
        for cell in nb.cells
        for line in between(cell.source, BEGIN_SOLUTION, END_SOLUTION)
        if line.strip()
    ]


def known_mistakes(text: str) -> list[str]:
    """Descriptions after "This matches a known mistake:" in a failure message."""
    return [m.strip() for m in KNOWN_MISTAKE.findall(text or "")]
