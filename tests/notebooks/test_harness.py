"""The notebook tests' own machinery: release stubs, cell slicing, figure and id checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import course_harness as h
from test_lecture_notebooks import figure_problems

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import check_notebooks  # noqa: E402


def test_stubbed_is_what_nbgrader_releases():
    source = ("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n"
              "    ### END SOLUTION\n")
    assert h.stubbed(source) == (
        "def f(x):\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n")
    test = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n### END HIDDEN TESTS\n"
    assert h.stubbed(test).strip() == "assert f(1) == 2"


def test_names_are_the_globals_a_cell_binds_and_reads():
    bound, read = h._names(
        "import numpy as np\nx = 1\ndef f(q):\n    z = q\n    return z + x + helper(np.sum)\n"
        "rng = make_rng()\nrng.normal()\ny += 1\n")
    assert bound == {"np", "x", "f", "rng", "y"}
    assert read == {"helper", "make_rng", "y"}  # q, z are local; rng is made here first
    assert h._names("def broken(:\n") is None


def test_slice_keeps_the_cells_that_can_see_a_change():
    codes = [
        "import numpy as np",  # 0 setup
        "def f(x):\n    return x + 1",  # 1 the changed exercise
        "assert f(1) == 2",  # 2 its test
        "def g(x):\n    return 2 * x",  # 3 independent exercise
        "rng = 3\nassert g(rng) == 6",  # 4 its test: skipped
        "def k(x):\n    return f(x) * np.ones(1)",  # 5 uses f
        "data = [1, 2]",  # 6 needed by 7
        "assert k(data[0]) == 2",  # 7 test of k: kept, and so is 6
        "unparsable(:",  # 8 kept: cannot tell
    ]
    assert h._slice(codes, 1) == {2, 5, 6, 7, 8}


def test_focus_skips_earlier_test_cells_the_changed_exercise_cannot_need():
    codes = [
        "import numpy as np\ndata = np.ones(3)",  # 0 setup: runs
        "def f(x):\n    return x + 1",  # 1
        "assert f(1) == 2",  # 2 test of f: skipped
        "def g(x):\n    return x",  # 3
        "assert g(data).sum() == 3",  # 4 test of g reads the shared data: runs
        "def h(x):\n    return 2 * x",  # 5 the changed exercise
        "assert h(data).sum() == 6",  # 6 its test
        "assert f(0) == 1",  # 7 later, unaffected: skipped
    ]
    graded = {2, 4, 6, 7}
    assert h.focus(codes, graded, 5, 6, after=True) == {0, 1, 3, 4, 5, 6}
    assert h.focus(codes + ["y = h(1)"], graded, 5, 6, after=True) == {0, 1, 3, 4, 5, 6, 8}


def _executed(outputs_by_cell: list[tuple[str, list[dict]]]) -> dict:
    return {"cells": [{"cell_type": "code", "id": cid, "source": src, "metadata": {},
                       "outputs": outs} for cid, (src, outs) in
                      zip(("a", "b"), outputs_by_cell, strict=False)]}


PNG = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Image>"}}
TEXT = {"output_type": "display_data", "data": {"text/plain": "<Figure size 640x480>"}}


def test_figure_problems_finds_cells_whose_figures_vanished():
    shown = "fig, ax = plt.subplots()\nplots.show(fig)"
    assert figure_problems(_executed([(shown, [PNG])])) == []
    assert figure_problems(_executed([(shown, [TEXT])])) == [
        "the executed notebook contains no figure (image/png)",
        "cell a shows a figure but has no image/png output"]
    # a show() inside a function only runs when called: it is not required to show there
    defined = "def draw():\n    plt.show()"
    assert figure_problems(_executed([(defined, []), ("draw()", [PNG])])) == []
    assert figure_problems(_executed([(shown, [PNG]), ("plt.show()", [])])) == [
        "cell b shows a figure but has no image/png output"]


def test_notebook_check_reports_missing_and_repeated_cell_ids(tmp_path):
    def write(ids):
        cells = [{"cell_type": "markdown", "source": "x", "metadata": {}} | ({"id": i} if i else {})
                 for i in ids]
        path = tmp_path / "n.ipynb"
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                    "nbformat_minor": 5}))
        return path

    assert check_notebooks.id_problems(write(["a", "b"])) == []
    assert check_notebooks.id_problems(write(["a", None, "a"])) == [
        "cells [1] have no id", "cell ids used twice: ['a']"]
