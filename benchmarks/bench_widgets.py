"""Lecture widgets: kernel-side time from a new slider value to an updated canvas.

For each lecture (01, 02, 03) the lecture's own code cells run, in order, up to and
including the cell that builds its explorer, in this process and with a live figure (the
ipympl canvas, as in JupyterLab, minus the browser). Then each slider is swept over its
range as a drag would (``--points`` values from min to max) and, for every value, the
benchmark times what the kernel does before the new picture can leave it:

    the slider's new value -> the explorer's update (optimizers, ``set_data``) ->
    the frame the front end asks for: ``canvas.draw()`` (Agg render + PNG of the changed
    pixels, which ipympl sends as it is)

Goal: median <= 50 ms and 95th percentile <= 100 ms per explorer on the 2-core test
machine. The figure before the change is measured too ("old"): the whole figure built
again by the plot function (``widgets.draw_runs``, the old explorers' drawing code, or the
old cell's own) and rendered to PNG, as the inline backend shows it (fewer values per
slider: it is slow).

``--cells DIR`` substitutes ``DIR/NN.py`` for lecture NN's widget cell, to measure a
candidate cell before it goes into the lecture.

Run: ``python benchmarks/bench_widgets.py [--cells DIR] [--points 25] [--json out.json]``.
Timings on a shared machine are noisy: the load average is printed with the results, and
so is the CPU time this process spent on the frames, which other processes inflate less.
The exit status is 0 when every explorer meets the goal.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.pop("COURSE_STATIC_WIDGETS", None)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_lib import plots, widgets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL_MEDIAN, GOAL_P95 = 0.050, 0.100
CPU_TIMES: dict = {}  # slider -> CPU seconds of this process per frame (last lecture run)

# lecture -> (notebook, id of the cell that builds the explorer)
LECTURES = {
    "01": ("notebooks/01_gradient_descent.ipynb", "code-10"),
    "02": ("notebooks/02_stochastic_gradient_descent.ipynb", "50"),
    "03": ("notebooks/03_momentum.ipynb", "31"),
}

# The widget cells of lectures 02 and 03 as they were before the live explorers, for the
# "old" column (lecture 01's cell is unchanged: it called trajectory_explorer then too).
OLD_CELLS = {
    "02": '''
def show_sgd(batch_size=16, lr=0.05):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    name = f"B = {batch_size}, lr = {lr:.3g}"
    with np.errstate(all="ignore"):
        path = run_sgd(X, y, w0, lr, 200 * batch_size // n + 1, batch_size,
                       np.random.default_rng(SEED))[:201]
        plots.plot_trajectories(loss_surface, {name: path}, ax=axes[0], markers=False,
                                bounds=bounds, title="200 updates on the loss contours",
                                xlabel="$w_1$", ylabel="$w_2$")
        plots.loss_curves({name: full_loss(path) - L_star}, ax=axes[1], xlabel="update",
                          ylabel="$L(w) - L^*$", title="Full-data loss after each update")
    return fig

widgets.explorer(show_sgd, batch_size=(1, 256, 16), lr=("log", 0.001, 1.0, 0.05))
''',
    "03": '''
banana = functions.rosenbrock()


def race(lr, momentum, steps):
    opts = {"GD": optim.sgd(lr), "momentum": optim.sgd(lr, momentum=momentum)}
    if momentum > 0:
        opts["NAG"] = optim.sgd(lr, momentum=momentum, nesterov=True)
    title = f"Rosenbrock, lr = {lr:.2g}, mu = {momentum:.2f}"
    return widgets.draw_runs(banana, opts, banana.x0, steps, title)


widgets.explorer(race, lr=("log", 1e-4, 3e-3, 1e-3), momentum=(0.0, 0.99, 0.01, 0.9),
                 steps=(50, 2000, 500))
''',
}


# ---------------------------------------------------------------- the old drawing code


def old_trajectory_explorer(objective, optimizers, lr=(1e-4, 1.0, 1e-2), start=None,
                            steps=50, static=None):
    """The old trajectory_explorer: (plot function, slider specifications)."""
    lo, hi, default = lr

    def draw(lr, **values):
        n = values.pop("steps", steps)
        x0 = values.pop("x0") if objective.dim == 1 else np.array(
            [values.pop("x0_1"), values.pop("x0_2")])
        opts = {name: make(lr) for name, make in optimizers.items()}
        title = f"{plots.objective_title(objective)}, lr = {lr:.3g}"
        return widgets.draw_runs(objective, opts, x0, n, title)  # the old path: a new figure

    sliders = {"lr": ("log", lo, hi, default), **widgets._start_sliders(objective, start),
               **widgets._steps_slider(steps)}
    return draw, sliders


def old_momentum_explorer(objective, lr=(1e-4, 1.0, 1e-2), momentum=(0.0, 0.99, 0.9),
                          start=None, steps=50, nesterov=False, static=None):
    from course_lib import optim

    lo, hi, default = lr
    label = "nesterov" if nesterov else "momentum"

    def draw(lr, momentum, **values):
        n = values.pop("steps", steps)
        x0 = np.array([values.pop("x0_1"), values.pop("x0_2")])
        opts = {"gd": optim.sgd(lr)}
        if momentum > 0:
            opts[f"{label} ({momentum:.2f})"] = optim.sgd(lr, momentum=momentum,
                                                         nesterov=nesterov)
        title = f"{plots.objective_title(objective)}, lr = {lr:.3g}"
        return widgets.draw_runs(objective, opts, x0, n, title)  # the old path: a new figure

    sliders = {"lr": ("log", lo, hi, default), "momentum": momentum,
               **widgets._start_sliders(objective, start), **widgets._steps_slider(steps)}
    return draw, sliders


def old_explorer(plot_fn, static=None, **sliders):
    return plot_fn, sliders


def old_frame(plot_fn, values) -> None:
    """One old frame: the whole figure drawn again, then the PNG the inline backend sends."""
    result = plot_fn(**values)
    fig = result if isinstance(result, plt.Figure) else plt.gcf()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close("all")


# ---------------------------------------------------------------- running the lectures


def cells_up_to(notebook: Path, cell_id: str) -> list[tuple[str, str]]:
    """(id, source) of the code cells up to and including `cell_id`."""
    nb = json.loads(notebook.read_text())
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            if any(line.lstrip().startswith(("%", "!")) for line in source.splitlines()):
                raise SystemExit(f"{notebook.name} cell {cell['id']}: IPython magics are not "
                                 "supported by this benchmark")
            out.append((cell["id"], source))
        if cell.get("id") == cell_id:
            return out
    raise SystemExit(f"{notebook}: no cell with id {cell_id!r}")


def run_cell(source: str, namespace: dict, name: str):
    """Execute a cell; return the value of its last expression (as IPython shows it)."""
    tree = ast.parse(source, filename=name)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, name, "exec"), namespace)  # noqa: S102 - the course's own notebooks
    value = eval(compile(last, name, "eval"), namespace) if last is not None else None  # noqa: S307
    plt.close("all")
    return value


def lecture_namespace(key: str, cells_dir: Path | None):
    """Run lecture `key` up to its widget cell; return (namespace, widget cell source)."""
    path, cell_id = LECTURES[key]
    cells = cells_up_to(ROOT / path, cell_id)
    widget_source = cells[-1][1]
    replacement = cells_dir / f"{key}.py" if cells_dir is not None else None
    if replacement is not None and replacement.exists():
        widget_source = replacement.read_text()
    namespace: dict = {"__name__": f"lecture_{key}"}
    cwd = os.getcwd()
    os.chdir(ROOT / "notebooks")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the lecture's printed results
            for cid, source in cells[:-1]:
                run_cell(source, namespace, f"{path}#{cid}")
    finally:
        os.chdir(cwd)
    return namespace, widget_source


def sweep_values(control, points: int) -> list:
    """`points` values of a slider from its min to its max, on its own steps."""
    import ipywidgets as w

    if isinstance(control, w.FloatLogSlider):
        exps = np.linspace(control.min, control.max, points)
        exps = control.min + np.round((exps - control.min) / control.step) * control.step
        return [float(10 ** e) for e in dict.fromkeys(np.round(exps, 10))]
    if isinstance(control, w.IntSlider):
        return [int(v) for v in dict.fromkeys(np.round(np.linspace(control.min, control.max,
                                                                   points)).astype(int))]
    if isinstance(control, w.FloatSlider):
        vals = np.linspace(control.min, control.max, points)
        vals = control.min + np.round((vals - control.min) / control.step) * control.step
        return [float(v) for v in dict.fromkeys(np.round(vals, 10))]
    if isinstance(control, w.Dropdown):
        return list(control.options)
    if isinstance(control, w.Checkbox):
        return [not control.value, control.value]
    return []


def summary(times: list[float]) -> dict:
    if not times:
        return {"n": 0}
    return {"n": len(times), "median_ms": 1e3 * statistics.median(times),
            "p95_ms": 1e3 * float(np.percentile(times, 95)), "max_ms": 1e3 * max(times)}


def bench_live(explorer, points: int) -> dict:
    """Sweep every slider of a live explorer; seconds per new value, per slider."""
    canvas = explorer.canvas
    canvas.syncing_data_url = False  # as once a front end is connected
    canvas.draw()  # the first frame (draws the static parts)
    defaults = explorer.values
    results = {}
    for name, control in explorer.controls.items():
        values = sweep_values(control, points)
        explorer.set(**defaults)
        explorer.set(**{name: values[0]})  # the hand is on the slider: start of the drag
        canvas.draw()
        times, cpu = [], []
        for value in values[1:]:
            start, start_cpu = time.perf_counter(), time.process_time()
            explorer.set(**{name: value})  # -> update -> draw_idle (asks for a frame)
            canvas.draw()  # the frame: Agg render + PNG of the changed pixels
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        results[name] = times
        CPU_TIMES[name] = cpu
    explorer.set(**defaults)
    return results


def bench_old(plot_fn, sliders: dict, points: int) -> dict:
    controls = {name: widgets.slider(name, spec) for name, spec in sliders.items()}
    defaults = {name: c.value for name, c in controls.items()}
    old_frame(plot_fn, defaults)  # warm-up
    results = {}
    for name, control in controls.items():
        times = []
        for value in sweep_values(control, points)[1:]:
            start = time.perf_counter()
            old_frame(plot_fn, {**defaults, name: value})
            times.append(time.perf_counter() - start)
        results[name] = times
    return results


def bench_lecture(key: str, cells_dir: Path | None, points: int, old_points: int) -> dict:
    widgets.is_static = lambda: False  # live figures, as in JupyterLab
    namespace, widget_source = lecture_namespace(key, cells_dir)
    explorer = run_cell(widget_source, namespace, f"lecture {key} widget cell")
    out = {"lecture": key, "live": isinstance(explorer, widgets.LiveExplorer)}
    if out["live"]:
        CPU_TIMES.clear()
        out["new"] = bench_live(explorer, points)
        out["new_cpu"] = dict(CPU_TIMES)
    else:
        print(f"lecture {key}: the widget cell does not build a live explorer (pass --cells "
              "with the live cells until they are in the notebook)", file=sys.stderr)
    if old_points > 1:
        # Lecture 01's widget cell is the same before and after (trajectory_explorer).
        old_source = OLD_CELLS[key] if key in OLD_CELLS else widget_source
        recorder = {"explorer": old_explorer, "trajectory_explorer": old_trajectory_explorer,
                    "momentum_explorer": old_momentum_explorer}
        real = {name: getattr(widgets, name) for name in recorder}
        for name, fn in recorder.items():
            setattr(widgets, name, fn)
        try:
            plot_fn, sliders = run_cell(old_source, namespace, f"lecture {key} old cell")
        finally:
            for name, fn in real.items():
                setattr(widgets, name, fn)
        out["old"] = bench_old(plot_fn, sliders, old_points)
    plt.close("all")
    return out


def print_table(results: list[dict]) -> bool:
    head = (f"{'lecture':8s} {'slider':10s} {'n':>3s}  {'live median':>11s} {'p95':>7s}"
            f"  {'old median':>10s} {'p95':>7s}   (ms)")
    print(head)
    print("-" * len(head))

    def row(lecture, name, n, o, tail=""):
        nan = float("nan")
        print(f"{lecture:8s} {name:10s} {n.get('n', 0):3d}  {n.get('median_ms', nan):11.1f} "
              f"{n.get('p95_ms', nan):7.1f}  {o.get('median_ms', nan):10.1f} "
              f"{o.get('p95_ms', nan):7.1f}{tail}")

    ok = True
    for res in results:
        new, old = res.get("new", {}), res.get("old", {})
        for name in dict.fromkeys([*new, *old]):
            row(res["lecture"], name, summary(new.get(name, [])), summary(old.get(name, [])))
        n = summary([t for ts in new.values() for t in ts])
        o = summary([t for ts in old.values() for t in ts])
        met = bool(new) and n["median_ms"] <= 1e3 * GOAL_MEDIAN and n["p95_ms"] <= 1e3 * GOAL_P95
        ok &= met
        res["summary"] = {"live": n, "old": o, "goal_met": met}
        cpu = summary([t for ts in res.get("new_cpu", {}).values() for t in ts])
        row(res["lecture"], "ALL", n, o, f"   goal {'met' if met else 'NOT met'}"
            f" (CPU time of the frames: median {cpu.get('median_ms', float('nan')):.1f},"
            f" p95 {cpu.get('p95_ms', float('nan')):.1f})")
        print()
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=Path, default=None,
                        help="directory with 02.py and 03.py: live widget cells to use "
                             "instead of the notebooks' own")
    parser.add_argument("--points", type=int, default=25, help="values per slider (live)")
    parser.add_argument("--old-points", type=int, default=6,
                        help="values per slider for the old path (0: skip it)")
    parser.add_argument("--lectures", default="01,02,03")
    parser.add_argument("--json", type=Path, default=None, help="write the timings here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)  # plt.show() under Agg
    results = [bench_lecture(k, args.cells, args.points, args.old_points)
               for k in args.lectures.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"goal: median <= {1e3 * GOAL_MEDIAN:.0f} ms, p95 <= {1e3 * GOAL_P95:.0f} ms\n")
    ok = print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
