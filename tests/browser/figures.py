"""What the student sees of a widget's figure, and how fast it follows a dragged slider.

A figure is either a PNG (``<img>``, the older explorers: a new image per value) or a live
ipympl canvas (``<canvas>``, whose pixels change in place). ``signature`` covers both, so a
test can tell whether the figure changed. ``drag_and_time`` drags a slider across its range
with the mouse, as a student does, while the page records every input event and, at every
animation frame, whether the canvas pixels changed: the latency of an input event is the
time until the next change of the pixels after it.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

# The ipympl canvas the figure is drawn on (its top canvas only draws the zoom rectangle).
CANVAS = ".jupyter-matplotlib-canvas-div canvas:not(.jupyter-matplotlib-top-canvas)"

# A short fingerprint of the figures of a cell: image sources and canvas pixel hashes.
SIGNATURE = """(cell) => {
  const hash = (canvas) => {
    if (!canvas.width || !canvas.height) return 'empty';
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const words = new Uint32Array(data.buffer);
    let h = 0;
    for (let i = 0; i < words.length; i++) h = (Math.imul(h, 31) + words[i]) | 0;
    return String(h);
  };
  const imgs = Array.from(cell.querySelectorAll('.jp-OutputArea-output img')).map(i => i.src);
  const canvases = Array.from(cell.querySelectorAll('CANVAS')).map(hash);
  return imgs.concat(canvases).join('|');
}""".replace("CANVAS", CANVAS)

# Installs the recorder: input events on the page, pixel changes of the cell's canvas.
RECORDER = """(cell) => {
  const canvas = cell.querySelector('CANVAS');
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const hash = () => {
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const words = new Uint32Array(data.buffer);
    let h = 0;
    for (let i = 0; i < words.length; i++) h = (Math.imul(h, 31) + words[i]) | 0;
    return h;
  };
  const rec = {events: [], frames: [], running: true, last: hash()};
  const onInput = () => rec.events.push(performance.now());
  document.addEventListener('pointermove', onInput, {capture: true});
  const tick = () => {
    if (!rec.running) { document.removeEventListener('pointermove', onInput, true); return; }
    const h = hash();
    if (h !== rec.last) { rec.frames.push(performance.now()); rec.last = h; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  window.__courseDrag = rec;
}""".replace("CANVAS", CANVAS)

RESULTS = """() => { const rec = window.__courseDrag; rec.running = false;
                     return {events: rec.events, frames: rec.frames}; }"""


def signature(cell) -> str:
    return cell.evaluate(SIGNATURE)


def has_live_canvas(cell) -> bool:
    return cell.locator(CANVAS).count() > 0


def wait_for_canvas(cell, timeout: float = 60) -> None:
    """Wait until the cell's live canvas shows a figure (some pixel is not transparent)."""
    cell.locator(CANVAS).first.wait_for(timeout=timeout * 1000)
    drawn = """(c) => { const k = c.querySelector('CANVAS');
                        if (!k.width || !k.height) return false;
                        const d = k.getContext('2d').getImageData(0, 0, k.width, k.height).data;
                        for (let i = 3; i < d.length; i += 400) if (d[i] !== 0) return true;
                        return false; }""".replace("CANVAS", CANVAS)
    deadline = time.monotonic() + timeout
    while not cell.evaluate(drawn):
        if time.monotonic() > deadline:
            raise TimeoutError("the live figure did not appear on its canvas")
        time.sleep(0.25)


def latencies(events: list[float], frames: list[float]) -> list[float]:
    """For each input event, the time (ms) until the canvas pixels next changed after it
    (events after the last change have none)."""
    out, j = [], 0
    for e in events:
        while j < len(frames) and frames[j] <= e:
            j += 1
        if j < len(frames):
            out.append(frames[j] - e)
    return out


def drag_and_time(page, cell, slider_index: int = 0, steps: int = 40,
                  step_ms: float = 40, settle: float = 2.0) -> dict:
    """Drag the cell's slider number `slider_index` from its left end to its right end in
    `steps` mouse moves `step_ms` apart; return the events, frames and latencies (ms)."""
    handle = cell.locator(".widget-slider .noUi-handle").nth(slider_index)
    track = cell.locator(".widget-slider .noUi-target").nth(slider_index)
    handle.scroll_into_view_if_needed()
    h, t = handle.bounding_box(), track.bounding_box()
    y = h["y"] + h["height"] / 2
    cell.evaluate(RECORDER)
    page.mouse.move(h["x"] + h["width"] / 2, y)
    page.mouse.down()
    start = time.monotonic()
    xs = [t["x"] + t["width"] * k / steps for k in range(steps + 1)]
    page.mouse.move(xs[0], y, steps=4)  # to the left end, then across
    for x in xs[1:]:
        page.wait_for_timeout(step_ms)
        page.mouse.move(x, y)
    page.mouse.up()
    drag_seconds = time.monotonic() - start
    page.wait_for_timeout(settle * 1000)  # the last frames arrive
    result = page.evaluate(RESULTS)
    events, frames = result["events"], result["frames"]
    drag_end = events[-1] if events else 0.0
    lat = latencies(events, frames)
    return {
        "events": len(events),
        "frames": len(frames),
        "frames_during_drag": sum(1 for f in frames if f <= drag_end),
        "drag_seconds": round(drag_seconds, 3),
        "latency_ms": [round(v, 1) for v in lat],
        "latency_median_ms": round(statistics.median(lat), 1) if lat else None,
        "latency_p95_ms": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        "frame_interval_median_ms": (round(statistics.median(
            [b - a for a, b in zip(frames, frames[1:], strict=False)]), 1)
            if len(frames) > 2 else None),
    }


def write_latencies(root: Path, name: str, result: dict) -> Path:
    folder = root / "out" / "widget-latency"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(result, indent=1))
    return path
