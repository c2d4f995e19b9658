"""What an assignment withholds from course_lib, checked the same way for every assignment.

An assignment's first cells are a note and a locked cell ``exercise.withhold(...)`` naming the
``course_lib`` functions and classes that would answer its exercises (``course_lib.exercise``).
The harness's runs have the whole library (``COURSE_LIB_COMPLETE=1``); the runs here do not.

Fast (in-process):
  harness     its runs set ``COURSE_LIB_COMPLETE=1`` and put the environment back;
  declared    the note and the locked cell come first, every name exists and the note
              lists each one;
  released    the source with its solutions but without its hidden tests, run with
              ``COURSE_LIB_COMPLETE`` unset, so that the first cell withholds as in a student's
              kernel: every visible test passes and nothing else fails or writes to stderr;
  solutions   no solution cell, and no correct alternative of the bank, refers to a withheld
              name: a student who writes the reference solution is not stopped when graded.
Slow (a fresh Python): the same released view against the grader's restricted copy of
course_lib (``autograder.sandbox.withhold.restricted_copy``) instead of the in-process stubs.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest
from course_harness import (
    HERE,
    HIDDEN_REGION,
    ROOT,
    assignments,
    cells,
    data,
    full_library,
    key,
    meta,
    run,
    source_path,
    text,
)

from autograder.sandbox.withhold import declared, restricted_copy
from course_lib import exercise

ASSIGNMENTS = assignments()
LOCKED = {"grade": False, "grade_id": "withheld", "locked": True, "schema_version": 3,
          "solution": False, "task": False}


@pytest.fixture(params=ASSIGNMENTS)
def assignment(request) -> str:
    return request.param


@pytest.fixture
def names(assignment) -> tuple[str, ...]:
    return declared(source_path(assignment))


def released_view(name: str) -> dict[str, str]:
    """Cell name -> source of every code cell, solutions kept, hidden tests removed."""
    return {key(c): HIDDEN_REGION.sub("", text(c)) for c in cells(name, ROOT)
            if c["cell_type"] == "code"}


def visible_problems(name: str, complete: bool) -> dict[str, dict[str, str]]:
    """The released view run in-process: {"failed": cell -> error, "noisy": cell -> stderr}."""
    result = run(name, released_view(name), complete=complete)
    return {"failed": result.failed(), "noisy": result.noisy()}


def test_harness_runs_have_the_whole_library_and_restore_the_environment(monkeypatch):
    env = exercise.COMPLETE_ENV
    for before in ("0", None):
        if before is None:
            monkeypatch.delenv(env, raising=False)
        else:
            monkeypatch.setenv(env, before)
        with full_library():
            assert os.environ[env] == "1"
        assert os.environ.get(env) == before
        with full_library(complete=False):
            assert os.environ.get(env) == before


# ------------------------------------------------------------------ the declaration


def test_the_first_cells_explain_and_declare_what_is_withheld(assignment, names):
    first, second = cells(assignment)[:2]
    assert first["cell_type"] == "markdown" and meta(first).get("locked"), key(first)
    assert second["cell_type"] == "code" and meta(second) == LOCKED, meta(second)
    assert names, "the first code cell withholds nothing"
    for name in names:
        assert f"`{name}`" in text(first), f"the note does not list {name}"
    assert "write it yourself" in text(first)


def test_every_declared_name_exists(names, monkeypatch):
    monkeypatch.setenv(exercise.COMPLETE_ENV, "1")
    exercise.withhold(*names)  # checks every name, withholds nothing
    assert exercise.withheld() == ()


# ------------------------------------------------------------------ the student's kernel


def test_released_view_passes_its_visible_tests_with_the_names_withheld(assignment, names,
                                                                       monkeypatch):
    monkeypatch.delenv(exercise.COMPLETE_ENV, raising=False)
    try:
        problems = visible_problems(assignment, complete=False)
        withheld = exercise.withheld()
    finally:
        exercise._restore()
    assert withheld == names, "the first cell did not withhold what it declares"
    assert problems == {"failed": {}, "noisy": {}}


def _imported(codes: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(local name -> course_lib module, local name -> 'module.name') of the imports."""
    modules, names = {}, {}
    for code in codes:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "course_lib":
                modules.update({a.asname or a.name: a.name for a in node.names})
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_lib."):
                module = node.module.removeprefix("course_lib.")
                names.update({a.asname or a.name: f"{module}.{a.name}" for a in node.names})
    return modules, names


def withheld_references(code: str, withheld, modules: dict[str, str],
                        names: dict[str, str]) -> set[str]:
    """The withheld names that ``code`` refers to: ``module.name`` through an imported
    module, a name imported from course_lib, ``course_lib.module.name``, and (for a withheld
    method ``module.Class.name``) any attribute ``.name``."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Attribute):
            value = node.value
            if isinstance(value, ast.Name) and value.id in modules:
                found.add(f"{modules[value.id]}.{node.attr}")
            if (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                    and value.value.id == "course_lib"):
                found.add(f"{value.attr}.{node.attr}")
            found.update(n for n in withheld if n.count(".") == 2
                         and n.endswith(f".{node.attr}"))
        elif isinstance(node, ast.Name) and node.id in names:
            found.add(names[node.id])
    return found & set(withheld)


def test_reference_finds_every_form_of_reference():
    modules, names = _imported(["from course_lib import optim, losses as L\n"
                                "from course_lib.gradcheck import numerical_gradient as ng"])
    code = ("optim.adam(1)\nL.mse(1, 2)\nng(f, x)\ncourse_lib.train.fit()\n"
            "model.loss_and_grad(p)\noptim.sgd(1)\n")
    withheld = ["optim.adam", "losses.mse", "gradcheck.numerical_gradient", "train.fit",
                "nn.MLP.loss_and_grad", "optim.adamw"]
    assert withheld_references(code, withheld, modules, names) == set(withheld) - {"optim.adamw"}


def test_no_solution_refers_to_a_withheld_name(assignment, names):
    codes = [text(c) for c in cells(assignment) if c["cell_type"] == "code"]
    modules, imported = _imported(codes)
    solutions = {meta(c)["grade_id"]: text(c) for c in cells(assignment)
                 if c["cell_type"] == "code" and meta(c).get("solution")}
    own = {n.name for code in solutions.values() for n in ast.parse(code).body
           if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    imported = {k: v for k, v in imported.items() if k not in own}  # shadowed by an exercise
    alternatives = data(assignment)["ALTERNATIVES"]
    found = {f"{kind} {gid}": sorted(refs)
             for kind, sources in (("solution", solutions), ("alternative", alternatives))
             for gid, code in sources.items()
             if (refs := withheld_references(code, names, modules, imported))}
    assert found == {}, "solutions that a graded notebook would stop"


# ------------------------------------------------------------------ the grader's copy


@pytest.mark.slow
def test_released_view_passes_with_the_restricted_copy(assignment, names, tmp_path):
    restricted_copy(names, tmp_path)
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(tmp_path)!r}, {str(HERE)!r}]\n"
        "import course_lib\n"
        f"assert course_lib.__file__.startswith({str(tmp_path)!r}), course_lib.__file__\n"
        "import test_withheld\n"
        f"print(json.dumps(test_withheld.visible_problems({assignment!r}, complete=True)))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", exercise.COMPLETE_ENV)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env | {
        "MPLBACKEND": "Agg", "COURSE_STATIC_WIDGETS": "1"}, capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"failed": {}, "noisy": {}}
