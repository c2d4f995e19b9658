"""Tests for course_lib.widgets: the static fallback draws the defaults; the widget path
builds the sliders and redraws with the new value when one moves."""

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
    assert not widgets.slider("lr", (0.0, 1.0, 0.5)).continuous_update  # redraw on release


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
    assert (ex.controls["x0_1"].value, ex.controls["x0_2"].value) == (1.0, -2.0)
    assert (ex.controls["x0_1"].min, ex.controls["x0_1"].max) == obj.bounds[0]
    ex.controls["x0_2"].value = 0.5
    ax = plt.gcf().axes[0]
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "gd")
    np.testing.assert_allclose(line.get_xydata()[0], [1.0, 0.5])
    assert len(line.get_xydata()) == 6  # x_0 .. x_5


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
