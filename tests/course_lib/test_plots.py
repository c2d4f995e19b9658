"""Tests for course_lib.plots on the Agg backend: every figure draws, is labelled and
uses the course colours; the animation embeds its frames."""

import re
import warnings
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex, to_rgb  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from course_lib import functions, plots  # noqa: E402
from course_lib.plots import COLORS, color_for, colors_for, style_for  # noqa: E402

OPTIMIZERS = ["gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
              "adamw", "amsgrad", "newton"]
# Okabe & Ito (2008), "Color Universal Design", RGB 0-255
OKABE_ITO_RGB = {(0, 0, 0), (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66),
                 (0, 114, 178), (213, 94, 0), (204, 121, 167)}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def rgb255(color) -> tuple:
    return tuple(round(255 * c) for c in to_rgb(color))


def labelled_lines(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None, "axes have no legend"
    return [t.get_text() for t in legend.get_texts()]


def assert_labelled(ax):
    assert ax.get_title(), "missing title"
    assert ax.get_xlabel() and ax.get_ylabel(), "missing axis label"
    assert legend_texts(ax)


# ---------------------------------------------------------------- colours


def test_palette_is_okabe_ito():
    assert {rgb255(c) for c in plots.OKABE_ITO.values()} == OKABE_ITO_RGB


def test_every_optimizer_has_a_colour_blind_safe_colour():
    grey = {(127, 127, 127)}
    for name in OPTIMIZERS:
        assert rgb255(COLORS[name]) in OKABE_ITO_RGB | grey, name


def test_optimizers_shown_together_are_distinguishable():
    # same colour is allowed only for a variant drawn with another line style
    seen = {}
    for name in OPTIMIZERS:
        style = style_for(name)
        key = (to_hex(style["color"]), style["linestyle"])
        assert key not in seen, f"{name} looks like {seen.get(key)}"
        seen[key] = name


@pytest.mark.parametrize(
    ("label", "key"),
    [("Adam", "adam"), ("Adam (lr=0.1)", "adam"), ("AdamW", "adamw"), ("SGD", "sgd"),
     ("GD", "gd"), ("SGD + momentum", "momentum"), ("Nesterov momentum", "nesterov"),
     ("sgd_nesterov", "nesterov"), ("momentum_ema", "momentum"), ("RMSprop", "rmsprop"),
     ("AdaGrad", "adagrad"), ("Newton (damped)", "newton"), ("heavy ball", "momentum"),
     ("AMSGrad", "amsgrad"), ("gradient descent", "gd")],
)
def test_color_for_reads_decorated_names(label, key):
    assert color_for(label) == COLORS[key]


def test_unknown_names_get_deterministic_unused_colours():
    assert color_for("lr = 0.1") == color_for("lr = 0.1")
    assert color_for("whatever", default="#123456") == "#123456"
    styles = colors_for(["adam", "lr=0.1", "lr=0.01", "lr=1"])
    colours = [s["color"] for s in styles.values()]
    assert len(set(colours)) == 4
    assert styles["adam"]["color"] == COLORS["adam"]


# ---------------------------------------------------------------- contour & trajectories


def test_contour_labels_bounds_and_marks():
    obj = functions.double_well()
    ax = plots.contour(obj)
    assert_labelled(ax)
    assert ax.get_title() == "Double well"
    assert ax.get_xlim() == tuple(obj.bounds[0]) and ax.get_ylim() == tuple(obj.bounds[1])
    assert {"minimum", "saddle"} <= set(legend_texts(ax))
    stars = labelled_lines(ax)["minimum"]
    np.testing.assert_allclose(np.c_[stars.get_xdata(), stars.get_ydata()], obj.minima)


def test_log_levels_are_geometric_above_the_minimum():
    Z = np.array([[0.0, 1.0], [10.0, 1e4]])
    levels, used_log = plots._levels(Z, 9, log=True)
    assert used_log
    gaps = levels - Z.min()
    np.testing.assert_allclose(gaps[1:] / gaps[:-1], gaps[1] / gaps[0])
    np.testing.assert_allclose([gaps[0], gaps[-1]], [1.0, 1e4])  # 1e-4 of the span .. span
    linear, used_log = plots._levels(Z, 5, log=False)
    assert not used_log
    np.testing.assert_allclose(linear, np.linspace(0, 1e4, 5))
    assert plots._levels(np.linspace(0, 1, 100).reshape(10, 10), 5, "auto")[1] is False


def test_contour_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        plots.contour(functions.nonconvex_1d())
    with pytest.raises(ValueError, match="levels"):
        plots.contour(functions.booth(), levels=1)


def test_plot_trajectories_draws_each_trace_in_its_colour():
    obj = functions.rosenbrock()
    t = np.linspace(0, 1, 11)[:, None]
    gd = obj.x0 + t * (np.array([1.0, 1.0]) - obj.x0)
    adam = obj.x0 + t * (np.array([0.0, 0.0]) - obj.x0)
    ax = plots.plot_trajectories(obj, {"gd": gd, "Adam (lr=0.1)": adam}, title="Two runs")
    assert_labelled(ax)
    assert ax.get_title() == "Two runs"
    lines = labelled_lines(ax)
    assert {"gd", "Adam (lr=0.1)", "minimum"} <= set(lines)
    assert to_hex(lines["gd"].get_color()) == to_hex(COLORS["gd"])
    assert to_hex(lines["Adam (lr=0.1)"].get_color()) == to_hex(COLORS["adam"])
    np.testing.assert_allclose(lines["gd"].get_xydata(), gd)


class FakeTrace(NamedTuple):
    points: np.ndarray
    values: np.ndarray


def test_trajectories_accept_traces_and_survive_divergence():
    obj = functions.himmelblau()
    pts = np.array([[0.0, 0.0], [10.0, 10.0], [1e200, -1e200], [np.inf, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plots.plot_trajectories(obj, {"sgd": FakeTrace(pts, np.zeros(4))})
        ax.figure.canvas.draw()
    assert ax.get_xlim() == tuple(obj.bounds[0])  # the view stays on the objective


def test_plot_1d_and_1d_trajectories():
    obj = functions.nonconvex_1d()
    x = np.linspace(obj.bounds[0], obj.minima[0], 5)
    ax = plots.plot_1d(obj, {"momentum": x})
    assert_labelled(ax)
    line = labelled_lines(ax)["momentum"]
    np.testing.assert_allclose(line.get_ydata(), obj.f(x))
    assert to_hex(line.get_color()) == to_hex(COLORS["momentum"])
    ax = plots.plot_trajectories(obj, {"gd": x})
    assert "gd" in legend_texts(ax)


# ---------------------------------------------------------------- curves


class FakeHistory(NamedTuple):
    params: dict
    losses: np.ndarray


def test_loss_curves_log_scale_suboptimality_and_history_objects():
    t = np.arange(50)
    losses = {"gd": 1.0 + 0.9**t, "adam": FakeHistory({}, 1.0 + 0.5**t)}
    ax = plots.loss_curves(losses, f_min=1.0)
    assert_labelled(ax)
    assert ax.get_yscale() == "log"
    lines = labelled_lines(ax)
    np.testing.assert_allclose(lines["gd"].get_ydata(), 0.9**t)
    np.testing.assert_allclose(lines["adam"].get_ydata(), 0.5**t)
    assert to_hex(lines["adam"].get_color()) == to_hex(COLORS["adam"])
    ax = plots.loss_curves([3.0, 2.0, 1.0], logy=False, xlabel="epoch")
    assert ax.get_yscale() == "linear" and ax.get_xlabel() == "epoch"


def test_plot_schedule_values_match_the_schedules():
    def step(t):  # halve every 10 steps
        return 0.1 * 0.5 ** (t // 10)

    def warm(t):
        return 0.1 * min(1.0, (t + 1) / 5)

    ax = plots.plot_schedule({"step": step, "warm-up": warm}, 30)
    assert_labelled(ax)
    lines = labelled_lines(ax)
    np.testing.assert_allclose(lines["step"].get_ydata(), [step(t) for t in range(30)])
    np.testing.assert_allclose(lines["warm-up"].get_xdata(), np.arange(30))
    ax = plots.plot_schedule(step, np.array([0, 10, 20]), logy=True)
    np.testing.assert_allclose(labelled_lines(ax)["schedule"].get_ydata(), [0.1, 0.05, 0.025])


def test_activation_histograms_one_panel_per_layer_and_overlay():
    rng = np.random.default_rng(0)
    acts = {"layer 1": rng.normal(size=500), "layer 2": np.tanh(rng.normal(size=500))}
    fig = plots.activation_histograms(acts, label="xavier")
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["layer 1", "layer 2"]
    assert fig.axes[0].get_ylabel() == "count" and fig.axes[1].get_xlabel() == "value"
    fig = plots.activation_histograms([0.1 * a for a in acts.values()], axes=fig.axes,
                                      label="too small")
    texts = legend_texts(fig.axes[0])
    assert texts[0].startswith("xavier (std") and texts[1].startswith("too small (std 0.1")
    first, second = (c.patches[0].get_facecolor() for c in fig.axes[0].containers)
    assert first[:3] != second[:3]


# ---------------------------------------------------------------- animation and graph


def test_animation_embeds_capped_frames_and_closes_its_figures():
    obj = functions.booth()
    t = np.linspace(0, 1, 101)[:, None]
    traces = {"gd": obj.x0 + t * (obj.minima[0] - obj.x0), "adam": obj.x0 + 0 * t[:30]}
    before = plt.get_fignums()
    anim = plots.animate_trajectories(obj, traces, max_frames=12)
    assert plt.get_fignums() == before
    assert anim.frames == 12
    html = anim._repr_html_()
    assert len(re.findall(r"data:image/jpeg;base64,", html)) == 12
    assert "<script" in html and str(anim) == html
    with pytest.raises(ValueError, match="max_frames"):
        plots.animate_trajectories(obj, traces, max_frames=1)


def test_animation_of_a_short_1d_run_uses_every_step():
    obj = functions.nonconvex_1d()
    anim = plots.animate_trajectories(obj, {"gd": np.linspace(-1, 0, 5)}, max_frames=40,
                                      frame_format="png")
    assert anim.frames == 5
    assert anim.html.count("data:image/png;base64,") == 5


def test_draw_graph_one_box_per_node():
    from course_lib.autodiff import Value

    a, b = Value(2.0), Value(-3.0)
    out = (a * b + a).tanh()
    out.backward()
    ax = plots.draw_graph(out)
    assert ax.get_title()
    arrows = [t for t in ax.texts if isinstance(t, Annotation)]
    boxes = [t for t in ax.texts if not isinstance(t, Annotation)]
    assert len(boxes) == 5  # a, b, a*b, a*b + a, tanh
    assert len(arrows) == 5  # a->*, b->*, *->+, a->+, +->tanh
    with pytest.raises(TypeError, match="Value"):
        plots.draw_graph(1.0)


def test_figure_png_is_written(tmp_path):
    obj = functions.six_hump_camel()
    ax = plots.plot_trajectories(obj, {"rmsprop": np.array([obj.x0, [0.0, 0.0]])})
    path = tmp_path / "camel.png"
    ax.figure.savefig(path, dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_related_optimizers_differ_by_line_style_too():
    # momentum/nesterov (orange/vermillion) are close under deuteranopia: style tells them apart
    pairs = [("momentum", "nesterov"), ("gd", "newton"), ("adagrad", "adadelta"),
             ("adam", "amsgrad"), ("adam", "adamw"), ("rmsprop", "adam")]
    for a, b in pairs:
        assert style_for(a)["linestyle"] != style_for(b)["linestyle"], (a, b)


def test_contours_scale_both_axes_alike_unless_asked_not_to():
    ax = plots.contour(functions.rosenbrock())
    assert ax.get_aspect() == 1.0
    ax = plots.contour(functions.rosenbrock(), equal=False)
    assert ax.get_aspect() == "auto"


def test_show_sends_a_png_whatever_the_backend(monkeypatch):
    shown = []
    import IPython
    import IPython.display

    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    plots.show(fig)
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)  # closed: the inline backend will not repeat it


def test_curves_without_an_optimizer_name_differ_by_style_as_well_as_colour():
    styles = colors_for(["B = 1", "B = 8", "B = 64", "B = 512"])
    assert len({s["linestyle"] for s in styles.values()}) == 4
    assert len({s["color"] for s in styles.values()}) == 4


def test_draw_graph_bends_an_edge_that_skips_a_column():
    from course_lib.autodiff import Value

    a, b = Value(2.0), Value(-3.0)
    out = (a * b + a) ** 2  # a feeds `+` directly, skipping the column of a*b
    out.backward()
    ax = plots.draw_graph(out)
    rads = [float(t.arrow_patch.get_connectionstyle().rad) for t in ax.texts
            if isinstance(t, Annotation)]
    assert sum(r != 0 for r in rads) == 1  # a -> + bends, the others stay straight


def test_two_curves_of_one_optimizer_keep_its_colour_but_differ_in_style():
    styles = colors_for(["GD, no clipping", "GD, clipped", "Adam"])
    gd1, gd2 = styles["GD, no clipping"], styles["GD, clipped"]
    assert gd1["color"] == gd2["color"] == COLORS["gd"]
    assert gd1["linestyle"] != gd2["linestyle"]
    assert styles["Adam"] == style_for("Adam")
