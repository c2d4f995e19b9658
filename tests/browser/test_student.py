"""A student opens module 01's released assignment, types a solution and runs the tests."""

from __future__ import annotations

from autograder.core import notebooks as nbk
from autograder.demo.mistakes import load_bank
from autograder.demo.simulate import solution_code

from .conftest import ROOT, screenshot
from .lab import (
    cell_states,
    command,
    grade_id_index,
    open_notebook,
    output_text,
    run_cells,
    scroll_to,
    select_cell,
    type_into_cell,
    wait_until_executed,
)

ASSIGNMENT = "01_gradient_descent"


def exercise_with_mistakes():
    """The first exercise (in notebook order) with mistakes in the bank, and its source."""
    source_nb = nbk.read(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    bank = load_bank(ASSIGNMENT)
    for cell in source_nb.cells:
        grade_id = nbk.grade_id(cell)
        mistakes = [m for m in bank if m.cell == grade_id]
        if cell.cell_type == "code" and nbk.is_solution(cell) and mistakes:
            return grade_id, cell.source, mistakes
    raise AssertionError(f"{ASSIGNMENT}: no exercise has a mistake in the bank")


def test_student_solves_an_exercise_and_sees_a_named_mistake(page, lab):
    grade_id, source, mistakes = exercise_with_mistakes()
    open_notebook(page, lab, f"release/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    exercise = grade_id_index(page, grade_id)
    test_cell = grade_id_index(page, f"test_{grade_id}")
    select_cell(page, exercise)
    above = [i for i, c in enumerate(cell_states(page)["cells"][:exercise]) if c is not None]
    command(page, "notebook:run-all-above")
    setup = wait_until_executed(page, above)
    assert not any(c and c["errors"] for c in setup["cells"][:exercise]), "set-up cells failed"

    type_into_cell(page, exercise, solution_code(source))
    state = run_cells(page, [exercise, test_cell])
    assert not state["cells"][exercise]["errors"], state["cells"][exercise]["errors"]
    assert not state["cells"][test_cell]["errors"], (
        f"the visible tests fail on the instructor's solution: {state['cells'][test_cell]}")
    scroll_to(page, test_cell)
    screenshot(page, "student-tests-pass")

    seen = []
    for mistake in mistakes:
        type_into_cell(page, exercise, solution_code(source, [mistake]))
        state = run_cells(page, [exercise, test_cell])
        errors = " ".join(state["cells"][test_cell]["errors"])
        seen.append((mistake.name, errors))
        if mistake.named.lower() in errors.lower():
            shown = output_text(page, test_cell)
            assert mistake.named.lower() in shown.lower(), "the message is not on the page"
            screenshot(page, "student-named-mistake")
            return
    raise AssertionError(f"no mistake was named by the visible tests of {grade_id}: {seen}")
