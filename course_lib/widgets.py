"""Interactive explorers for the lectures: sliders wired to a live matplotlib figure.

A live explorer draws its figure once and then only changes what the sliders change, so the
figure follows the slider while it is dragged::

    def setup(fig):                          # once: the parts that never change
        ax = fig.subplots()
        ax.set(title="A parabola", xlabel="$x$", ylabel="$f(x)$", xlim=(-2, 2), ylim=(0, 4))
        line, = ax.plot([], [], label="$a x^2$")
        ax.legend()
        return line                          # the "handles" passed to update
    def update(line, a):                     # at every new slider value
        x = np.linspace(-2, 2, 101)
        line.set_data(x, a * x**2)
    live_explorer(setup, update, a=(0.0, 1.0, 0.5))

``setup(fig)`` draws on a new figure and returns whatever ``update`` needs (lines, axes, a
:class:`RunsPlot`); ``update(handles, **values)`` changes the artists (``set_data``,
``set_title``, axis limits) and draws nothing itself. In a notebook with a kernel the figure
is an ipympl canvas (the ``ipympl`` package, matplotlib's widget backend, used for these
figures only: every other figure stays a PNG); sliders send values while they move, and a
new value that arrives while the previous one is still being drawn replaces any value
waiting behind it, so updates never queue up. Costly static parts (contours) are drawn once
and pasted afterwards (:func:`draw_once`).

Slider specifications: ``(min, max, default)`` gives an integer slider when all three are
ints and a float slider otherwise; ``(min, max, step, default)`` sets the step;
``("log", min, max, default)`` a logarithmic slider; a list of options a drop-down (first
option selected); a bool a check box; an ipywidgets widget is used as it is.

Without a front end (environment variable ``COURSE_STATIC_WIDGETS=1``, as in the notebook
tests, or no IPython kernel) the figure is drawn once with the default values and shown as
one PNG (:func:`course_lib.plots.show`): that static figure is all that is shown. Pages
rendered from a notebook run with a kernel but shown without one get that PNG too, beside
the widget.

:func:`explorer` is the older form for any plot function that draws a whole new figure:
it redraws when the slider is released (a full redraw cannot follow the hand).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import warnings
from collections.abc import Callable, Mapping

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from course_lib import plots

__all__ = ["Explorer", "LiveExplorer", "Runs", "RunsPlot", "draw_once", "draw_runs",
           "explorer", "fast_legend", "is_live", "is_static", "live_explorer",
           "momentum_explorer", "slider", "trajectory_explorer"]

_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}


def is_static() -> bool:
    """True when widgets cannot be shown: ``COURSE_STATIC_WIDGETS=1`` or no IPython kernel."""
    if os.environ.get("COURSE_STATIC_WIDGETS", "") not in ("", "0"):
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or getattr(shell, "kernel", None) is None


def _check_range(name: str, lo, hi, default) -> None:
    if not lo < hi:
        raise ValueError(f"Invalid range for slider '{name}': min {lo} must be below max {hi}")
    if not lo <= default <= hi:
        raise ValueError(
            f"Invalid default for slider '{name}': {default} (must be in [{lo}, {hi}])"
        )


def slider(name: str, spec, continuous: bool = True) -> w.ValueWidget:
    """The widget for one slider specification (see the module docstring).

    ``continuous=True``: the slider sends its value while it is dragged (live explorers);
    ``False``: only when it is released (:func:`explorer`).
    """
    style = {"description_width": "initial"}
    common = {"description": name, "continuous_update": bool(continuous), "style": style}
    if isinstance(spec, w.ValueWidget):
        return spec
    if isinstance(spec, bool):
        return w.Checkbox(value=spec, description=name, style=style)
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"Invalid options for '{name}': the list is empty")
        return w.Dropdown(options=spec, value=spec[0], description=name, style=style)
    if isinstance(spec, tuple) and len(spec) == 4 and spec[0] == "log":
        _, lo, hi, default = spec
        _check_range(name, lo, hi, default)
        if lo <= 0:
            raise ValueError(f"Invalid min for log slider '{name}': {lo} (must be > 0)")
        return w.FloatLogSlider(value=default, min=math.log10(lo), max=math.log10(hi),
                                step=0.05, readout_format=".2e", **common)
    if isinstance(spec, tuple) and len(spec) in (3, 4):
        lo, hi, *step, default = spec
        _check_range(name, lo, hi, default)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in spec):
            return w.IntSlider(value=default, min=lo, max=hi, step=step[0] if step else 1,
                               **common)
        step = step[0] if step else (hi - lo) / 100
        return w.FloatSlider(value=default, min=lo, max=hi, step=step, readout_format=".3g",
                             **common)
    raise TypeError(f"Invalid specification for slider '{name}': {spec!r} (see course_lib.widgets)")


def _controls(sliders: Mapping, continuous: bool) -> dict:
    if not sliders:
        raise ValueError("an explorer needs at least one slider (keyword argument)")
    return {name: slider(name, spec, continuous) for name, spec in sliders.items()}


def _slider_row(controls: Mapping) -> w.HBox:
    return w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap"))


# ---------------------------------------------------------------- the older form: redraw all


class Explorer:
    """Sliders wired to a plot function that draws a whole figure; displays as the widget
    (or nothing when static, because the static figure is already shown). ``controls``:
    name -> widget; ``values``: the current values; ``figure``: the static figure."""

    def __init__(self, plot_fn: Callable, controls: Mapping, static: bool):
        self.plot_fn, self.controls, self.static = plot_fn, dict(controls), static
        self.figure, self.output, self.box = None, None, None
        if static:
            result = plot_fn(**self.values)
            self.figure = result if isinstance(result, Figure) else plt.gcf()
            if plt.fignum_exists(getattr(self.figure, "number", -1)):
                plots.show(self.figure)  # one PNG (unless plot_fn showed it already)
        else:
            self.output = w.interactive_output(plot_fn, self.controls)
            self.box = w.VBox([_slider_row(self.controls), self.output])

    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def _ipython_display_(self):
        if self.box is not None:
            from IPython.display import display

            display(self.box)

    def __repr__(self) -> str:
        mode = "static figure" if self.static else "widget"
        return f"Explorer({mode}, {self.values})"


def explorer(plot_fn: Callable, static: bool | None = None, **sliders) -> Explorer:
    """Sliders (one per keyword, see the module docstring) that redraw ``plot_fn(**values)``
    when released. Prefer :func:`live_explorer`, whose figure follows the slider.

    ``static=None`` decides with :func:`is_static`; the static path draws one figure with
    the default values.
    """
    controls = _controls(sliders, continuous=False)
    return Explorer(plot_fn, controls, is_static() if static is None else bool(static))


# ---------------------------------------------------------------- live figures


class _Snapshot(Artist):
    """Stands in for static artists on screen: draws them once, keeps their pixels, and
    pastes those pixels on later draws, until the canvas size, the dpi or ``key()``
    changes. The pixels kept are those of the Axes box and of the artists' own boxes (axis
    ticks and labels, titles). When a figure is saved (PNG, PDF) the Axes draws the
    artists itself."""

    def __init__(self, ax, artists, key=None):
        super().__init__()
        self._ax, self._artists = ax, sorted(artists, key=lambda a: a.get_zorder())
        self._user_key, self._pixels, self._key, self.renders = key, None, None, 0
        for artist in self._artists:
            artist.set_animated(True)  # skipped by the Axes on screen, drawn when saving
        self.set_zorder(self._artists[0].get_zorder())

    def _region(self, renderer):
        from matplotlib.text import Text
        from matplotlib.transforms import Bbox

        boxes = [self._ax.bbox]
        for a in self._artists:
            if a in (self._ax.xaxis, self._ax.yaxis):
                boxes.append(a.get_tightbbox(renderer))
            elif isinstance(a, Text) and a.get_text():
                boxes.append(a.get_window_extent(renderer))
        box = Bbox.union([b for b in boxes if b is not None and b.width > 0])
        fig_box = self._ax.get_figure(root=True).bbox
        return Bbox.intersection(box.padded(2), fig_box) or fig_box

    def draw(self, renderer):
        canvas = self._ax.get_figure(root=True).canvas
        if not self.get_visible() or canvas.is_saving():
            return
        if not hasattr(renderer, "copy_from_bbox"):  # a renderer that cannot paste pixels
            for artist in self._artists:
                artist.draw(renderer)
            return
        key = (renderer.width, renderer.height, tuple(np.round(self._ax.bbox.bounds, 3)),
               None if self._user_key is None else self._user_key())
        if key == self._key:
            renderer.restore_region(self._pixels)
            return
        for artist in self._artists:
            artist.draw(renderer)
        region = self._region(renderer)  # after drawing: the text layouts are cached then
        self._pixels, self._key = renderer.copy_from_bbox(region), key
        self.renders += 1


def draw_once(ax, artists=None, axis: bool = False, key: Callable | None = None) -> _Snapshot:
    """Draw `artists` of `ax` (default: its collections, e.g. a contour) only once on screen
    and paste their pixels on later draws; ``axis=True`` adds the x and y axes (ticks, tick
    labels, axis labels). They are drawn again only when the canvas changes size or when
    ``key()`` (e.g. ``lambda: ax.viewLim.bounds``) returns a new value. Everything under
    them in `ax` (background, grid) is pasted too, so without a `key` the Axes limits must
    not change. Returns the stand-in artist (``renders`` counts the real drawings)."""
    artists = list(ax.collections if artists is None else artists)
    if axis:
        artists += [ax.xaxis, ax.yaxis]
    if not artists:
        raise ValueError("draw_once needs at least one artist (the Axes has no collections)")
    return ax.add_artist(_Snapshot(ax, artists, key))


_CORNERS = [None, "NE", "NW", "SW", "SE", "E", "W", "E", "S", "N", "C"]  # legend loc codes


class _LegendImage(Artist):
    """Stands in for an Axes legend on screen: renders the legend once into an image and
    pastes it (alpha-blended, so what lies under its frame still shows through) at the
    place the legend would take; with ``loc="best"`` that place is chosen at every draw
    as matplotlib chooses it (fewest line vertices inside, fewest lines crossing, lowest
    location code on a tie). Laying out a legend's text costs more than the rest of a
    frame together. When the figure is saved the legend draws itself."""

    def __init__(self, legend, loc: int):
        super().__init__()
        self.legend, self.loc, self._image, self._key = legend, loc, None, None
        legend.set_animated(True)
        self.set_zorder(legend.get_zorder())

    def _render(self, renderer) -> None:
        from matplotlib.backends.backend_agg import RendererAgg

        offscreen = RendererAgg(renderer.width, renderer.height, renderer.dpi)
        self.legend.draw(offscreen)
        box = self.legend.legendPatch.get_bbox()  # the box the location code places
        alpha = np.asarray(offscreen.buffer_rgba())[..., 3]
        rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
        if rows.size == 0:
            self._image = None
            return
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        self._image = np.asarray(offscreen.buffer_rgba())[top:bottom, left:right].copy()
        self._size = (box.width, box.height)
        # where the image's lower-left corner lies relative to the box's
        self._shift = (left - box.x0, (renderer.height - bottom) - box.y0)

    def _place(self, renderer):
        from matplotlib.transforms import Bbox

        legend, ax = self.legend, self.legend.axes
        pad = legend.borderaxespad * renderer.points_to_pixels(legend.prop.get_size_in_points())
        parent = legend.get_bbox_to_anchor().padded(-pad, -pad)
        box = Bbox.from_bounds(0, 0, *self._size)
        codes = range(1, 11) if self.loc == 0 else [self.loc]
        if len(codes) == 1:
            return box.anchored(_CORNERS[self.loc], container=parent).p0
        paths = [line.get_transform().transform_path(line.get_path()) for line in ax.lines]
        best = None
        for code in codes:
            x0, y0 = box.anchored(_CORNERS[code], container=parent).p0
            where = Bbox.from_bounds(x0, y0, *self._size)
            badness = (sum(where.count_contains(p.vertices) for p in paths)
                       + sum(p.intersects_bbox(where, filled=False) for p in paths))
            if best is None or badness < best[0]:
                best = (badness, (x0, y0))
            if badness == 0:
                break
        return best[1]

    def draw(self, renderer):
        canvas = self.legend.axes.get_figure(root=True).canvas
        if not self.get_visible() or not self.legend.get_visible() or canvas.is_saving():
            return
        if not hasattr(renderer, "buffer_rgba"):  # not an Agg renderer: the legend draws
            self.legend.draw(renderer)
            return
        key = (renderer.width, renderer.height, renderer.dpi,
               tuple(t.get_text() for t in self.legend.get_texts()))
        if key != self._key:
            self._render(renderer)
            self._key = key
        if self._image is None:
            return
        x0, y0 = self._place(renderer)
        gc = renderer.new_gc()
        renderer.draw_image(gc, round(x0 + self._shift[0]), round(y0 + self._shift[1]),
                            self._image[::-1])
        gc.restore()


def fast_legend(ax, loc="best", **kwargs):
    """``ax.legend(loc=loc, **kwargs)`` whose pixels are rendered once and then pasted at
    every screen draw (placed anew with ``loc="best"``); a figure being saved draws the
    legend itself. Call it again when the entries change; a new text for an entry
    (``legend.get_texts()[i].set_text(...)``) is rendered anew by itself. Returns the
    legend."""
    from matplotlib.legend import Legend

    old = getattr(ax, "_course_legend_image", None)
    if old is not None:
        old.remove()
    legend = ax.legend(loc=loc, **kwargs)
    code = Legend.codes[loc] if isinstance(loc, str) else int(loc)
    ax._course_legend_image = ax.add_artist(_LegendImage(legend, code))
    return legend


class _Latest:
    """Calls ``fn(values)`` for the newest values only: a value that arrives while ``fn`` is
    running (from an event handled inside it) replaces any value still waiting, and is
    handled when ``fn`` returns; older waiting values are dropped, never queued."""

    def __init__(self, fn: Callable):
        self.fn, self.pending, self.busy, self.calls, self.dropped = fn, None, False, 0, 0

    def submit(self, values) -> None:
        if self.pending is not None:
            self.dropped += 1
        self.pending = values
        if self.busy:
            return
        self.busy = True
        try:
            while self.pending is not None:
                values, self.pending = self.pending, None
                self.calls += 1
                self.fn(values)
        finally:
            self.busy = False


_FIGURE_NUMBERS = itertools.count(1)
#: Width in pixels of a live figure (ipympl draws at the figure's size, unscaled): it fits
#: JupyterLab's output area in a 1280-pixel-wide window with the file browser open.
LIVE_WIDTH = 860


def _import_ipympl():
    """Import ipympl's backend module without its side effect: importing the ``ipympl``
    package calls ``matplotlib.use`` and so turns every later pyplot figure into a widget.
    Here only the explorers' own figures are widgets; the others stay PNGs."""
    import sys

    import matplotlib

    if "ipympl.backend_nbagg" not in sys.modules:
        use = matplotlib.use
        matplotlib.use = lambda *args, **kwargs: None
        try:
            import ipympl.backend_nbagg  # noqa: F401
        finally:
            matplotlib.use = use
    return sys.modules["ipympl.backend_nbagg"]


@functools.cache
def _canvas_class():
    """ipympl's canvas widget, encoding its frames with fast PNG compression: a frame holds
    only the pixels that changed, and compressing it as hard as matplotlib does costs a
    third of a frame's time for a few kilobytes less on a local connection."""
    from io import BytesIO

    from PIL import Image

    Canvas = _import_ipympl().Canvas  # noqa: N806 - a class

    class LiveCanvas(Canvas):
        def get_diff_image(self):
            # matplotlib's FigureCanvasWebAggCore.get_diff_image with compress_level=1
            if not self._png_is_old:
                return None
            pixels = np.asarray(self.get_renderer().buffer_rgba())
            buff = pixels.view(np.uint32).squeeze(2)
            if (self._force_full or buff.shape != self._last_buff.shape
                    or (pixels[:, :, 3] != 255).any()):
                self.set_image_mode("full")
                output = buff
            else:
                self.set_image_mode("diff")
                output = np.where(buff != self._last_buff, buff, 0)
            self._last_buff = buff.copy()
            self._force_full = False
            self._png_is_old = False
            data = output.view(dtype=np.uint8).reshape((*output.shape, 4))
            with BytesIO() as png:
                Image.fromarray(data).save(png, format="png", compress_level=1)
                return png.getvalue()

    return LiveCanvas


def _live_canvas(fig: Figure):
    """Attach ipympl's canvas (a widget that ships only the changed pixels) to `fig`.
    The figure is not registered with pyplot, so other figures keep the notebook's backend."""
    FigureManager = _import_ipympl().FigureManager  # noqa: N806 - a class
    canvas = _canvas_class()(fig)
    with warnings.catch_warnings():  # ipympl's toolbar passes traitlets an old-style argument
        warnings.filterwarnings("ignore", "Passing unrecognized arguments", DeprecationWarning)
        FigureManager(canvas, next(_FIGURE_NUMBERS))  # answers the front end's messages
    canvas.header_visible = False
    canvas.footer_visible = False
    canvas.toolbar_visible = False
    canvas.resizable = False
    canvas.capture_scroll = False
    return canvas


def is_live(fig) -> bool:
    """True when `fig` is drawn on a live explorer's canvas (an ipympl widget)."""
    return _canvas_class.cache_info().currsize > 0 and isinstance(fig.canvas, _canvas_class())


def _png_bytes(fig: Figure) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    return buffer.getvalue()


class LiveExplorer:
    """A live figure and its sliders (see the module docstring).

    ``controls``: name -> widget; ``values``: the current values; ``figure``: the figure;
    ``handles``: what ``setup`` returned; ``box``: the widget (None when static).
    ``set(**values)`` moves sliders from code (as a student does) and ``refresh(**values)``
    updates the artists without drawing (benchmarks time the draw separately).
    """

    def __init__(self, setup: Callable, update: Callable, controls: Mapping, static: bool,
                 figsize=(11, 4.2)):
        self.controls, self.static, self.update_fn = dict(controls), static, update
        self.box, self.updates = None, 0
        dpi = plt.rcParams["figure.dpi"]
        if not static:  # a canvas is not scaled to fit the page as an image is: fit it here
            dpi = min(dpi, LIVE_WIDTH / figsize[0])
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        if not static:
            _live_canvas(self.figure)
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(self.figure)
        self.handles = setup(self.figure)
        self.refresh()
        if static:
            plots.show(self.figure)  # one PNG with the default values
            return
        self._freeze_layout()
        self._latest = _Latest(self._redraw)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.box = w.VBox([_slider_row(self.controls), self.figure.canvas])

    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    @property
    def canvas(self):
        return self.figure.canvas

    def refresh(self, **values) -> None:
        """Run ``update`` with the current slider values (overridden by `values`)."""
        self.update_fn(self.handles, **{**self.values, **values})
        self.updates += 1

    def set(self, **values) -> None:
        """Move sliders as a student does: each new value updates the figure."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"Unknown sliders {sorted(unknown)}; this explorer has "
                             f"{sorted(self.controls)}")
        for name, value in values.items():
            self.controls[name].value = value

    def _on_change(self, _change) -> None:
        self._latest.submit(self.values)

    def _redraw(self, values: dict) -> None:
        self.refresh(**values)
        self.figure.canvas.draw_idle()  # ipympl: asks the front end to request a frame

    def _freeze_layout(self) -> None:
        """Lay the figure out once (constrained layout), then keep that layout: running the
        layout engine at every frame would cost more than drawing the frame."""
        engine = self.figure.get_layout_engine()
        if engine is not None and engine.__class__.__name__ != "PlaceHolderLayoutEngine":
            engine.execute(self.figure)
            self.figure.set_layout_engine("none")

    def _repr_mimebundle_(self, **kwargs):
        if self.box is None:
            return None
        bundle = self.box._repr_mimebundle_(**kwargs)
        # Renderers without the widget (a page exported from a run notebook) show the PNG.
        import base64

        bundle["image/png"] = base64.b64encode(_png_bytes(self.figure)).decode("ascii")
        return bundle

    def _ipython_display_(self):
        if self.box is not None:
            from IPython.display import display

            display(self._repr_mimebundle_(), raw=True)

    def __repr__(self) -> str:
        mode = "static figure" if self.static else "live figure"
        return f"LiveExplorer({mode}, {self.values})"


def live_explorer(setup: Callable, update: Callable, figsize=(11, 4.2),
                  static: bool | None = None, **sliders) -> LiveExplorer:
    """A figure drawn by ``setup(fig)`` once and changed by ``update(handles, **values)`` at
    every slider value (one slider per keyword, see the module docstring).

    ``static=None`` decides with :func:`is_static`; the static path draws the figure once
    with the default values and shows it as a PNG.
    """
    controls = _controls(sliders, continuous=True)
    try:
        _import_ipympl()
    except ImportError:  # pragma: no cover - ipympl is a dependency of the course
        static = True
    return LiveExplorer(setup, update, controls, is_static() if static is None else bool(static),
                        figsize)


# ---------------------------------------------------------------- optimizer runs


class _Trace:
    """The iterates of one run, as ``train.Trace`` has them (points, values, grad_norms)."""

    def __init__(self, points, values, grad_norms, diverged):
        self.points, self.values, self.grad_norms = points, values, grad_norms
        self.converged, self.diverged = False, diverged


def _row_norms(g: np.ndarray) -> np.ndarray:
    """||g||_2 per row as ``train.minimize`` computes it (scaled by the largest entry)."""
    g = np.abs(g.reshape(len(g), -1))
    m = g.max(axis=1, initial=0.0)
    with np.errstate(**_QUIET):
        scaled = m * np.sqrt(np.sum((g / np.where(m > 0, m, 1.0)[:, None]) ** 2, axis=1))
    return np.where((m == 0) | ~np.isfinite(m), m, scaled)


class Runs:
    """Several optimizers (name -> ``Transform``) from one start on one objective, stepped
    together; ``traces(steps)`` returns what ``train.minimize(objective, x0, opt, steps)``
    returns for each (same iterates, same stop at a non-finite value), taking only the steps
    not taken yet: a longer `steps` extends the runs, a shorter one cuts them.

    One vectorised gradient call per step serves all the runs, and ``f`` is evaluated once
    for all iterates at the end (it does not steer the iterates; a run is cut at its first
    non-finite value, as ``minimize`` stops there): this is what makes the lecture
    explorers fast enough to follow a slider.
    """

    def __init__(self, objective, optimizers: Mapping, x0=None):
        if not optimizers:
            raise ValueError("Runs needs at least one optimizer (name -> Transform)")
        self.objective, self.names = objective, list(optimizers)
        self.optimizers = [optimizers[n] for n in self.names]
        start = np.array(objective.x0 if x0 is None else x0, dtype=np.float64)
        expected = () if objective.dim == 1 else (objective.dim,)
        if start.shape != expected:
            raise ValueError(f"x0 must have shape {expected} for this {objective.dim}-D "
                             f"objective, got {start.shape}")
        k = len(self.names)
        self._x = np.repeat(start[None], k, axis=0)  # current iterate of each run
        with np.errstate(**_QUIET):
            self._g = np.asarray(objective.grad(self._x), dtype=np.float64).reshape(self._x.shape)
            f0 = float(np.asarray(objective.f(start), dtype=np.float64))
        if not (np.isfinite(f0) and np.isfinite(_row_norms(self._g[:1]))[0]):
            raise ValueError(f"f or its gradient is not finite at x0 = {start}")
        self._states = [opt.init(start.copy()) for opt in self.optimizers]
        self._points = [[start.copy()] for _ in self.names]
        self._grads = [[self._g[i].copy()] for i in range(k)]
        self._active = list(range(k))  # runs whose iterates and gradients are finite
        self.steps_taken = 0

    def _extend(self, steps: int) -> None:
        with np.errstate(**_QUIET):
            while self.steps_taken < steps and self._active:
                active = self._active
                x_new = np.empty((len(active), *self._x.shape[1:]))
                for row, i in enumerate(active):
                    updates, self._states[i] = self.optimizers[i].update(
                        self._g[i], self._states[i], self._x[i])
                    x_new[row] = self._x[i] + updates  # x_{t+1} = x_t + u_t
                g_new = np.asarray(self.objective.grad(x_new), dtype=np.float64)
                g_new = g_new.reshape(x_new.shape)
                finite = np.isfinite(np.concatenate(
                    [x_new.reshape(len(active), -1), g_new.reshape(len(active), -1)], axis=1,
                )).all(axis=1)
                if not finite.all():
                    self._active = [i for row, i in enumerate(active) if finite[row]]
                for row, i in enumerate(active):
                    if finite[row]:
                        self._x[i], self._g[i] = x_new[row], g_new[row]
                        self._points[i].append(x_new[row])
                        self._grads[i].append(g_new[row])
                self.steps_taken += 1

    def traces(self, steps: int) -> dict:
        """name -> trace of at most `steps` updates (``points``, ``values``, ``grad_norms``,
        ``diverged``), as ``train.minimize`` without a tolerance."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"Invalid steps: {steps!r} (must be an int >= 0)")
        steps = int(steps)
        self._extend(steps)
        out = {}
        with np.errstate(**_QUIET):
            for i, name in enumerate(self.names):
                pts = np.array(self._points[i][: steps + 1])
                values = np.asarray(self.objective.f(pts), dtype=np.float64).reshape(len(pts))
                norms = _row_norms(np.array(self._grads[i][: steps + 1]))
                bad = np.flatnonzero(~(np.isfinite(values) & np.isfinite(norms)))
                n = int(bad[0]) if bad.size else len(pts)  # minimize stops before x_n
                out[name] = _Trace(pts[:n], values[:n], norms[:n], diverged=n - 1 < steps)
        return out


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                              "\u2077\u2078\u2079")


def _power_of_ten(value, _pos=None) -> str:
    """A log-axis tick label as plain text, 10 with a superscript exponent (``10⁻⁸``): it
    reads like matplotlib's typeset label and costs no mathtext parse for a new decade."""
    if not value > 0 or not math.isfinite(value):
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:.0e}"
    return "10" + str(round(exponent)).translate(_SUPERSCRIPT)


class RunsPlot:
    """Trajectories on the contour of a 2-D objective (or the graph of a 1-D one) beside
    their loss curves, as :func:`draw_runs` draws them, but drawn once and updated in place
    by :meth:`update`: the handles of a :func:`live_explorer`.

    ``f_min``: subtracted from the loss curves, which then use a log scale (default: the
    objective's known minimum value, if any). Titles, labels and `bounds` as in
    :func:`course_lib.plots.plot_trajectories` and :func:`course_lib.plots.loss_curves`.
    """

    def __init__(self, fig: Figure, objective, *, title: str | None = None, bounds=None,
                 markers: bool = True, xlabel: str = "$x_1$", ylabel: str = "$x_2$",
                 loss_title: str = "Loss against step", loss_xlabel: str = "step",
                 loss_ylabel: str = "$f(x_t)$", f_min="auto", logy: bool | None = None,
                 steady: bool | None = None):
        self.objective, self.markers = objective, markers
        # steady loss axes (round limits that change seldom) on a live canvas; a figure
        # drawn once (the static fallback) scales them to the curves as draw_runs does
        self.steady = is_live(fig) if steady is None else bool(steady)
        self.f_min = getattr(objective, "f_min", None) if f_min == "auto" else f_min
        self.logy = self.f_min is not None if logy is None else bool(logy)
        self.left, self.right = fig.subplots(1, 2)
        self.one_d = getattr(objective, "dim", 2) == 1
        if self.one_d:
            plots.plot_1d(objective, ax=self.left, title=title)
        else:
            plots.contour(objective, ax=self.left, bounds=bounds, title=title, xlabel=xlabel,
                          ylabel=ylabel)
            self.background = draw_once(self.left, axis=True)
        if self.logy:
            self.right.set_yscale("log", nonpositive="mask")
            if self.steady:  # plain-text labels (a new decade costs no typesetting) and
                # no minor ticks (drawing them doubles the cost of new limits)
                from matplotlib.ticker import FuncFormatter, NullLocator

                self.right.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
                self.right.yaxis.set_minor_locator(NullLocator())
        label = f"{loss_ylabel} $-$ min" if self.f_min is not None else loss_ylabel
        self.right.set(xlabel=loss_xlabel, ylabel=label + (" (log scale)" if self.logy else ""),
                       title=loss_title)
        self.right.grid(True, which="major", alpha=0.3)
        for ax in (self.left, self.right):
            # A fixed title position: finding it anew at every frame measures the tick labels.
            ax.set_title(ax.get_title(), y=1.0)
        # The loss panel's grid, ticks and labels change only with its limits, which are
        # rounded (to decades on a log scale) so that they seldom change during a drag.
        self.right_background = draw_once(self.right, [self.right.title], axis=True,
                                          key=lambda: tuple(self.right.viewLim.bounds))
        self.slots: list[dict] = []
        self._labels, self._entries, self._ylim = None, None, None

    def _slot(self, i: int) -> dict:
        while len(self.slots) <= i:
            left, right = self.left, self.right
            if self.one_d:
                path = left.plot([], [], marker="o", ms=5, lw=1, zorder=6)[0]
            else:
                path = left.plot([], [], lw=1.8, marker="." if self.markers else None, ms=4,
                                 zorder=6)[0]
            self.slots.append({
                "path": path,
                "start": left.plot([], [], "o", mec="white", ms=8, zorder=7)[0],
                "end": left.plot([], [], "s", mec="white", ms=7, zorder=7)[0],
                "loss": right.plot([], [], lw=1.8)[0],
            })
        return self.slots[i]

    def _xy(self, trace) -> np.ndarray:
        pts = np.array(getattr(trace, "points", trace), dtype=float)
        pts[~np.isfinite(pts)] = np.nan
        if self.one_d:
            x = pts.ravel()
            with np.errstate(**_QUIET):
                return np.stack([x, np.asarray(self.objective.f(x), dtype=float)], axis=1)
        return pts.reshape(-1, 2)

    def update(self, traces: Mapping, title: str | None = None,
               losses: Mapping | None = None) -> None:
        """Show `traces` (label -> ``Trace`` or array of points; "(diverged)" is added to
        the label of a diverged trace). `losses` (label -> values) replaces the curves
        computed from the traces (``f(x_t)``, minus ``f_min``)."""
        labels = [f"{n} (diverged)" if getattr(t, "diverged", False) else n
                  for n, t in traces.items()]
        styles = plots.colors_for(labels)
        for i, ((name, trace), label) in enumerate(zip(traces.items(), labels, strict=True)):
            y = self._loss_values(trace, None if losses is None else losses[name])
            self._show_run(self._slot(i), self._xy(trace), y, label, styles[label])
        for slot in self.slots[len(traces):]:  # fewer runs than last time: hide the rest
            for artist in slot.values():
                artist.set_visible(False)
                artist.set_label("_hidden")
        if title is not None:
            self.left.title.set_text(title)
        self._update_legends(labels, styles)
        self._rescale_losses()

    def _loss_values(self, trace, given) -> np.ndarray:
        """The loss curve of one run: `given`, else f(x_t) (minus ``f_min``); NaN where not
        finite."""
        if given is not None:
            y = np.array(given, dtype=float).ravel()
        else:
            with np.errstate(**_QUIET):
                y = np.array(trace.values if hasattr(trace, "values")
                             else self.objective.f(np.asarray(trace)), dtype=float).ravel()
                if self.f_min is not None:
                    y = y - self.f_min
        y[~np.isfinite(y)] = np.nan
        return y

    def _show_run(self, slot: dict, xy: np.ndarray, y: np.ndarray, label: str,
                  style: dict) -> None:
        """Path, start, end (last finite point) and loss curve of one run, in its style."""
        finite = xy[np.isfinite(xy).all(axis=1)]
        for key, data in (("path", xy), ("start", xy[:1]), ("end", finite[-1:])):
            slot[key].set_data(data[:, 0], data[:, 1])
            slot[key].set_color(style["color"])
            slot[key].set_visible(True)
        slot["path"].set_linestyle(style["linestyle"])
        slot["path"].set_label(label)
        slot["loss"].set_data(np.arange(y.size), y)
        slot["loss"].set(color=style["color"], linestyle=style["linestyle"], label=label,
                         visible=True)

    def _update_legends(self, labels: list, styles: dict) -> None:
        """New legends only when the entries change; new texts only when the names do."""
        entries = [tuple(styles[label].values()) for label in labels]
        if entries != self._entries:
            fast_legend(self.left, loc="best", fontsize="small", framealpha=0.9)
            fast_legend(self.right, loc="best", fontsize="small")
            self._entries = entries
        elif labels != self._labels:  # same lines, new names: only the texts change
            for ax in (self.left, self.right):
                texts = ax.get_legend().get_texts()[-len(labels):]
                for text, label in zip(texts, labels, strict=True):
                    text.set_text(label)
        self._labels = labels

    def _rescale_losses(self) -> None:
        """Loss panel limits, in round numbers so that the panel holds still during a drag:
        x from 0 to the next 1, 2 or 5 times a power of ten after the last step; y to whole
        decades on a log scale (a decade more on a side the curves outgrew), kept while the
        curves fit in them and leave at most three decades empty (on a linear scale: while
        the curves fill a quarter of them)."""
        if not self.steady:
            self.right.relim(visible_only=True)
            self.right.autoscale_view()
            return
        curves = [s["loss"] for s in self.slots if s["loss"].get_visible()]
        last = max(max((len(c.get_xdata()) for c in curves), default=0) - 1, 1)
        decade = 10.0 ** math.floor(math.log10(last))
        right = next(m * decade for m in (1, 2, 5, 10) if m * decade >= last)
        if self.right.get_xlim() != (0, right):
            self.right.set_xlim(0, right)
        y = np.concatenate([np.asarray(c.get_ydata(), dtype=float) for c in curves] or [[]])
        y = y[np.isfinite(y) & (y > 0 if self.logy else True)]
        if y.size == 0:
            return
        lo, hi = float(y.min()), float(y.max())
        if self.logy:
            # whole decades, within what the tick locator can reach without overflow
            lo, hi = max(math.floor(math.log10(lo)), -150), min(math.ceil(math.log10(hi)), 150)
            lo = min(lo, hi - 2)  # at least two decades: every label is a power of ten
            old = np.log10(self.right.get_ylim()) if self._ylim is not None else None
            fits = old is not None and old[0] <= lo and hi <= old[1] and (
                old[1] - old[0] <= hi - lo + 3)
            if old is not None and not fits and old[1] - old[0] <= hi - lo + 3:
                # growing: a decade of room on the side that grew, for the next moves
                lo, hi = lo - (lo < old[0]), hi + (hi > old[1])
            new = (10.0 ** lo, 10.0 ** hi)
        else:
            pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
            lo, hi = lo - pad, hi + pad
            old = self.right.get_ylim() if self._ylim is not None else None
            fits = old is not None and old[0] <= lo and hi <= old[1] and (
                old[1] - old[0] <= 4 * (hi - lo))
            new = (lo, hi)
        if not fits:
            self.right.set_ylim(*new)
            self._ylim = new


def draw_runs(objective, optimizers: Mapping, x0, steps: int, title: str):
    """Run each optimizer (name -> Transform) with ``train.minimize``; draw the trajectories
    beside the loss curves (sub-optimality on a log scale when the minimum value is known)
    on a new pyplot figure, which is returned."""
    from course_lib.train import minimize

    traces = {}
    for name, opt in optimizers.items():
        trace = minimize(objective, x0, opt, int(steps))
        traces[f"{name} (diverged)" if trace.diverged else name] = trace
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plots.plot_trajectories(objective, traces, ax=left, title=title)
    f_min = getattr(objective, "f_min", None)
    plots.loss_curves(traces, ax=right, logy=f_min is not None, f_min=f_min,
                      ylabel="$f(x_t)$", title="Loss against step")
    return fig


# ---------------------------------------------------------------- ready-made explorers


def _start_sliders(objective, start) -> dict:
    """Sliders for the start point, over the objective's plotting bounds."""
    x0 = np.asarray(objective.x0 if start is None else start, dtype=float)
    if objective.dim == 1:
        lo, hi = objective.bounds
        return {"x0": (float(lo), float(hi), float(x0))}
    if x0.shape != (2,):
        raise ValueError(f"Invalid start: shape {x0.shape} (trajectory explorers need 2 numbers)")
    return {f"x0_{i + 1}": (float(lo), float(hi), float(v))
            for i, ((lo, hi), v) in enumerate(zip(objective.bounds, x0, strict=True))}


def _steps_slider(steps) -> dict:
    return {"steps": steps} if isinstance(steps, tuple) else {}


def _start(objective, values: dict):
    if objective.dim == 1:
        return float(values.pop("x0"))
    return (float(values.pop("x0_1")), float(values.pop("x0_2")))


def _runs_explorer(objective, make_optimizers: Callable, steps, static, sliders) -> LiveExplorer:
    """A :class:`RunsPlot` explorer: ``make_optimizers(**values)`` -> name -> Transform for
    the slider values other than the start and the steps. The runs of the last few settings
    are kept, so that moving only the steps slider extends or cuts them."""
    cache: dict = {}

    def update(plot, **values):
        n = values.pop("steps", steps)
        x0 = _start(objective, values)
        key = (x0, *sorted(values.items()))
        if key not in cache:
            if len(cache) >= 4:
                cache.pop(next(iter(cache)))
            cache[key] = Runs(objective, make_optimizers(**values), x0)
        title = f"{plots.objective_title(objective)}, lr = {values['lr']:.3g}"
        plot.update(cache[key].traces(int(n)), title=title)

    return live_explorer(lambda fig: RunsPlot(fig, objective), update, static=static, **sliders)


def trajectory_explorer(objective, optimizers: Mapping, lr=(1e-4, 1.0, 1e-2), start=None,
                        steps=50, static: bool | None = None) -> LiveExplorer:
    """Contour + live trajectories and loss curves; sliders for the learning rate (log scale,
    ``lr=(min, max, default)``), the start point and, when `steps` is a tuple, the steps.

    `optimizers` maps a name to a factory ``lr -> Transform``, e.g. ``{"gd": optim.gd}``.
    """
    if not optimizers:
        raise ValueError("optimizers must name at least one optimizer factory")
    lo, hi, default = lr

    def make(lr):
        return {name: factory(lr) for name, factory in optimizers.items()}

    return _runs_explorer(objective, make, steps, static,
                          {"lr": ("log", lo, hi, default), **_start_sliders(objective, start),
                           **_steps_slider(steps)})


def momentum_explorer(objective, lr=(1e-4, 1.0, 1e-2), momentum=(0.0, 0.99, 0.9), start=None,
                      steps=50, nesterov: bool = False, static: bool | None = None) -> LiveExplorer:
    """Gradient descent beside SGD with momentum (PyTorch form, optionally Nesterov) on
    `objective`; sliders for the learning rate (log scale), the momentum and the start."""
    from course_lib import optim

    lo, hi, default = lr
    label = "nesterov" if nesterov else "momentum"

    def make(lr, momentum):
        opts = {"gd": optim.sgd(lr)}
        if momentum > 0:
            opts[f"{label} ({momentum:.2f})"] = optim.sgd(lr, momentum=momentum,
                                                         nesterov=nesterov)
        return opts

    return _runs_explorer(objective, make, steps, static,
                          {"lr": ("log", lo, hi, default), "momentum": momentum,
                           **_start_sliders(objective, start), **_steps_slider(steps)})
