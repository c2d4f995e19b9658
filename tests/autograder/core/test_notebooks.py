"""Unit tests of autograder.notebooks (region extraction, known-mistake parsing)."""

from autograder import notebooks as nbk

SOURCE = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"


def test_between_returns_only_the_region():
    assert nbk.between(SOURCE, nbk.BEGIN_SOLUTION, nbk.END_SOLUTION) == ["    return x + 1"]


def test_hidden_and_solution_lines_of_the_fixture(source_nb):
    hidden = nbk.hidden_test_lines(source_nb)
    solution = nbk.solution_lines(source_nb)
    assert "_hidden_v = ema_step(2.0, 4.0, 0.75)" in hidden
    assert "return beta * v + (1 - beta) * g" in solution
    assert not any("BEGIN" in line for line in hidden + solution)


def test_known_mistakes_are_parsed_from_a_check_message():
    msg = ("result has the wrong value (max rel. error 2.0).\n"
           "This matches a known mistake: adds the gradient instead of subtracting it.")
    assert nbk.known_mistakes(msg) == ["adds the gradient instead of subtracting it"]
    assert nbk.known_mistakes("AssertionError: wrong") == []


def test_cell_by_id_and_grade_cells(source_nb):
    assert nbk.cell_by_id(source_nb, "test_gd_step").metadata.nbgrader.points == 3
    assert [nbk.grade_id(c) for c in nbk.grade_cells(source_nb)] == [
        "test_squares", "test_gd_step", "test_ema_step"]
