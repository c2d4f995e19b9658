"""Figures for the lectures: contours with trajectories, loss curves, schedules, histograms.

One colour per optimizer, used in every figure of the course (:data:`COLORS`, the Okabe-Ito
colour-blind safe palette; Okabe & Ito, "Color Universal Design", 2008). Variants of the
same method share its colour and differ by line style (:data:`LINESTYLES`). Every function
draws on ``ax`` when given (else on a new figure), sets a title, axis labels and a legend,
and returns the Axes (or the Figure when it draws several panels).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.colors import BoundaryNorm, ListedColormap

__all__ = [
    "COLORS",
    "LINESTYLES",
    "OKABE_ITO",
    "HTMLAnimation",
    "activation_histograms",
    "animate_trajectories",
    "color_for",
    "colors_for",
    "contour",
    "draw_graph",
    "loss_curves",
    "objective_title",
    "plot_1d",
    "plot_schedule",
    "plot_trajectories",
    "show",
    "style_for",
]

#: The eight Okabe-Ito colours (yellow last: weak on white, used only when needed).
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "yellow": "#F0E442",
}
_GREY = "#7F7F7F"

#: One colour per optimizer; families share a colour and differ by line style.
COLORS = {
    "gd": OKABE_ITO["black"],
    "sgd": _GREY,
    "momentum": OKABE_ITO["orange"],
    "nesterov": OKABE_ITO["vermillion"],
    "adagrad": OKABE_ITO["bluish green"],
    "adadelta": OKABE_ITO["bluish green"],
    "rmsprop": OKABE_ITO["sky blue"],
    "adam": OKABE_ITO["blue"],
    "amsgrad": OKABE_ITO["blue"],
    "adamw": OKABE_ITO["reddish purple"],
    "newton": OKABE_ITO["black"],
}
#: One line style per optimizer as well, so that no two curves differ by colour alone (a
#: reader with deuteranopia cannot tell orange from vermillion: momentum and Nesterov).
LINESTYLES = {
    "gd": "-",
    "sgd": "-",
    "momentum": "-",
    "nesterov": "--",
    "adagrad": "-",
    "adadelta": "--",
    "rmsprop": "-.",
    "adam": "-",
    "amsgrad": "--",
    "adamw": ":",
    "newton": "--",
}
_DASHES = ("-", "--", "-.", ":")
_ALIASES = {"gradient descent": "gd", "heavy ball": "momentum", "polyak": "momentum",
            "nag": "nesterov", "sutskever": "nesterov"}
#: Contour background: white at low f to a light blue-grey at high f, so every colour reads.
_BACKGROUND = ListedColormap(plt.get_cmap("bone_r")(np.linspace(0.0, 0.45, 256)), "course_bg")
_CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish green", "vermillion",
                                 "reddish purple", "sky blue", "black", "yellow")]


def _key(name: str) -> str | None:
    """Optimizer key named in `name` ("Adam (lr=0.1)" -> "adam"); the longest match wins."""
    text = re.sub(r"[^a-z]+", " ", str(name).lower())
    found = [(k, text.find(k)) for k in list(COLORS) + list(_ALIASES)
             if re.search(rf"(^|\s){k}", text)]
    if not found:
        return None
    best = min(found, key=lambda kp: (-len(kp[0]), kp[1]))[0]
    return _ALIASES.get(best, best)


def color_for(name: str, default: str | None = None) -> str:
    """Colour of the optimizer named in `name` (case and decorations ignored)."""
    key = _key(name)
    if key is None:
        return default if default is not None else _CYCLE[sum(map(ord, str(name))) % 7]
    return COLORS[key]


def style_for(name: str) -> dict:
    """``{"color": ..., "linestyle": ...}`` for the optimizer named in `name`."""
    key = _key(name)
    return {"color": color_for(name), "linestyle": LINESTYLES.get(key, "-")}


def colors_for(names: Sequence[str]) -> dict[str, dict]:
    """Styles for several curves: optimizers keep their colour and line style (a second curve
    of the same optimizer gets its colour with another line style); other names get unused
    colours and cycle through line styles, so no two curves differ by colour alone."""
    styles, seen = {}, {}
    for n in names:
        key = _key(n)
        if key is None:
            continue
        style = style_for(n)
        repeat = seen.get(key, 0)  # "GD, clipped" after "GD": same colour, another line style
        if repeat:
            start = _DASHES.index(style["linestyle"]) if style["linestyle"] in _DASHES else 0
            style["linestyle"] = _DASHES[(start + repeat) % len(_DASHES)]
        seen[key] = repeat + 1
        styles[n] = style
    used = {s["color"] for s in styles.values()}
    spare = [c for c in _CYCLE if c not in used] or _CYCLE
    others = [n for n in names if n not in styles]
    for i, n in enumerate(others):  # a style as well as a colour: never colour alone
        styles[n] = {"color": spare[i % len(spare)], "linestyle": _DASHES[i % len(_DASHES)]}
    return {n: styles[n] for n in names}


def _axes(ax, figsize=(6.0, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _points(trace) -> np.ndarray:
    """Points of a trace (an object with ``.points`` or an array), non-finite -> NaN."""
    pts = np.array(getattr(trace, "points", trace), dtype=float)
    pts[~np.isfinite(pts)] = np.nan
    return pts


def _grid(objective, n: int, bounds=None):
    (x0, x1), (y0, y1) = bounds if bounds is not None else objective.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    with np.errstate(all="ignore"):
        Z = np.asarray(objective.f(np.stack([X, Y], axis=-1)), dtype=float)
    return X, Y, Z


def _levels(Z: np.ndarray, levels: int, log) -> tuple[np.ndarray, bool]:
    """Contour levels, log-spaced above min(Z) when `log` (or when "auto" finds a wide range)."""
    z = Z[np.isfinite(Z)]
    lo, hi = float(z.min()), float(z.max())
    span, typical = hi - lo, float(np.median(z)) - lo
    if log == "auto":
        log = span > 0 and typical > 0 and span / typical > 20
    if not log or span <= 0:
        return np.linspace(lo, hi if hi > lo else lo + 1, levels), False
    return lo + np.geomspace(span * 1e-4, span, levels), True


def _mark(ax, objective, attr: str, marker: str, label: str) -> None:
    pts = getattr(objective, attr)  # minima or saddles (saddles may be None)
    if pts is None or np.size(pts) == 0:
        return
    pts = np.asarray(pts, dtype=float).reshape(-1, 2)
    ax.plot(pts[:, 0], pts[:, 1], marker, ms=13, mfc="white", mec="black", mew=1.2,
            ls="none", label=label, zorder=8)


def contour(objective, ax=None, levels: int = 25, log="auto", n: int = 200, bounds=None,
            filled: bool = True, mark: bool = True, title: str | None = None,
            xlabel: str = "$x_1$", ylabel: str = "$x_2$", cmap=None, equal: bool = True):
    """Contour plot of a 2-D objective over its bounds, minima (stars) and saddles (crosses).

    ``equal=True`` (the default) scales both axes alike; pass ``False`` only for a plot whose
    axes measure different things.
    ``log=True`` spaces the levels geometrically above min f (Rosenbrock, Beale); "auto"
    does so when the range of f is wide compared with its median. Returns the Axes.
    """
    if objective.dim != 2:
        raise ValueError(f"contour needs a 2-D objective, got dim={objective.dim}")
    if int(levels) < 2:
        raise ValueError(f"Invalid levels: {levels} (must be an int >= 2)")
    ax = _axes(ax)
    X, Y, Z = _grid(objective, n, bounds)
    lv, _ = _levels(Z, int(levels), log)
    if filled:
        cm = _BACKGROUND if cmap is None else plt.get_cmap(cmap)
        ax.contourf(X, Y, Z, levels=lv, cmap=cm, norm=BoundaryNorm(lv, cm.N), extend="max")
    ax.contour(X, Y, Z, levels=lv, colors="0.45", linewidths=0.5)
    if mark:
        _mark(ax, objective, "minima", "*", "minimum")
        _mark(ax, objective, "saddles", "X", "saddle")
    (x0, x1), (y0, y1) = bounds if bounds is not None else objective.bounds
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel=xlabel, ylabel=ylabel,
           title=title if title is not None else objective_title(objective))
    if equal:
        # One unit is as long on both axes, so right angles look like right angles (a
        # gradient is perpendicular to the contour it crosses) and circles look round.
        ax.set_aspect("equal", adjustable="box")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small", framealpha=0.9)
    return ax


def objective_title(objective) -> str:
    """Readable title from an objective's name ("six_hump_camel" -> "Six hump camel")."""
    return str(objective.name).replace("_", " ").capitalize()


def plot_trajectories(objective, traces: Mapping, ax=None, title: str | None = None,
                      markers: bool = True, **contour_kw):
    """Contour of `objective` with one trajectory per entry of `traces` (name -> points/Trace).

    Start points are circles, end points squares; the view stays on the objective's bounds
    so a diverging run leaves the frame instead of shrinking the picture. 1-D objectives are
    drawn with :func:`plot_1d`. Returns the Axes.
    """
    if objective.dim == 1:
        return plot_1d(objective, traces, ax=ax, title=title)
    ax = contour(objective, ax=ax, title=title, **contour_kw)
    for name, style in colors_for(list(traces)).items():
        pts = _points(traces[name]).reshape(-1, 2)
        ax.plot(pts[:, 0], pts[:, 1], lw=1.8, marker="." if markers else None, ms=4,
                label=name, zorder=6, **style)
        ax.plot(*pts[0], "o", color=style["color"], mec="white", ms=8, zorder=7)
        last = pts[np.isfinite(pts).all(axis=1)][-1:]
        ax.plot(last[:, 0], last[:, 1], "s", color=style["color"], mec="white", ms=7, zorder=7)
    ax.legend(loc="best", fontsize="small", framealpha=0.9)
    return ax


def plot_1d(objective, points=None, ax=None, title: str | None = None, n: int = 400,
            xlabel: str = "$x$", ylabel: str = "$f(x)$"):
    """Graph of a 1-D objective; `points` (array or name -> array/Trace) drawn as iterates."""
    ax = _axes(ax)
    lo, hi = objective.bounds
    xs = np.linspace(lo, hi, n)
    with np.errstate(all="ignore"):
        ax.plot(xs, objective.f(xs), color="0.3", lw=1.5, label="$f$")
    minima = np.atleast_1d(np.asarray(objective.minima, dtype=float))
    if minima.size:
        ax.plot(minima, objective.f(minima), "*", ms=13, mfc="white", mec="black", ls="none",
                label="minimum", zorder=8)
    if points is not None:
        traces = points if isinstance(points, Mapping) else {"iterates": points}
        for name, style in colors_for(list(traces)).items():
            x = _points(traces[name]).ravel()
            with np.errstate(all="ignore"):
                ax.plot(x, objective.f(x), marker="o", ms=5, lw=1, label=name, zorder=6, **style)
    ax.set(xlim=(lo, hi), xlabel=xlabel, ylabel=ylabel,
           title=title if title is not None else objective_title(objective))
    ax.legend(fontsize="small")
    return ax


def _series(history) -> np.ndarray:
    """Loss values of a history: an array, a Trace (``.values``) or a History (``.losses``)."""
    for attr in ("values", "losses"):
        if hasattr(history, attr):
            return np.asarray(getattr(history, attr), dtype=float).ravel()
    return np.asarray(history, dtype=float).ravel()


def loss_curves(histories, ax=None, logy: bool = True, xlabel: str = "step",
                ylabel: str = "loss", title: str = "Loss", f_min: float | None = None):
    """One curve per entry of `histories` (name -> losses, Trace or History).

    With `f_min` the curves show the sub-optimality ``f - f_min``, which on a log scale
    makes a linear convergence rate a straight line. Returns the Axes.
    """
    if not isinstance(histories, Mapping):
        histories = {"loss": histories}
    ax = _axes(ax)
    for name, style in colors_for(list(histories)).items():
        y = _series(histories[name])
        y = y - f_min if f_min is not None else y
        y[~np.isfinite(y)] = np.nan
        ax.plot(np.arange(y.size), y, lw=1.8, label=name, **style)
    if logy:
        ax.set_yscale("log", nonpositive="mask")
    label = f"{ylabel} $-$ min" if f_min is not None else ylabel
    ax.set(xlabel=xlabel, ylabel=label + (" (log scale)" if logy else ""), title=title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_schedule(schedules, steps, ax=None, title: str = "Learning-rate schedules",
                  logy: bool = False, xlabel: str = "step", ylabel: str = "learning rate"):
    """Learning rate against step for each schedule (name -> ``step -> lr`` callable).

    `steps` is a number of steps (0 .. steps-1) or an array of step indices.
    """
    if callable(schedules):
        schedules = {"schedule": schedules}
    t = np.arange(int(steps)) if np.ndim(steps) == 0 else np.asarray(steps)
    ax = _axes(ax)
    for name, style in colors_for(list(schedules)).items():
        lr = np.array([float(schedules[name](int(k))) for k in t])
        ax.plot(t, lr, lw=2, label=name, **style)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def activation_histograms(activations, bins: int = 50, axes=None, label: str = "activations",
                          color: str | None = None, title: str = "Activations per layer",
                          value_range=None):
    """One histogram per layer (name -> array, or a list of arrays: "layer 1", ...).

    Call again with the returned ``fig.axes`` and another `label` to overlay a second run
    (e.g. Xavier against a too-small initialisation). Returns the Figure.
    """
    layers = activations if isinstance(activations, Mapping) else {
        f"layer {i + 1}": a for i, a in enumerate(activations)}
    if axes is None:
        fig, axes = plt.subplots(1, len(layers), figsize=(2.6 * len(layers) + 1, 3),
                                 sharey=True, layout="constrained", squeeze=False)
        axes = axes.ravel()
        fig.suptitle(title)
    if color is None:  # a new colour for each overlaid run
        color = color_for(label, default=_CYCLE[len(axes[0].containers) % len(_CYCLE)])
    for ax, (name, a) in zip(axes, layers.items(), strict=True):
        a = np.asarray(a, dtype=float).ravel()
        ax.hist(a, bins=bins, range=value_range, color=color, alpha=0.55,
                label=f"{label} (std {np.std(a):.2g})")
        ax.set(title=str(name), xlabel="value")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("count")
    return axes[0].figure


class HTMLAnimation:
    """An animation as self-contained HTML/JS; notebooks (and static exports) render it."""

    def __init__(self, html: str, frames: int):
        self.html, self.frames = html, frames

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def _xy(objective, trace) -> np.ndarray:
    """Trajectory as (T, 2) plot coordinates: the points in 2-D, (x, f(x)) in 1-D."""
    pts = _points(trace)
    if objective.dim == 1:
        x = pts.ravel()
        with np.errstate(all="ignore"):
            return np.stack([x, np.asarray(objective.f(x), dtype=float)], axis=1)
    return pts.reshape(-1, 2)


def _static_background(objective, names, title, figsize, dpi):
    """Render the still parts once (contour, labels, legend): an RGBA image and the map
    from data to pixel coordinates, so each frame only redraws the moving lines."""
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    if objective.dim == 1:
        plot_1d(objective, ax=ax, title=title)
    else:
        contour(objective, ax=ax, title=title)
    styles = colors_for(names)
    for name, style in styles.items():
        ax.plot([], [], lw=1.8, label=name, **style)
    ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba()).copy()
    to_pixels, box = ax.transData.transform, ax.get_window_extent().bounds
    plt.close(fig)
    return image, to_pixels, box, styles


def animate_trajectories(objective, traces: Mapping, max_frames: int = 40, interval: int = 120,
                         title: str | None = None, figsize=(5.5, 4.2), dpi: int = 80,
                         frame_format: str = "jpeg"):
    """Animate the trajectories of :func:`plot_trajectories` step by step (HTML/JS player).

    At most `max_frames` frames (evenly spaced steps, the last always shown) and JPEG frames
    (``frame_format="png"`` for sharper, 3x larger ones) keep the output small and fast.
    Returns an :class:`HTMLAnimation` (no figure is left open).
    """
    if int(max_frames) < 2:
        raise ValueError(f"Invalid max_frames: {max_frames} (must be an int >= 2)")
    title = title if title is not None else objective_title(objective)
    image, to_px, box, styles = _static_background(objective, list(traces), title, figsize, dpi)
    with np.errstate(all="ignore"):
        paths = {n: np.clip(to_px(_xy(objective, traces[n])), -1e5, 1e5) for n in traces}
    fig, ax, clip = _player_figure(image, box, figsize, dpi)
    draw = _frame_drawer(ax, clip, box, styles, paths)
    frames = _frame_steps(max(len(p) for p in paths.values()), int(max_frames))
    html = _to_jshtml(fig, draw, frames, interval, frame_format)
    return HTMLAnimation(html, len(frames))


def _player_figure(image, box, figsize, dpi):
    """A figure showing only the pre-rendered background, and a clip box for the plot area."""
    fig = plt.figure(figsize=figsize, dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    h, w = image.shape[:2]
    ax.imshow(image, extent=(0, w, 0, h), interpolation="nearest")
    ax.set(xlim=(0, w), ylim=(0, h))
    ax.set_axis_off()
    clip = plt.Rectangle(box[:2], box[2], box[3], transform=ax.transData, visible=False)
    ax.add_patch(clip)
    return fig, ax, clip


def _frame_drawer(ax, clip, box, styles, paths):
    """``draw(k)``: each path up to step k, its head, and the label "step k"."""
    artists = {n: (ax.plot([], [], lw=1.8, clip_path=clip, **st)[0],
                   ax.plot([], [], "o", color=st["color"], mec="white", ms=8, clip_path=clip)[0])
               for n, st in styles.items()}
    label = ax.text(box[0] + 6, box[1] + 6, "", fontsize=9, bbox={"facecolor": "white"})

    def draw(k):
        for name, (line, head) in artists.items():
            p = paths[name][: k + 1]
            line.set_data(p[:, 0], p[:, 1])
            head.set_data(p[-1:, 0], p[-1:, 1])
        label.set_text(f"step {k}")

    return draw


def _frame_steps(length: int, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` evenly spaced steps of ``0 .. length - 1``, the last included."""
    return np.unique(np.linspace(0, length - 1, min(length, max_frames)).round()).astype(int)


def _to_jshtml(fig, draw, frames, interval, frame_format) -> str:
    """The HTML/JS player of ``draw`` over ``frames``; closes ``fig``."""
    anim = animation.FuncAnimation(fig, draw, frames=frames, interval=interval)
    with plt.rc_context({"animation.frame_format": frame_format}):
        html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return html


def draw_graph(value, ax=None):
    """Computation graph of a :class:`course_lib.autodiff.Value` (from ``graph_layout``): one
    box per node (op, label, data, grad), arrows from inputs to the node they feed; no
    Graphviz needed. Returns the Axes."""
    from course_lib.autodiff import graph_layout

    layout = graph_layout(value)
    ax = _axes(ax, figsize=(8, 4))
    box = {"boxstyle": "round", "facecolor": "white", "edgecolor": "0.3"}
    for text, x, y in layout.boxes:
        ax.text(x, y, text, ha="center", va="center", fontsize=8, bbox=box)
    for (x0, y0), (x1, y1) in layout.edges:
        # an edge that skips a column bends, so it does not run through the boxes between
        rad = -0.25 if abs(x1 - x0) > 1 + 1e-9 else 0.0
        ax.annotate("", xy=(x1 - 0.3, y1), xytext=(x0 + 0.3, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.4",
                                "connectionstyle": f"arc3,rad={rad}"})
    xs, ys = [b[1] for b in layout.boxes], [b[2] for b in layout.boxes]
    ax.set(xlim=(min(xs) - 0.6, max(xs) + 0.6), ylim=(min(ys) - 0.6, max(ys) + 0.6),
           title="Computation graph (inputs left, output right)")
    ax.set_axis_off()
    return ax


def show(fig=None) -> None:
    """Display `fig` (default: the current figure) in the notebook as a PNG, then close it.

    ``plt.show()`` and ``display(fig)`` draw nothing but text when the backend is
    non-interactive (``MPLBACKEND=Agg``, as many renderers and CI set it), so lectures call
    this instead: the figure is rendered to PNG here and sent to the front end as an image,
    whatever the backend; closing it stops the inline backend from showing it twice.
    Outside IPython it falls back to ``plt.show()``.
    """
    import io

    fig = plt.gcf() if fig is None else fig
    fig = fig.figure  # an Axes -> its Figure (a Figure is its own .figure)
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        plt.show()
        return
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buffer.getvalue(), format="png"))
