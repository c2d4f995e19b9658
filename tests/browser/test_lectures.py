"""Each lecture notebook runs in JupyterLab, its widgets are live, and a slider redraws.

A lecture whose explorer draws on a live canvas is also dragged across a slider's range:
the figure must change while the hand moves, and the time from each input event to the
next change of its pixels is written to out/widget-latency/."""

from __future__ import annotations

import time

import pytest

from .conftest import ROOT, screenshot
from .figures import drag_and_time, has_live_canvas, signature, wait_for_canvas, write_latencies
from .lab import open_notebook, run_all

LECTURES = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def figure_changes(page, cell, key: str, presses: int = 3, timeout: float = 30) -> bool:
    """Press `key` on the cell's first slider and report whether its figure was redrawn."""
    before = signature(cell)
    handle = cell.locator(".noUi-handle, .widget-slider input").first
    handle.focus()
    for _ in range(presses):
        page.keyboard.press(key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        after = signature(cell)
        if after and after != before:
            wait_until_settled(cell, deadline)
            return True
        time.sleep(0.25)
    return False


def wait_until_settled(cell, deadline: float, quiet: float = 1.5) -> None:
    """Wait until the figure has not changed for `quiet` seconds (each key press redraws)."""
    last, since = signature(cell), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.25)
        now = signature(cell)
        if now != last:
            last, since = now, time.monotonic()


@pytest.mark.parametrize("lecture", LECTURES)
def test_lecture_runs_and_its_widgets_are_live(page, lab, lecture):
    open_notebook(page, lab, f"notebooks/{lecture}")
    state = run_all(page, timeout=240)
    errors = [(i, c["errors"]) for i, c in enumerate(state["cells"]) if c and c["errors"]]
    assert not errors, f"{lecture}: cells raised errors in JupyterLab: {errors}"
    stderr = [(i, c["stderr"]) for i, c in enumerate(state["cells"]) if c and c["stderr"]]
    assert not stderr, f"{lecture}: cells wrote to stderr: {stderr}"

    sliders = page.locator(".jp-OutputArea-output .widget-slider")
    assert sliders.count() > 0, f"{lecture}: no ipywidgets slider was rendered"
    page.wait_for_function(
        "() => !document.body.innerText.includes('Loading widget')", timeout=30_000
    )
    text = page.locator(".jp-Notebook").inner_text()
    assert "interactive(children=" not in text, "a widget fell back to its plain-text form"

    cell = page.locator(".jp-Cell").filter(has=page.locator(".widget-slider")).first
    cell.scroll_into_view_if_needed()
    live = has_live_canvas(cell)
    if live:
        wait_for_canvas(cell)
    name = lecture.removesuffix(".ipynb")
    screenshot(page, f"lecture-{name}-widget")
    changed = figure_changes(page, cell, "ArrowRight") or figure_changes(page, cell, "ArrowLeft")
    assert changed, f"{lecture}: moving the first slider did not redraw its figure"
    screenshot(page, f"lecture-{name}-slider-moved")
    if live:
        result = drag_and_time(page, cell, steps=20, settle=1.0)  # short: one per lecture
        write_latencies(ROOT, f"lecture-{name}", result)
        screenshot(page, f"lecture-{name}-after-drag")
        assert result["frames_during_drag"] > 1, f"{lecture}: the figure did not follow: {result}"
