"""Unit tests of autograder.core.notebooks (region extraction, known-mistake parsing,
outputs made text before any preprocessor sees them)."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.preprocessors import LimitOutput

from autograder.core import notebooks as nbk
from autograder.run.preprocessors import IgnoreWarnings

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


def test_outputs_whose_text_is_a_list_are_joined_before_any_preprocessor():
    nb = new_notebook(cells=[new_code_cell("x")])
    nb.cells[0].outputs = [
        {"output_type": "stream", "name": "stderr", "text": ["a.py:1: RuntimeWarning: x\n",
                                                           "  y\n", "real\n"]},
        {"output_type": "error", "ename": ["Value", "Error"], "evalue": ["bad ", 3],
         "traceback": [["T"], 7]},
        {"output_type": "display_data", "data": {"text/plain": ["1", "2"]}, "metadata": {}},
    ]
    nbk.normalize_outputs(nb)
    outs = nb.cells[0].outputs
    assert outs[0]["text"].endswith("real\n") and outs[1]["ename"] == "ValueError"
    assert outs[1]["evalue"] == "bad 3" and outs[1]["traceback"] == ["T", "7"]
    assert outs[2]["data"]["text/plain"] == "12"
    nb = nbformat.from_dict(nb)
    nb, _ = IgnoreWarnings()(nb, {})
    nb, _ = LimitOutput()(nb, {})
    assert nb.cells[0].outputs[0].text == "real\n"
