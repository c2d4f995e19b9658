"""Every assignment of the course, checked the same way: nothing here names a module.

The assignments are the folders ``source/NN_topic/`` found when the tests are collected; a new
module adds its notebook and its mistake bank ``autograder/demo/mistakes/NN_topic.py`` (which may
also define correct alternative solutions, scratch cells and the like; see
``course_harness.DATA_FIELDS``).

Fast (in-process, no kernel; see ``course_harness.run``):
  structure   unique cell ids and grade ids, nbgrader schema, locked cells, every exercise
              followed by its graded test cell with hidden tests, points adding up to 100,
              a written answer graded by hand with a rubric, no outputs committed;
  solutions   the source passes every test cell, writes nothing to stderr, raises no warning
              and leaves numpy's global RNG alone; correct alternatives pass too;
  release     with the solutions replaced by nbgrader's stub and the hidden tests removed,
              every test cell fails with NotImplementedError and nothing fails otherwise;
  bank        every exercise has a mistake; each mistake applies once inside its solution
              region (as the simulated class applies it), fails its own test cell only, with
              a message naming it; two mistakes of one cell combine and are both named
              (unless the first failing check hides the second). After the exercise's own
              test cell, a mistaken run goes on only with the cells that read a name the
              mistaken cell binds (and what they need), so a bank costs little per mistake;
              a change that reaches a later cell otherwise (an object of an earlier cell
              mutated in place) is not seen here; `course demo` grades each mistake fully.
Slow (kernels): the source runs clean; the notebook that ``nbgrader generate_assignment``
releases leaks no solution or hidden-test line and fails only with NotImplementedError.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from course_harness import (
    ROOT,
    TOTAL_POINTS,
    assignments,
    bank,
    bank_or_empty,
    cell,
    cells,
    data,
    data_or_default,
    execute,
    focused,
    graded_cells,
    key,
    meta,
    problems,
    released_secrets,
    run,
    solution_cells,
    source_path,
    source_run,
    text,
)

from autograder.core import notebooks as nbk
from autograder.demo.simulate import solution_code

ASSIGNMENTS = assignments()
NBGRADER_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}
# The model answer of a manually graded cell states how its points are given.
RUBRIC = re.compile(r"rubric|grading|graded by hand", re.IGNORECASE)

MISTAKES = [pytest.param(a, m, id=f"{a}:{m.name}") for a in ASSIGNMENTS for m in bank_or_empty(a)]
PAIRS = [pytest.param(a, m1, m2, id=f"{a}:{m1.name}+{m2.name}") for a in ASSIGNMENTS
         for m1, m2 in itertools.combinations(bank_or_empty(a), 2) if m1.cell == m2.cell]
ALTERNATIVES = [pytest.param(a, gid, id=f"{a}:{gid}") for a in ASSIGNMENTS
                for gid in sorted(data_or_default(a)["ALTERNATIVES"])]


@pytest.fixture(params=ASSIGNMENTS)
def assignment(request) -> str:
    if not source_path(request.param).exists():
        pytest.fail(f"source/{request.param}/ has no notebook {request.param}.ipynb")
    return request.param


def test_the_course_has_assignments():
    assert ASSIGNMENTS, f"no assignment folder source/NN_topic/ under {ROOT}"


# ------------------------------------------------------------------ structure


def test_cell_ids_and_grade_ids_are_unique(assignment):
    ids = [c.get("id") for c in cells(assignment)]
    assert all(ids), "every cell needs an id (strip with nbstripout --keep-id)"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    grade_ids = [meta(c)["grade_id"] for c in cells(assignment) if meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), [g for g in grade_ids if grade_ids.count(g) > 1]


def test_nbgrader_metadata_is_complete_and_cells_are_locked(assignment):
    scratch = set(data(assignment)["SCRATCH_CELLS"])
    for c in cells(assignment):
        m = meta(c)
        if not m:
            assert c.get("id") in scratch, (
                f"cell {c.get('id')} has no nbgrader metadata: lock it, or list it in "
                f"SCRATCH_CELLS of autograder/demo/mistakes/{assignment}.py")
            continue
        assert NBGRADER_KEYS <= set(m), (m.get("grade_id"), NBGRADER_KEYS - set(m))
        assert m["schema_version"] == 3 and m["task"] is False, m
        if m["grade"]:
            assert m.get("points", 0) > 0, m
        if not m["solution"]:
            assert m["locked"], f"{m['grade_id']} is neither a solution nor locked"
        else:
            assert not m["locked"], f"{m['grade_id']} is a solution the student cannot edit"
            if c["cell_type"] == "markdown":
                assert m["grade"], f"{m['grade_id']}: a written answer carries points"
    assert not scratch - {c.get("id") for c in cells(assignment)}, "unknown SCRATCH_CELLS"


def test_every_exercise_is_followed_by_its_graded_test_cell(assignment):
    code = [c for c in cells(assignment) if c["cell_type"] == "code"]
    exercises = solution_cells(assignment)
    assert exercises, "no autograded exercise"
    for c in exercises:
        gid, src = meta(c)["grade_id"], text(c)
        assert not meta(c)["grade"], f"{gid}: a solution cell carries no points itself"
        assert src.count(nbk.BEGIN_SOLUTION) == 1 and src.count(nbk.END_SOLUTION) == 1, gid
        assert f"def {gid}(" in src, f"{gid}: the exercise defines the function {gid}"
        after = code[code.index(c) + 1] if c is not code[-1] else {}
        assert meta(after).get("grade_id") == f"test_{gid}", f"{gid} is not followed by its test"
    for t in graded_cells(assignment):
        gid, src = meta(t)["grade_id"], text(t)
        assert gid.startswith("test_") and meta(t)["locked"], gid
        assert meta(cell(assignment, gid.removeprefix("test_"))).get("solution"), gid
        assert src.count(nbk.BEGIN_HIDDEN) == 1 and src.count(nbk.END_HIDDEN) == 1, gid
        assert "mistakes=" in src, f"{gid} names no known mistake in its checks"


def test_points_add_up_to_100(assignment):
    points = {meta(c)["grade_id"]: meta(c).get("points", 0)
              for c in cells(assignment) if meta(c).get("grade")}
    assert sum(points.values()) == TOTAL_POINTS, points


def test_a_written_answer_is_graded_by_hand_with_a_rubric(assignment):
    written = [c for c in cells(assignment)
               if c["cell_type"] == "markdown" and meta(c).get("grade")]
    assert written, "no manually graded written answer (markdown cell with grade and solution)"
    for c in written:
        assert meta(c)["solution"], meta(c)["grade_id"]
        assert RUBRIC.search(text(c)), f"{meta(c)['grade_id']}: the model answer has no rubric"


def test_committed_without_outputs(assignment):
    dirty = [key(c) for c in cells(assignment) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, dirty


# ------------------------------------------------------------------ the source solutions


def test_source_solutions_pass_every_test_cell(assignment):
    assert not source_run(assignment).failed()


def test_source_writes_nothing_to_stderr_and_raises_no_warning(assignment):
    assert not source_run(assignment).noisy()


def test_source_leaves_the_global_rng_alone(assignment):
    assert not source_run(assignment).global_rng_changed, "seed with an np.random.Generator"


@pytest.mark.parametrize(("assignment", "grade_id"), ALTERNATIVES)
def test_alternative_correct_solutions_pass(assignment, grade_id):
    result = run(assignment, {grade_id: data(assignment)["ALTERNATIVES"][grade_id]},
                 only=focused(assignment, grade_id))
    assert not result.failed(), "the alternative is correct"
    assert not result.cells[f"test_{grade_id}"].stderr


def test_release_fails_only_with_not_implemented_error(assignment):
    result = run(assignment, release=True)
    errors = {k: type(r.error).__name__ for k, r in result.cells.items() if r.error is not None}
    tests = {meta(t)["grade_id"] for t in graded_cells(assignment)}
    assert set(errors.values()) <= {"NotImplementedError"}, errors
    assert tests <= set(errors), f"test cells that pass on the stub: {tests - set(errors)}"


# ------------------------------------------------------------------ the mistake bank


def test_bank_loads(assignment):
    assert bank(assignment) is not None
    assert data(assignment)


def test_every_autograded_exercise_has_a_mistake(assignment):
    exercises = {meta(c)["grade_id"] for c in solution_cells(assignment)}
    mistakes = bank(assignment)
    assert exercises - {m.cell for m in mistakes} == set(), "exercises with no bank mistake"
    assert {m.cell for m in mistakes} <= exercises, "mistakes of cells that are no exercise"
    assert len(mistakes) >= data(assignment)["MIN_MISTAKES"]


_MESSAGES: dict[tuple[str, str], str] = {}  # (assignment, mistake) -> message, alone


def _failure(assignment: str, mistakes, whole: bool = True) -> str:
    """The message of the exercise's test cell with `mistakes` made (as the simulated class
    makes them); fails unless it fails with an AssertionError and (`whole`: with the later
    cells that can see the change) no other test cell fails."""
    gid = mistakes[0].cell
    source = text(cell(assignment, gid))
    wrong = solution_code(source, list(mistakes))  # ValueError unless each `find` is once
    assert wrong != solution_code(source), "the mistake changes nothing"
    own_test = f"test_{gid}"
    result = run(assignment, {gid: wrong}, only=focused(assignment, gid, after=whole))
    assert result.cells[gid].error is None, f"the mistaken cell itself raises {result.failed()}"
    own = result.cells[own_test].error
    assert own is not None, f"{[m.name for m in mistakes]} passes the tests of {gid}"
    assert isinstance(own, AssertionError), repr(own)
    assert set(result.failed("test_")) == {own_test}, "other exercises fail too"
    if len(mistakes) == 1:
        _MESSAGES[assignment, mistakes[0].name] = str(own)
    return str(own)


def _alone(assignment: str, mistake) -> str:
    if (assignment, mistake.name) not in _MESSAGES:
        _failure(assignment, [mistake], whole=False)
    return _MESSAGES[assignment, mistake.name]


@pytest.mark.parametrize(("assignment", "mistake"), MISTAKES)
def test_mistake_fails_its_own_exercise_and_is_named(assignment, mistake):
    assert html.escape(mistake.named) == mistake.named, "feedback is HTML: avoid ' \" & < >"
    assert mistake.named.strip()
    assert meta(cell(assignment, mistake.cell)).get("solution"), f"{mistake.cell}: no exercise"
    message = _failure(assignment, [mistake])
    assert mistake.named in message, message


@pytest.mark.parametrize(("assignment", "first", "second"), PAIRS)
def test_two_mistakes_in_one_cell_combine_and_are_both_named(assignment, first, second):
    """A student may make both (the simulated class does): they apply together, and the message
    names each, unless one hides the other (the test stops at the first failing check: the
    message is exactly that of one mistake alone)."""
    message = _failure(assignment, [first, second], whole=False)
    named = [m for m in (first, second) if m.named in message]
    if len(named) == 1:  # the other is hidden only if this is what the named one gives alone
        hidden = second if named[0] is first else first
        assert message == _alone(assignment, named[0]), f"{hidden.name} is not named:\n{message}"
    else:
        assert named, f"neither mistake is named:\n{message}"


# ------------------------------------------------------------------ slow: real kernels


@pytest.fixture
def headless(monkeypatch):
    bin_dir = Path(sys.executable).parent  # nbgrader calls `alembic` from the environment
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    return bin_dir


@pytest.mark.slow
def test_source_runs_clean_in_a_kernel(assignment, headless):
    assert problems(execute(source_path(assignment))) == []


@pytest.mark.slow
def test_released_notebook_leaks_nothing_and_fails_only_with_not_implemented_error(
        assignment, headless, tmp_path):
    from autograder.core.course import copy_config
    from autograder.release.steps import file_text, leaks

    copy_config(ROOT, tmp_path)  # with a SQLite gradebook of its own
    shutil.copytree(ROOT / "source" / assignment, tmp_path / "source" / assignment)
    done = subprocess.run(
        [str(headless / "nbgrader"), "generate_assignment", assignment, "--force"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    released = tmp_path / "release" / assignment / f"{assignment}.ipynb"
    shown = file_text(released)
    assert leaks(nbk.read(source_path(assignment)), shown) == []
    assert [s for s in released_secrets(assignment) if s in shown] == []
    nb = execute(released)
    found = problems(nb)
    assert {kind for _, kind, _ in found} == {"error"}, found
    assert {ename for _, _, ename in found} == {"NotImplementedError"}, found
    tests = {key(c) for c in nb["cells"] if c["cell_type"] == "code" and meta(c).get("grade")}
    assert tests <= {name for name, _, _ in found}, "every test cell fails on the stub"
    assert json.dumps(nb).count("BEGIN HIDDEN TESTS") == 0
