"""What the grader plans before it runs a submission (``autograder.run.plan``): which instructor
cells run in the trusted process, which names it takes from the kernel, what it preloads."""

from __future__ import annotations

import nbformat
from fixture_course import FIXTURES
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.core import notebooks as nbk
from autograder.run import plan as planning
from autograder.run.plan import (
    bound_names,
    defined_names,
    expected_names,
    imported_modules,
    instructor_cells,
    trusted_cells,
    used_names,
)


def cell(gid: str | None, source: str, kind: str = "locked", markdown: bool = False):
    """A cell of the source notebook: ``kind`` is locked, solution, test or answer (a
    manually graded solution)."""
    new = new_markdown_cell(source) if markdown else new_code_cell(source)
    if gid is not None:
        new.metadata["nbgrader"] = {
            "grade_id": gid, "locked": kind in ("locked", "test"),
            "solution": kind in ("solution", "answer"), "grade": kind in ("test", "answer"),
            "schema_version": 3, **({"points": 1} if kind in ("test", "answer") else {})}
    return new


def notebook(*cells):
    nb = new_notebook(cells=list(cells))
    nbformat.validate(nb)
    return nb


SOURCES = {
    "imports": "import numpy as np\nfrom course_lib import checks\n%matplotlib inline",
    "setup_a": "A = 2.0",
    "helper_b": "def helper(x):\n    return A * x",
    "style": "STYLE = 'dark'",
    "demo": "fig = [helper(f(t)) for t in range(3)]\nprint(STYLE, fig)",
    "test_f": "assert np.isclose(helper(f(1)), 4.0)\nchecks.check_scalar(f(0), 1.0)",
    "after": "A = 100.0  # after the last test: no test sees it\nLATE = 1",
}


def hand_made():
    return notebook(
        cell("intro", "# A title", markdown=True),
        cell("imports", SOURCES["imports"]),
        cell("setup_a", SOURCES["setup_a"]),
        cell("helper_b", SOURCES["helper_b"]),
        cell("f", "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION",
             "solution"),
        cell(None, "Z = 5  # no nbgrader metadata: not an instructor cell"),
        cell("style", SOURCES["style"]),
        cell("demo", SOURCES["demo"]),
        cell("explain", "Explain.", "answer"),
        cell("test_f", SOURCES["test_f"], "test"),
        cell("after", SOURCES["after"]),
    )


def test_a_test_cell_takes_the_setup_it_needs_and_a_chain_of_helpers_in_order():
    chosen = trusted_cells(hand_made())
    assert chosen == {
        "imports": (SOURCES["imports"], False),  # np and checks
        "setup_a": (SOURCES["setup_a"], False),  # used by helper_b, which the test uses
        "helper_b": (SOURCES["helper_b"], False),
        "test_f": (SOURCES["test_f"], True),
    }
    assert list(chosen) == ["imports", "setup_a", "helper_b", "test_f"]


def test_a_demonstration_and_what_only_it_uses_stay_in_the_kernel():
    nb = hand_made()
    assert set(instructor_cells(nb)) == {"imports", "setup_a", "helper_b", "style", "demo",
                                         "test_f", "after"}
    chosen = trusted_cells(nb)
    # demo binds fig, which no later trusted cell mentions; style feeds only demo; after
    # comes after the last test (rebinding A there changes nothing the tests see)
    assert not {"demo", "style", "after"} & set(chosen)


def test_a_test_that_uses_a_demonstrations_name_takes_it_and_what_it_needs():
    nb = hand_made()
    nb.cells.insert(-1, cell("test_fig", "assert len(fig) == 3", "test"))
    chosen = trusted_cells(nb)
    assert list(chosen) == ["imports", "setup_a", "helper_b", "style", "demo", "test_f",
                            "test_fig"]
    assert chosen["demo"] == (SOURCES["demo"], False) and chosen["test_fig"][1] is True


def test_a_cell_the_student_can_edit_never_runs_in_the_trusted_process():
    nb = hand_made()
    nb.cells.insert(-1, cell("test_z", "assert Z == 5 and f(0) == 1", "test"))
    chosen = trusted_cells(nb)
    assert "test_z" in chosen and not any("Z = 5" in src for src, _ in chosen.values())
    assert "f" not in chosen  # the solution: its name comes from the kernel


def test_a_test_alone_takes_nothing_and_a_later_test_can_take_an_earlier_setup():
    alone = notebook(cell("setup", "X = 1"), cell("t1", "assert 1 + 1 == 2", "test"))
    assert trusted_cells(alone) == {"t1": ("assert 1 + 1 == 2", True)}
    later = notebook(cell("setup", "X = 1"), cell("t1", "assert True", "test"),
                     cell("t2", "assert X == 1", "test"))
    assert list(trusted_cells(later)) == ["setup", "t1", "t2"]


def test_names_of_a_cell():
    src = ("import numpy as np\nimport os.path\nfrom course_lib import optim as o\n"
           "def f(x):\n    y = 1\n    return y\na, (b, c) = 1, (2, 3)\nd: int = 4\ne += 1\n"
           "for i in range(2):\n    pass\n%matplotlib inline\nclass K: pass\ndel z")
    assert defined_names(src) == ["f", "a", "b", "c", "d", "e", "K"]
    assert bound_names(src) == {"np", "os", "o", "f", "y", "a", "b", "c", "d", "e", "i", "K",
                                "z"}
    assert used_names("print(helper(A), [t for t in T])\nx = 1") == {
        "print", "helper", "A", "t", "T", "x"}
    for broken in ("def broken(:", "x = ("):
        assert defined_names(broken) == [] and used_names(broken) == set() and \
            bound_names(broken) == set()


def test_expected_names_are_what_the_solution_cells_define():
    nb = hand_made()
    nb.cells.append(cell("g", "import math\ndef g():\n    pass\nRATE = 0.1", "solution"))
    assert expected_names(nb) == ["RATE", "f", "g"]  # never np, A, helper or a test's name


def test_preload_lists_what_instructor_cells_import():
    locked = cell("setup", "import numpy as np\nfrom course_lib import optim, checks\n"
                  "from . import local\nimport os.path as p")
    student = cell("answer", "import secret_module\n", "solution")
    test = cell("t", "import json\nassert True", "test")
    nb = notebook(locked, student, test)
    assert imported_modules(nb) == ["course_lib", "course_lib.checks", "course_lib.optim",
                                    "json", "numpy", "os.path"]


def test_the_plan_of_the_fixture_comes_from_its_source():
    source = nbk.read(FIXTURES / "course" / "source" / "ps1" / "ps1.ipynb")
    plan = planning.TestPlan.of(source, ("numpy",))
    assert {gid: test for gid, (_, test) in plan.cells.items()} == {
        "imports": False, "test_squares": True, "test_gd_step": True, "test_ema_step": True}
    assert plan.cells["test_squares"][0] == nbk.cell_by_id(source, "test_squares").source
    assert "_hidden_sq" in plan.cells["test_squares"][0]  # hidden tests included
    assert plan.names == ["ema_step", "gd_step", "squares"] and plan.preload == ("numpy",)
