"""What the grader needs to know about an assignment's notebook before it runs a submission.

The instructor's cells (locked cells and test cells of the *source* notebook, never of the
submission), the names the solution cells define (the only names the trusted process takes
from the student's kernel), and the modules the instructor's cells import (what the trusted
server imports once). See :mod:`autograder.run.trusted`.
"""

from __future__ import annotations

import ast
import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.core import notebooks as nbk


@dataclass
class TestPlan:
    """How a submission's tests run apart from it.

    cells:   grade id -> (source, is_test) of the instructor's code cells that run in the
             trusted process: every test cell (only there), and the other instructor cells
             whose names a later one of these may use (in both; the rest, figures and
             demonstrations, run in the kernel only: :func:`trusted_cells`).
    names:   the names the solution cells define: the trusted process takes them from the
             kernel before each cell (never ``abs``, ``np`` or a test's helper).
    preload: modules the trusted server imports once.
    """

    cells: dict[str, tuple[str, bool]]
    names: list[str]
    preload: tuple[str, ...] = ()

    @classmethod
    def of(cls, source_nb: NotebookNode, preload: tuple[str, ...] = ()) -> TestPlan:
        return cls(trusted_cells(source_nb), expected_names(source_nb), preload)


def _top_level(source: str) -> list:
    """The top-level statements of a cell's code, IPython syntax included ([] if invalid)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source)).body
    except (SyntaxError, ValueError):
        return []


def defined_names(source: str) -> list[str]:
    """Top-level names a cell binds (functions, classes, assignments); [] when it does not
    parse."""
    names = []
    for node in _top_level(source):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.append(sub.id)
    return list(dict.fromkeys(names))


def used_names(source: str) -> set[str]:
    """Every name a cell mentions (a generous superset of what it reads)."""
    return {node.id for stmt in _top_level(source) for node in ast.walk(stmt)
            if isinstance(node, ast.Name)}


def bound_names(source: str) -> set[str]:
    """Every name a cell may bind at top level (imports included; generous)."""
    names = set()
    for stmt in _top_level(source):
        for node in ast.walk(stmt):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def trusted_cells(source_nb: NotebookNode) -> dict[str, tuple[str, bool]]:
    """grade id -> (source, is_test) of the instructor cells the trusted process runs: the
    test cells, and each other instructor cell that binds a name a later one of these
    mentions. (A demonstration cell that only draws a figure from the student's functions
    runs in the kernel alone: run twice, it would call them twice.)"""
    chosen, needed = {}, set()
    for gid, cell in reversed(list(instructor_cells(source_nb).items())):
        test = nbk.is_test(cell)
        if test or bound_names(cell.source) & needed:
            chosen[gid] = (cell.source, test)
            needed |= used_names(cell.source)
    return dict(reversed(list(chosen.items())))


def instructor_cells(source_nb: NotebookNode) -> dict[str, NotebookNode]:
    """Instructor code cells by grade id: locked cells and test cells of the source."""
    cells = {}
    for cell in source_nb.cells:
        meta = nbk.nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if cell.cell_type == "code" and gid and not meta.get("solution") and (
                meta.get("locked") or meta.get("grade")):
            cells[gid] = cell
    return cells


def expected_names(source_nb: NotebookNode) -> list[str]:
    """Names the instructor's solution cells define: the only student names the tests see."""
    return sorted({n for c in source_nb.cells if c.cell_type == "code" and nbk.is_solution(c)
                   for n in defined_names(c.source)})


def imported_modules(source_nb: NotebookNode) -> list[str]:
    """Modules the instructor's cells import at top level."""
    names = set()
    for cell in instructor_cells(source_nb).values():
        for node in _top_level(cell.source):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(names)


def assignment_preload(texts) -> tuple[str, ...]:
    """What the instructor's cells of every notebook of an assignment import, from the
    notebooks' texts (what the trusted server imports once)."""
    names = set()
    for text in texts:
        with contextlib.suppress(Exception):  # an unreadable notebook preloads nothing
            names.update(imported_modules(nbformat.reads(text, as_version=4)))
    return tuple(sorted(names))


@functools.lru_cache(maxsize=8)
def _preload(source_dir: str) -> tuple[str, ...]:
    """:func:`assignment_preload` of the notebooks in ``source_dir``."""
    texts = []
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts.append(path.read_text(encoding="utf-8"))
    return assignment_preload(texts)


def test_plan(source: str) -> TestPlan:
    """How the tests of the source notebook ``source`` run (ValueError if it is missing:
    without the instructor's cells, nothing can be graded). Read again when it changes."""
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"no source notebook {path.name}: its tests cannot run")
    return _test_plan(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _test_plan(source: str, mtime_ns: int) -> TestPlan:
    path = Path(source)
    return TestPlan.of(nbformat.read(str(path), as_version=4), _preload(str(path.parent)))


def plan_from_text(text: str, preload: tuple[str, ...] = ()) -> TestPlan:
    """How the tests of a source notebook given as its text run (a worker with no copy of
    the course: :mod:`autograder.grade.tasks`); ``preload``: :func:`assignment_preload`."""
    return _plan_from_text(text, tuple(preload))


@functools.lru_cache(maxsize=8)
def _plan_from_text(text: str, preload: tuple[str, ...]) -> TestPlan:
    return TestPlan.of(nbformat.reads(text, as_version=4), preload)
