"""Checks on module 03 (momentum) that its notebooks cannot make on themselves.

Fast: the assignment's structure and points, and the mistake bank: every mistake applies
exactly once to its solution cell and makes that exercise's test cell fail with a message
that names it, while the correct solutions pass. The cells run in-process (no kernel).
Slow: the released notebook fails only with NotImplementedError; source and lecture run
with no error and nothing on stderr.
"""

from __future__ import annotations

import contextlib
import html
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.mistakes import load_bank
from autograder.simulate import solution_code

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "03_momentum"
SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
LECTURE = ROOT / "notebooks" / f"{ASSIGNMENT}.ipynb"
TOTAL_POINTS = 20


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _by_grade_id() -> dict[str, dict]:
    return {_nbgrader(c)["grade_id"]: c for c in _cells(SOURCE)}


def _run(sources: list[str]) -> None:
    """Execute cell sources in one fresh namespace, silencing their printed output."""
    namespace: dict = {"__name__": "__assignment__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for src in sources:
            exec(compile(src, "<cell>", "exec"), namespace)  # noqa: S102


def _exercise_sources(solution_id: str, solution_src: str | None = None) -> list[str]:
    """Setup cell, the solution cell (possibly changed) and its test cell."""
    cells = _by_grade_id()
    solution = solution_src if solution_src is not None else _source(cells[solution_id])
    return [_source(cells["setup"]), solution, _source(cells[f"test_{solution_id}"])]


# ------------------------------------------------------------------ structure


def test_every_cell_has_nbgrader_metadata_and_a_unique_id():
    cells = _cells(SOURCE)
    ids = [c.get("id") for c in cells]
    grade_ids = [_nbgrader(c).get("grade_id") for c in cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(grade_ids) and len(set(grade_ids)) == len(grade_ids)
    for cell in cells:
        meta = _nbgrader(cell)
        assert meta["schema_version"] == 3 and meta["task"] is False, meta
        if meta["solution"]:
            assert not meta["locked"] and not meta["grade"]
            assert "### BEGIN SOLUTION" in _source(cell) and "### END SOLUTION" in _source(cell)
        else:
            assert meta["locked"], meta["grade_id"]


def test_each_solution_is_followed_by_its_graded_test_cell():
    cells = _cells(SOURCE)
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if meta["solution"]:
            test = _nbgrader(cells[i + 1])
            assert test["grade_id"] == f"test_{meta['grade_id']}"
            assert test["grade"] and test["points"] > 0
            assert "### BEGIN HIDDEN TESTS" in _source(cells[i + 1])


def test_points_add_up_to_a_round_total():
    points = [_nbgrader(c).get("points", 0) for c in _cells(SOURCE) if _nbgrader(c)["grade"]]
    assert sum(points) == TOTAL_POINTS


@pytest.mark.parametrize("path", [SOURCE, LECTURE], ids=["source", "lecture"])
def test_notebook_is_committed_without_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None


# ------------------------------------------------------------------ solutions and mistakes


SOLUTIONS = [gid for gid, c in _by_grade_id().items() if _nbgrader(c)["solution"]]
BANK = load_bank(ASSIGNMENT)


@pytest.mark.parametrize("solution_id", SOLUTIONS)
def test_correct_solution_passes_its_tests(solution_id):
    _run(_exercise_sources(solution_id))


def test_every_exercise_has_a_mistake_in_the_bank():
    assert {m.cell for m in BANK} == set(SOLUTIONS)


def _failure_message(cell_id: str, mistakes) -> str:
    """The test cell's failure message with `mistakes` made, as the simulated class makes them
    (applied to the solution region); fails the test if the exercise still passes."""
    cell = _by_grade_id()[cell_id]
    assert _nbgrader(cell)["solution"], f"{cell_id} is not a solution cell"
    wrong = solution_code(_source(cell), list(mistakes))  # ValueError unless each find is unique
    with pytest.raises(AssertionError) as failure:
        _run(_exercise_sources(cell_id, wrong))
    return str(failure.value)


@pytest.mark.parametrize("mistake", BANK, ids=[m.name for m in BANK])
def test_mistake_applies_once_and_is_named(mistake):
    assert html.escape(mistake.named) == mistake.named, "feedback is HTML: avoid ' \" & < >"
    message = _failure_message(mistake.cell, [mistake])
    assert mistake.named in message, message


PAIRS = [(a, b) for a, b in itertools.combinations(BANK, 2) if a.cell == b.cell]


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{a.name}+{b.name}" for a, b in PAIRS])
def test_two_mistakes_in_one_cell_apply_and_are_both_named(pair):
    message = _failure_message(pair[0].cell, pair)
    assert pair[0].named in message and pair[1].named in message, message


# ------------------------------------------------------------------ slow: real kernels


def _execute(path: Path, cwd: Path) -> list[tuple[str, str, str]]:
    """Run a notebook in a kernel; return (grade_id or cell id, kind, text) of problems."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    problems = []
    for cell in nb.cells:
        name = cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                problems.append((name, "error", out["ename"]))
            elif out["output_type"] == "stream" and out["name"] == "stderr":
                problems.append((name, "stderr", out["text"]))
    return problems


@pytest.fixture
def headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")


@pytest.mark.slow
@pytest.mark.parametrize("path", [SOURCE, LECTURE], ids=["source", "lecture"])
def test_notebook_runs_clean(path, headless):
    assert _execute(path, path.parent) == []


@pytest.mark.slow
def test_released_notebook_fails_only_with_not_implemented(tmp_path, headless):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, tmp_path / "source" / ASSIGNMENT)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )
    released = tmp_path / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    text = released.read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in text and "### BEGIN SOLUTION" not in text
    from autograder import notebooks as nbk
    from autograder.release import leaks

    assert leaks(nbk.read(SOURCE), text) == []  # no solution or hidden-test line shows
    problems = _execute(released, released.parent)
    assert problems, "the released notebook should stop at the unimplemented exercises"
    assert {kind for _, kind, _ in problems} == {"error"}
    assert {ename for _, _, ename in problems} == {"NotImplementedError"}
