"""Small helpers on nbgrader notebooks: cells by grade id, solution and hidden-test regions."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.core.formats import KNOWN_MISTAKE_LINE

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"


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
    """The known mistakes a failure message names (:data:`formats.KNOWN_MISTAKE_LINE`)."""
    return [m.strip() for m in KNOWN_MISTAKE_LINE.findall(text or "")]


def as_text(value) -> str:
    """A notebook text field as one string (the format allows a list of strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "".join(v if isinstance(v, str) else str(v) for v in value)
    return "" if value is None else str(value)


def normalize_outputs(nb) -> None:
    """Every output's text fields as strings, in place, before any preprocessor sees them:
    ``text`` of streams, ``ename``/``evalue`` and the lines of ``traceback`` of errors, and
    the text of rich outputs (a kernel, or a crafted notebook, may send lists or other types).
    """
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs")
        if not isinstance(outputs, list):
            if "outputs" in cell:
                cell["outputs"] = []
            continue
        for out in outputs:
            _normalize_output(out)


def _normalize_output(out) -> None:
    """One output's text fields as strings (see :func:`normalize_outputs`)."""
    kind = out.get("output_type")
    if kind == "stream":
        out["text"] = as_text(out.get("text"))
        out["name"] = out.get("name") if out.get("name") in ("stdout", "stderr") \
            else "stdout"
    elif kind == "error":
        out["ename"] = as_text(out.get("ename"))
        out["evalue"] = as_text(out.get("evalue"))
        tb = out.get("traceback")
        out["traceback"] = [as_text(t) for t in tb] if isinstance(tb, list) \
            else [as_text(tb)]
    elif "text" in out:
        out["text"] = as_text(out["text"])
    data = out.get("data")
    if isinstance(data, dict):
        for mime, value in data.items():
            if isinstance(value, list) and mime.startswith("text/"):
                data[mime] = as_text(value)
