"""A live explorer follows a dragged slider: the student drags the learning-rate slider of
the explorer lecture 01 uses across its range, and the figure changes while the hand moves.

The time from each input event to the next change of the figure's pixels is written to
out/widget-latency/ (the timing goal is in benchmarks/bench_widgets.py, not here)."""

from __future__ import annotations

import nbformat

from .conftest import ROOT, screenshot
from .figures import drag_and_time, wait_for_canvas, write_latencies
from .lab import open_notebook, run_all

# The explorer of lecture 01, on the same valley (module 01's widget cell).
CELLS = [
    "import numpy as np\n\nfrom course_lib import functions, optim, widgets",
    "valley = functions.ill_conditioned_quadratic(kappa=10.0, angle=np.pi / 6)\n"
    "widgets.trajectory_explorer(valley, {\"gd\": optim.gd}, lr=(1e-3, 0.3, 0.17),\n"
    "                            start=np.array([-1.5, 1.0]), steps=40)",
]


def test_live_explorer_follows_a_dragged_slider(page, lab, course_dir):
    folder = course_dir / "scratch"
    folder.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nbformat.write(nb, folder / "live_widget.ipynb")
    open_notebook(page, lab, "scratch/live_widget.ipynb")
    state = run_all(page, timeout=120)
    errors = [c["errors"] for c in state["cells"] if c and (c["errors"] or c["stderr"])]
    assert not errors, f"the explorer cell failed: {errors}"
    cell = page.locator(".jp-Cell").filter(has=page.locator(".widget-slider")).first
    wait_for_canvas(cell)
    result = drag_and_time(page, cell)
    write_latencies(ROOT, "scratch-trajectory-explorer", result)
    screenshot(page, "live-widget-after-drag")
    assert result["events"] >= 20, f"the drag sent too few input events: {result}"
    assert result["frames_during_drag"] > 1, f"the figure did not follow the drag: {result}"
