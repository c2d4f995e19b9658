"""Tests for course_lib.widgets: the static fallback draws the defaults; the widget path
builds the sliders and redraws with the new value when one moves; live figures change only
what moves (pixels identical to a full redraw), and their optimizer runs are those of
train.minimize."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import functions, optim, widgets  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def no_static_env(monkeypatch):
    monkeypatch.delenv("COURSE_STATIC_WIDGETS", raising=False)


class Recorder:
    """A plot function that remembers its calls and draws a small figure."""

    def __init__(self):
        self.calls = []

    def __call__(self, **values):
        self.calls.append(values)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, values.get("lr", 1.0)], label="line")
        ax.set(title=f"lr = {values.get('lr')}", xlabel="x", ylabel="y")
        ax.legend()
        return fig


# ---------------------------------------------------------------- slider specifications


def test_slider_specifications():
    s = widgets.slider("batch_size", (1, 256, 32))
    assert isinstance(s, w.IntSlider) and (s.min, s.max, s.value) == (1, 256, 32)
    s = widgets.slider("momentum", (0.0, 0.99, 0.9))
    assert isinstance(s, w.FloatSlider) and s.value == 0.9 and s.step == pytest.approx(0.0099)
    s = widgets.slider("beta", (0.0, 1.0, 0.25, 0.5))
    assert isinstance(s, w.FloatSlider) and s.step == 0.25
    s = widgets.slider("lr", ("log", 1e-4, 1.0, 1e-2))
    assert isinstance(s, w.FloatLogSlider)
    assert (s.min, s.max, s.value) == (pytest.approx(-4), pytest.approx(0), pytest.approx(1e-2))
    s = widgets.slider("optimizer", ["sgd", "adam"])
    assert isinstance(s, w.Dropdown) and s.value == "sgd"
    assert isinstance(widgets.slider("nesterov", True), w.Checkbox)
    custom = w.IntText(value=3)
    assert widgets.slider("n", custom) is custom
    assert widgets.slider("lr", (0.0, 1.0, 0.5)).continuous_update  # values while dragging
    assert not widgets.slider("lr", (0.0, 1.0, 0.5), continuous=False).continuous_update


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [((1.0, 0.0, 0.5), ValueError, "Invalid range for slider 'p'"),
     ((0.0, 1.0, 2.0), ValueError, r"Invalid default for slider 'p': 2.0 \(must be in"),
     (("log", 0.0, 1.0, 0.5), ValueError, "Invalid min for log slider 'p'"),
     ([], ValueError, "empty"),
     ("fast", TypeError, "Invalid specification for slider 'p'")],
)
def test_bad_slider_specifications(spec, error, match):
    with pytest.raises(error, match=match):
        widgets.slider("p", spec)


# ---------------------------------------------------------------- static or widget


def test_is_static_env_var_and_kernel(monkeypatch):
    import IPython

    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    assert widgets.is_static()
    monkeypatch.delenv("COURSE_STATIC_WIDGETS")
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert widgets.is_static()  # no IPython shell

    class Shell:
        kernel = object()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert not widgets.is_static()
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "0")
    assert not widgets.is_static()


def test_static_fallback_draws_once_with_the_defaults(monkeypatch):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    plot = Recorder()
    ex = widgets.explorer(plot, lr=("log", 1e-3, 1.0, 0.1), batch_size=(1, 64, 8),
                          optimizer=["sgd", "adam"])
    assert plot.calls == [{"lr": pytest.approx(0.1), "batch_size": 8, "optimizer": "sgd"}]
    assert ex.static and ex.box is None
    assert isinstance(ex.figure, plt.Figure) and ex.figure.axes[0].get_title() == "lr = 0.1"
    assert "static figure" in repr(ex)


def test_widget_path_builds_sliders_and_redraws_on_change(no_static_env):
    plot = Recorder()
    ex = widgets.explorer(plot, static=False, lr=(0.0, 1.0, 0.5), steps=(1, 100, 10))
    assert not ex.static and ex.figure is None
    assert set(ex.controls) == {"lr", "steps"}
    assert isinstance(ex.controls["lr"], w.FloatSlider)
    assert isinstance(ex.controls["steps"], w.IntSlider)
    assert not ex.controls["lr"].continuous_update  # a whole new figure: on release only
    assert plot.calls == [{"lr": 0.5, "steps": 10}]  # first drawing with the defaults
    ex.controls["lr"].value = 0.3
    assert plot.calls[-1] == {"lr": 0.3, "steps": 10}
    ex.controls["steps"].value = 42
    assert plot.calls[-1] == {"lr": 0.3, "steps": 42}
    assert ex.values == {"lr": 0.3, "steps": 42}
    assert isinstance(ex.box, w.VBox) and ex.box.children[1] is ex.output
    assert list(ex.box.children[0].children) == [ex.controls["lr"], ex.controls["steps"]]


def test_widget_chosen_automatically_inside_a_kernel(monkeypatch, no_static_env):
    import IPython

    class Shell:
        kernel = object()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    ex = widgets.explorer(Recorder(), lr=(0.0, 1.0, 0.5))
    assert not ex.static and ex.box is not None
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    ex._ipython_display_()
    assert shown == [ex.box]


def test_explorer_needs_a_slider():
    with pytest.raises(ValueError, match="at least one slider"):
        widgets.explorer(Recorder())


# ---------------------------------------------------------------- ready-made explorers


def test_trajectory_explorer_static_figure(monkeypatch):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    obj = functions.booth()
    ex = widgets.trajectory_explorer(obj, {"gd": optim.gd, "adam": lambda lr: optim.adam(lr)},
                                     lr=(1e-3, 1.0, 0.05), steps=20)
    left, right = ex.figure.axes[:2]
    assert left.get_title() == "Booth, lr = 0.05"
    lines = {ln.get_label(): ln for ln in left.get_lines()}
    assert {"gd", "adam"} <= set(lines)
    np.testing.assert_allclose(lines["gd"].get_xydata()[0], obj.x0)  # starts at the default
    gd = np.asarray(obj.x0, dtype=float)
    for _ in range(20):  # independent GD loop: x <- x - lr grad f(x)
        gd = gd - 0.05 * obj.grad(gd)
    np.testing.assert_allclose(lines["gd"].get_xydata()[-1], gd, rtol=1e-10)
    assert right.get_yscale() == "log" and right.get_legend() is not None


def test_trajectory_explorer_widgets_follow_the_sliders(no_static_env):
    obj = functions.booth()
    ex = widgets.trajectory_explorer(obj, {"gd": optim.gd}, lr=(1e-3, 1.0, 0.05),
                                     start=(1.0, -2.0), steps=(1, 50, 5), static=False)
    assert set(ex.controls) == {"lr", "x0_1", "x0_2", "steps"}
    assert isinstance(ex.controls["lr"], w.FloatLogSlider)
    assert all(c.continuous_update for c in ex.controls.values())
    assert (ex.controls["x0_1"].value, ex.controls["x0_2"].value) == (1.0, -2.0)
    assert (ex.controls["x0_1"].min, ex.controls["x0_1"].max) == obj.bounds[0]
    ex.controls["x0_2"].value = 0.5
    ax = ex.figure.axes[0]
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "gd")
    np.testing.assert_allclose(line.get_xydata()[0], [1.0, 0.5])
    assert len(line.get_xydata()) == 6  # x_0 .. x_5
    ex.set(steps=3)  # the runs are kept: fewer steps cut them
    assert len(line.get_xydata()) == 4
    assert plt.get_fignums() == []  # the live figure is not one of pyplot's


def test_momentum_explorer_static_shows_gd_and_momentum(monkeypatch):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    obj = functions.ill_conditioned_quadratic(10)
    ex = widgets.momentum_explorer(obj, lr=(1e-3, 1.0, 0.05), momentum=(0.0, 0.99, 0.8),
                                   steps=30)
    assert set(ex.controls) >= {"lr", "momentum"}
    labels = {ln.get_label() for ln in ex.figure.axes[0].get_lines()}
    assert {"gd", "momentum (0.80)"} <= labels


# ---------------------------------------------------------------- in a real kernel

KERNEL_SRC = """import os
from course_lib import functions, optim, widgets
os.environ["COURSE_STATIC_WIDGETS"] = {env!r}
widgets.trajectory_explorer(functions.booth(), {{"gd": optim.gd}}, lr=(1e-3, 1.0, 0.05),
                            steps=(1, 50, 10))"""


@pytest.mark.slow
def test_in_a_kernel_static_figure_or_widget():
    """With the variable set the cell shows a PNG; without it, the widget (one kernel)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [nbformat.v4.new_code_cell(KERNEL_SRC.format(env=env)) for env in ("1", "")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    static, widget = (cell.outputs for cell in nb.cells)
    assert [o.output_type for o in static] == ["display_data"]
    assert "image/png" in static[0].data
    assert [o.output_type for o in widget] == ["display_data"]
    assert "application/vnd.jupyter.widget-view+json" in widget[0].data
    assert "image/png" in widget[0].data  # what a page rendered without the widget shows
    models = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json")
    if models:  # nbclient stores the widget state: the figure is ipympl's canvas
        names = {m["model_name"] for m in models["state"].values()}
        assert "MPLCanvasModel" in names


# ---------------------------------------------------------------- live figures


def test_runs_are_the_iterates_of_minimize():
    """Runs steps every optimizer together (one gradient call for all) and must give what
    train.minimize gives: x_{t+1} = x_t + u_t, f(x_t), ||grad f(x_t)||, the stop at the
    first non-finite value; extending and cutting the runs changes nothing."""
    from course_lib.train import minimize

    obj = functions.rosenbrock()
    make = {"gd": lambda: optim.sgd(1e-3), "momentum": lambda: optim.sgd(3e-3, momentum=0.9),
            "nag": lambda: optim.sgd(3e-3, momentum=0.9, nesterov=True),  # diverges
            "adam": lambda: optim.adam(0.05)}
    runs = widgets.Runs(obj, {k: m() for k, m in make.items()}, x0=(-1.2, 1.0))
    for steps in (300, 40, 500, 0):
        traces = runs.traces(steps)
        for name, m in make.items():
            ref = minimize(obj, np.array([-1.2, 1.0]), m(), steps)
            got = traces[name]
            np.testing.assert_array_equal(got.points, ref.points)
            np.testing.assert_array_equal(got.values, ref.values)
            np.testing.assert_allclose(got.grad_norms, ref.grad_norms, rtol=1e-15)
            assert got.diverged == ref.diverged, (name, steps)
    assert runs.traces(500)["nag"].diverged and not runs.traces(500)["momentum"].diverged
    assert runs.steps_taken == 500


def test_runs_on_a_one_dimensional_objective_and_bad_input():
    from course_lib.train import minimize

    obj = functions.parabola_1d(a=2.0)
    runs = widgets.Runs(obj, {"ok": optim.gd(0.1), "too big": optim.gd(1000.0)}, x0=1.5)
    traces = runs.traces(200)
    for name, lr in (("ok", 0.1), ("too big", 1000.0)):
        ref = minimize(obj, 1.5, optim.gd(lr), 200)
        np.testing.assert_array_equal(traces[name].points, ref.points)
        assert traces[name].diverged == ref.diverged
    np.testing.assert_allclose(traces["ok"].points[1:4], 1.5 * 0.8 ** np.arange(1, 4))
    with pytest.raises(ValueError, match="x0 must have shape"):
        widgets.Runs(functions.booth(), {"gd": optim.gd(0.1)}, x0=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="Invalid steps"):
        runs.traces(-1)
    with pytest.raises(ValueError, match="at least one optimizer"):
        widgets.Runs(obj, {})


def test_latest_value_wins_and_nothing_queues():
    """A value that arrives while the previous one is being drawn replaces any value still
    waiting: three values during one redraw give one more redraw, with the newest."""
    drawn = []
    latest = None

    def redraw(value):
        drawn.append(value)
        if value == 1:  # values arriving while this one is drawn
            for newer in (2, 3, 4):
                latest.submit(newer)

    latest = widgets._Latest(redraw)
    latest.submit(1)
    assert drawn == [1, 4] and latest.dropped == 2 and not latest.busy
    latest.submit(5)
    assert drawn == [1, 4, 5]


def _line_setup(fig):
    ax = fig.subplots()
    ax.set(title="A parabola", xlabel="$x$", ylabel="$f(x)$", xlim=(-2, 2), ylim=(0, 4))
    (line,) = ax.plot([], [], label="$a x^2$")
    ax.legend()
    return line


def _line_update(line, a):
    x = np.linspace(-2, 2, 101)
    line.set_data(x, a * x**2)


def test_live_explorer_updates_the_artists_in_place(no_static_env):
    backend = matplotlib.get_backend()
    ex = widgets.live_explorer(_line_setup, _line_update, static=False, a=(0.0, 1.0, 0.5))
    from ipympl.backend_nbagg import Canvas

    assert matplotlib.get_backend() == backend  # other figures keep the notebook's backend
    assert type(plt.figure().canvas).__name__ == "FigureCanvasAgg"
    assert isinstance(ex.canvas, Canvas) and ex.box.children[1] is ex.canvas
    assert widgets.is_live(ex.figure) and ex.figure.dpi * 11 <= widgets.LIVE_WIDTH + 1e-9
    assert ex.controls["a"].continuous_update
    line = ex.handles
    assert line.get_ydata()[0] == pytest.approx(2.0)  # a x^2 at x = -2, a = 0.5
    requested = []
    ex.canvas.draw_idle = lambda: requested.append(True)  # ipympl: asks the front end
    ex.set(a=0.25)
    assert line.get_ydata()[0] == pytest.approx(1.0) and requested == [True]
    assert ex.figure.get_layout_engine().__class__.__name__ == "PlaceHolderLayoutEngine"
    with pytest.raises(ValueError, match="Unknown sliders"):
        ex.set(b=1)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "image/png" in bundle


def test_live_explorer_static_shows_one_png(monkeypatch):
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    shown = []
    monkeypatch.setattr(widgets.plots, "show", lambda fig: shown.append(fig))
    ex = widgets.live_explorer(_line_setup, _line_update, a=(0.0, 1.0, 0.5))
    assert ex.static and ex.box is None and shown == [ex.figure]
    assert ex.handles.get_ydata()[0] == pytest.approx(2.0)
    assert ex._repr_mimebundle_() is None and "static figure" in repr(ex)


def _screen(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_draw_once_and_fast_legend_paste_the_same_pixels():
    """The contour is drawn once and pasted, the legend rendered once and pasted where
    'best' puts it: every frame is the frame of a full redraw (the legend at most a
    fraction of a pixel away, its pixels rendered at the whole pixel)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    obj = functions.himmelblau()
    figs = []
    for fast in (True, False):
        fig = Figure(figsize=(5, 4), dpi=60)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        widgets.plots.contour(obj, ax=ax)
        (line,) = ax.plot([], [], "o-", label="path")
        if fast:
            snapshot = widgets.draw_once(ax, axis=True)
            legend = widgets.fast_legend(ax, loc="best")
        else:
            ax.legend(loc="best")
        figs.append((fig, line))
    corners = set()
    for k in range(4):  # the path moves from corner to corner: the legend moves too
        xy = np.array([[-4.0 + 3 * k, -4.0], [4.0, 4.0 - 3 * k], [-4.0 + 2 * k, 4.0]])
        frames = []
        for fig, line in figs:
            line.set_data(xy[:, 0], xy[:, 1])
            frames.append(_screen(fig))
        renderer = figs[1][0].canvas.get_renderer()
        native = figs[1][0].axes[0].get_legend().get_window_extent(renderer)
        placed = legend.axes._course_legend_image._place(renderer)
        np.testing.assert_allclose(placed, native.p0, atol=0.5)  # same place as "best"
        corners.add(tuple(np.round(native.p0)))
        diff = np.abs(frames[0].astype(int) - frames[1].astype(int)).max(axis=2) > 2
        inside = np.zeros_like(diff)
        height = diff.shape[0]
        x0, y0, x1, y1 = native.padded(2).extents.round().astype(int)
        inside[height - y1:height - y0, x0:x1] = True
        assert not (diff & ~inside).any(), f"frame {k}: pixels differ outside the legend"
        assert diff.sum() < 0.25 * inside.sum(), f"frame {k}: the legend differs"
    assert len(corners) > 1  # the legend did move
    assert snapshot.renders == 1
    buffer = __import__("io").BytesIO()
    figs[0][0].savefig(buffer, format="png")  # saving draws the real artists
    assert snapshot.renders == 1


def test_runs_plot_matches_draw_runs():
    """The live panels show what draw_runs draws: same trajectories, loss curves, labels."""
    from matplotlib.figure import Figure

    obj = functions.rosenbrock()
    opts = {"GD": lambda: optim.sgd(3e-3), "NAG": lambda: optim.sgd(3e-3, momentum=0.9,
                                                                     nesterov=True)}
    old = widgets.draw_runs(obj, {k: m() for k, m in opts.items()}, obj.x0, 300, "race")
    fig = Figure(figsize=(11, 4.2))
    plot = widgets.RunsPlot(fig, obj)
    plot.update(widgets.Runs(obj, {k: m() for k, m in opts.items()}).traces(300), title="race")

    def labelled(ax):
        return {ln.get_label(): ln.get_xydata() for ln in ax.get_lines()
                if not ln.get_label().startswith("_") and ln.get_visible()}

    for a, b in zip(old.axes, fig.axes, strict=True):
        assert a.get_title() == b.get_title()
        assert (a.get_xlabel(), a.get_ylabel()) == (b.get_xlabel(), b.get_ylabel())
        la, lb = labelled(a), labelled(b)
        assert la.keys() == lb.keys() and "NAG (diverged)" in la
        for name in la:
            np.testing.assert_array_equal(la[name], lb[name])
    assert fig.axes[1].get_yscale() == "log"
    np.testing.assert_allclose(fig.axes[1].get_ylim(), old.axes[1].get_ylim())  # as before
    assert not plot.steady and not widgets.is_live(fig)
    steady = widgets.RunsPlot(Figure(figsize=(11, 4.2)), obj, steady=True)
    runs = widgets.Runs(obj, {k: m() for k, m in opts.items()})
    steady.update(runs.traces(300))
    lo, hi = np.log10(steady.right.get_ylim())
    assert lo == int(lo) and hi == int(hi) and steady.right.get_xlim() == (0, 500)
    limits = steady.right.get_ylim()
    steady.update(runs.traces(280))
    assert steady.right.get_ylim() == limits  # still fits: the panel holds still
    steady.update({"GD": runs.traces(300)["GD"]})  # 12 decades less: the limits shrink
    assert np.log10(steady.right.get_ylim())[1] < hi
    plot.update({"GD": np.array([[0.0, 0.0], [0.5, 0.25]])}, title="one")
    assert len(plot.slots) == 2 and not any(a.get_visible() for a in plot.slots[1].values())
    assert [t.get_text() for t in plot.left.get_legend().get_texts()] == ["minimum", "GD"]
