"""Every lecture ``notebooks/NN_topic.ipynb``: committed clean, and its figures survive Agg.

Renderers and CI often set ``MPLBACKEND=Agg``; there ``plt.show()`` draws nothing, so a lecture
displays its figures with ``course_lib.plots.show(fig)``. The slow test runs each lecture in a
fresh kernel the way such a renderer does (``MPLBACKEND=Agg``, widgets static) and checks that
it raises nothing, writes nothing to stderr, and that every cell that shows a figure at top
level has a PNG among its outputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from course_harness import ROOT, execute, key, lectures, outputs, problems, text

LECTURES = lectures()
# A call that shows a figure, as a top-level statement of a cell (so it runs with the cell).
TOP_LEVEL_SHOW = re.compile(r"^(?:plt|plots|course_lib\.plots)\.show\(", re.MULTILINE)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


@pytest.fixture(params=LECTURES)
def lecture(request) -> Path:
    return ROOT / "notebooks" / f"{request.param}.ipynb"


def test_the_course_has_lectures():
    assert LECTURES, f"no lecture notebooks/NN_topic.ipynb under {ROOT}"


def test_lecture_cells_have_unique_ids_and_no_outputs(lecture):
    cells = _cells(lecture)
    ids = [c.get("id") for c in cells]
    assert all(ids) and len(ids) == len(set(ids)), "every cell needs a unique id"
    dirty = [key(c) for c in cells if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, dirty


def test_lecture_shows_figures_with_plots_show(lecture):
    calls = [key(c) for c in _cells(lecture)
             if c["cell_type"] == "code" and "plt.show(" in text(c)]
    assert not calls, f"cells calling plt.show() (blank under Agg; use plots.show(fig)): {calls}"


def figure_problems(nb) -> list[str]:
    """What is wrong with the figures of an executed notebook: no PNG at all, or a cell that
    shows a figure at top level without a PNG output."""
    pngs = {name for name, out in outputs(nb) if "image/png" in out.get("data", {})}
    found = [] if pngs else ["the executed notebook contains no figure (image/png)"]
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and TOP_LEVEL_SHOW.search(text(cell)):
            if key(cell) not in pngs:
                found.append(f"cell {key(cell)} shows a figure but has no image/png output")
    return found


@pytest.fixture
def headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")


@pytest.mark.slow
def test_lecture_runs_clean_with_figures_under_agg(lecture, headless):
    nb = execute(lecture)
    assert problems(nb) == []
    missing = figure_problems(nb)
    assert not missing, "\n".join(missing)


@pytest.mark.slow
def test_the_figure_check_fails_a_lecture_whose_figures_vanish(tmp_path, headless):
    """The check above, on two small notebooks: one with plt.show(), one with plots.show()."""
    nbformat = pytest.importorskip("nbformat")
    setup = "import matplotlib.pyplot as plt\nfrom course_lib import plots"
    draw = "fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\n"
    for name, show, ok in (("vanish", "plt.show()", False), ("shown", "plots.show(fig)", True)):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(setup), nbformat.v4.new_code_cell(draw + show)]
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        executed = execute(path)
        assert [k for _, k, _ in problems(executed)] == [], problems(executed)
        assert (figure_problems(executed) == []) is ok, (name, figure_problems(executed))
