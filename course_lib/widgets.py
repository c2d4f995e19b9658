"""Interactive explorers for the lectures: sliders that redraw a matplotlib figure.

Build one from any plot function in a few lines::

    def show(lr, batch_size):
        ...  # draw with matplotlib
    explorer(show, lr=("log", 1e-4, 1.0, 1e-2), batch_size=(1, 256, 32))

Slider specifications: ``(min, max, default)`` gives an integer slider when all three are
ints and a float slider otherwise; ``(min, max, step, default)`` sets the step;
``("log", min, max, default)`` a logarithmic slider; a list of options a drop-down (first
option selected); a bool a check box; an ipywidgets widget is used as it is.

Without a front end (environment variable ``COURSE_STATIC_WIDGETS=1``, as in the notebook
tests, or no IPython kernel) the plot function is called once with the default values and
that static figure is all that is shown.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np

from course_lib import plots

__all__ = ["Explorer", "draw_runs", "explorer", "is_static", "momentum_explorer", "slider",
           "trajectory_explorer"]


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


def slider(name: str, spec) -> w.ValueWidget:
    """The widget for one slider specification (see the module docstring)."""
    style = {"description_width": "initial"}
    common = {"description": name, "continuous_update": False, "style": style}
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


class Explorer:
    """Sliders wired to a plot function; displays as the widget (or nothing when static,
    because the static figure is already drawn). ``controls``: name -> widget;
    ``values``: the current values; ``figure``: the static figure (static mode only)."""

    def __init__(self, plot_fn: Callable, controls: Mapping, static: bool):
        self.plot_fn, self.controls, self.static = plot_fn, dict(controls), static
        self.figure, self.output, self.box = None, None, None
        if static:
            result = plot_fn(**self.values)
            self.figure = result if isinstance(result, plt.Figure) else plt.gcf()
        else:
            self.output = w.interactive_output(plot_fn, self.controls)
            self.box = w.VBox([w.HBox(list(self.controls.values()),
                                      layout=w.Layout(flex_flow="row wrap")), self.output])

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
    """Sliders (one per keyword, see the module docstring) that redraw ``plot_fn(**values)``.

    ``static=None`` decides with :func:`is_static`; the static path draws one figure with
    the default values.
    """
    if not sliders:
        raise ValueError("explorer needs at least one slider (keyword argument)")
    controls = {name: slider(name, spec) for name, spec in sliders.items()}
    return Explorer(plot_fn, controls, is_static() if static is None else bool(static))


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


def draw_runs(objective, optimizers: Mapping, x0, steps: int, title: str):
    """Run each optimizer (name -> Transform) with ``train.minimize``; draw the trajectories
    beside the loss curves (sub-optimality on a log scale when the minimum value is known)."""
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


def _start(objective, values: dict):
    if objective.dim == 1:
        return float(values.pop("x0"))
    return np.array([values.pop("x0_1"), values.pop("x0_2")])


def trajectory_explorer(objective, optimizers: Mapping, lr=(1e-4, 1.0, 1e-2), start=None,
                        steps=50, static: bool | None = None) -> Explorer:
    """Contour + live trajectories and loss curves; sliders for the learning rate (log scale,
    ``lr=(min, max, default)``), the start point and, when `steps` is a tuple, the steps.

    `optimizers` maps a name to a factory ``lr -> Transform``, e.g. ``{"gd": optim.gd}``.
    """
    if not optimizers:
        raise ValueError("optimizers must name at least one optimizer factory")
    lo, hi, default = lr

    def draw(lr, **values):
        n = values.pop("steps", steps)
        x0 = _start(objective, values)
        opts = {name: make(lr) for name, make in optimizers.items()}
        title = f"{plots.objective_title(objective)}, lr = {lr:.3g}"
        return draw_runs(objective, opts, x0, n, title)

    return explorer(draw, static=static, lr=("log", lo, hi, default),
                    **_start_sliders(objective, start), **_steps_slider(steps))


def momentum_explorer(objective, lr=(1e-4, 1.0, 1e-2), momentum=(0.0, 0.99, 0.9), start=None,
                      steps=50, nesterov: bool = False, static: bool | None = None) -> Explorer:
    """Gradient descent beside SGD with momentum (PyTorch form, optionally Nesterov) on
    `objective`; sliders for the learning rate (log scale), the momentum and the start."""
    from course_lib import optim

    lo, hi, default = lr
    label = "nesterov" if nesterov else "momentum"

    def draw(lr, momentum, **values):
        n = values.pop("steps", steps)
        x0 = _start(objective, values)
        opts = {"gd": optim.sgd(lr)}
        if momentum > 0:
            opts[f"{label} ({momentum:.2f})"] = optim.sgd(lr, momentum=momentum,
                                                         nesterov=nesterov)
        title = f"{plots.objective_title(objective)}, lr = {lr:.3g}"
        return draw_runs(objective, opts, x0, n, title)

    return explorer(draw, static=static, lr=("log", lo, hi, default), momentum=momentum,
                    **_start_sliders(objective, start), **_steps_slider(steps))
