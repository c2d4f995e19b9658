"""The simulated class: code extraction, mistakes injected, plan coverage, seeding."""

import numpy as np
import pytest

from autograder.core import notebooks as nbk
from autograder.demo.simulate import KINDS, plan, solution_code, solved

CELL = ("def f(x):\n    ### BEGIN SOLUTION\n    y = x * 2\n    return y\n"
        "    ### END SOLUTION\n# after")


def test_solution_code_drops_the_markers_and_keeps_the_rest():
    assert solution_code(CELL) == "def f(x):\n    y = x * 2\n    return y\n# after"


def test_solution_code_applies_mistakes_inside_the_region_only(bank):
    from autograder.demo.mistakes import Mistake

    m = Mistake("m", "f", "x * 2", "x * 3", "triples")
    assert "x * 3" in solution_code(CELL, [m])
    outside = Mistake("o", "f", "# after", "# before", "n")
    with pytest.raises(ValueError, match="exactly once"):
        solution_code(CELL, [outside])


def test_plan_covers_every_kind_and_mistake(bank):
    students = plan(bank, 40, np.random.default_rng(0))
    assert len(students) == 40 and len({s.student for s in students}) == 40
    assert {s.kind for s in students} == set(KINDS)
    assert {m for s in students for m in s.mistakes} == {m.name for m in bank}
    again = plan(bank, 40, np.random.default_rng(0))
    assert [(s.kind, s.mistakes) for s in again] == [(s.kind, s.mistakes) for s in students]
    with pytest.raises(ValueError, match="Invalid number of students"):
        plan(bank, 0, np.random.default_rng(0))


def test_solved_fills_release_cells_with_the_solution(source_nb):
    nb = solved(source_nb, source_nb)  # any notebook with the same cells will do
    code = nbk.cell_by_id(nb, "squares").source
    assert "### BEGIN SOLUTION" not in code and "return x ** 2" in code
