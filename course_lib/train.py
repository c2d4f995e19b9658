"""Optimisation loops: ``minimize`` (an objective from ``course_lib.functions``) and ``fit``
(a model such as ``course_lib.nn.MLP`` on a data set, with mini-batches).

Both drive an optimizer ``Transform`` from ``course_lib.optim`` the optax way:
``updates, state = opt.update(grads, state, params)``; ``params = apply_updates(params,
updates)``. Both silence numpy's overflow warnings and stop when the iterates stop being
finite, recording ``diverged=True``, so a divergence experiment writes nothing to stderr.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course_lib import clip as clipping
from course_lib._validate import check_int, check_real, check_rng
from course_lib.data import minibatches
from course_lib.optim import apply_updates

__all__ = ["History", "Trace", "fit", "minimize"]

_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}


class Trace(NamedTuple):
    """The iterates of ``minimize``: x_0, ..., x_T with T <= steps.

    ``points`` (T+1, dim), or (T+1,) for a 1-D objective; ``values`` f(x_t) and ``grad_norms``
    ||grad f(x_t)||_2, both (T+1,). ``converged``: stopped because ||grad f(x_T)|| < tol.
    ``diverged``: stopped because x_{T+1}, f or its gradient was not finite; that step is not
    recorded, so every stored number is finite.
    """

    points: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    converged: bool = False
    diverged: bool = False


class History(NamedTuple):
    """What ``fit`` returns.

    ``params``: the final parameters. ``losses``: mini-batch loss before each update (one per
    update). ``epoch_losses``: per epoch, the mean of that epoch's mini-batch losses weighted by
    batch size. ``val_losses``: per epoch, the loss on ``(X_val, y_val)`` at the end of the
    epoch (empty without validation data). ``grad_norms``: global L2 norm of each mini-batch
    gradient before clipping. ``diverged``: stopped at a non-finite loss.
    """

    params: dict
    losses: np.ndarray
    epoch_losses: np.ndarray
    val_losses: np.ndarray
    grad_norms: np.ndarray
    diverged: bool = False


# ---- validation -----------------------------------------------------------------------------
def _check_positive_or_none(value, name: str, allow_zero: bool):
    """None, or a finite float > 0 (>= 0 with ``allow_zero``)."""
    if value is None:
        return None
    check_real(value, name, "None or a real number")
    if not (value >= 0 if allow_zero else value > 0) or not np.isfinite(value):
        raise ValueError(f"Invalid {name}: {value} (must be {'>=' if allow_zero else '>'} 0)")
    return float(value)


def _check_optimizer(optimizer) -> None:
    if not (callable(getattr(optimizer, "init", None))
            and callable(getattr(optimizer, "update", None))):
        raise TypeError("optimizer must be a Transform with init and update "
                        f"(course_lib.optim), got {type(optimizer).__name__}")


def _check_start(objective, x0) -> np.ndarray:
    """x0 (or ``objective.x0``) as float64: shape () for a 1-D objective, (dim,) otherwise."""
    dim = objective.dim
    x = np.array(objective.x0 if x0 is None else x0, dtype=np.float64)
    expected = () if dim == 1 else (dim,)
    if x.shape != expected:
        raise ValueError(f"x0 must have shape {expected} for the {dim}-D objective "
                         f"{getattr(objective, 'name', '')!r}, got {x.shape}")
    return x


# ---- minimize -------------------------------------------------------------------------------
def _norm(g: np.ndarray) -> float:
    """||g||_2 computed as m ||g / m||_2 with m = max |g_i|, so it overflows only if ||g|| does."""
    m = float(np.max(np.abs(g), initial=0.0))
    if m == 0.0 or not np.isfinite(m):
        return m
    return m * float(np.sqrt(np.sum((g / m) ** 2)))


def _evaluate(objective, x):
    """(f(x), grad f(x), ||grad f(x)||_2, all finite?)."""
    fx = float(objective.f(x))
    g = np.asarray(objective.grad(x), dtype=np.float64)
    norm = _norm(g)
    return fx, g, norm, bool(np.isfinite(fx) and np.all(np.isfinite(x)) and np.isfinite(norm))


def minimize(objective, x0, optimizer, steps: int, tol: float | None = None) -> Trace:
    """Run ``optimizer`` on ``objective`` for at most ``steps`` updates from ``x0``
    (``None``: ``objective.x0``): x_{t+1} = x_t + update(grad f(x_t)).

    Stops early when ||grad f(x_t)||_2 < tol (``converged``) or when a new iterate, its value or
    its gradient is not finite (``diverged``; overflow warnings are silenced).
    """
    _check_optimizer(optimizer)
    steps = check_int(steps, "steps", 0)
    tol = _check_positive_or_none(tol, "tol", allow_zero=True)
    x = _check_start(objective, x0)
    state = optimizer.init(x)
    points, values, norms = [x], [], []
    with np.errstate(**_QUIET):
        fx, g, norm, finite = _evaluate(objective, x)
        if not finite:
            raise ValueError(f"f or its gradient is not finite at x0 = {x}")
        values.append(fx)
        norms.append(norm)
        diverged = False
        for _ in range(steps):
            if tol is not None and norms[-1] < tol:
                break
            updates, state = optimizer.update(g, state, x)
            x_new = apply_updates(x, updates)  # x_{t+1} = x_t + u_t
            fx, g, norm, finite = _evaluate(objective, x_new)
            if not finite:
                diverged = True
                break
            x = x_new
            points.append(x)
            values.append(fx)
            norms.append(norm)
    converged = tol is not None and norms[-1] < tol
    return Trace(np.array(points), np.array(values), np.array(norms), converged, diverged)


# ---- fit ------------------------------------------------------------------------------------
def _check_fit_args(model, X, y, optimizer, epochs, batch_size, rng, clip, X_val, y_val):
    if not (callable(getattr(model, "init", None))
            and callable(getattr(model, "loss_and_grad", None))):
        raise TypeError(f"model must have init(rng) and loss_and_grad(params, X, y), got "
                        f"{type(model).__name__}")
    _check_optimizer(optimizer)
    check_rng(rng)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if len(X) != len(y) or len(y) == 0:
        raise ValueError(f"X and y must have the same length >= 1, got {len(X)} and {len(y)}")
    check_int(batch_size, "batch_size", 1)
    return (check_int(epochs, "epochs", 0),
            _check_positive_or_none(clip, "clip (max_norm)", allow_zero=False))


def _val_loss(model, params, X_val, y_val) -> float:
    if callable(getattr(model, "loss", None)):
        return float(model.loss(params, X_val, y_val))
    return float(model.loss_and_grad(params, X_val, y_val)[0])


def _epoch(model, params, state, optimizer, batches, clip, log):
    """One pass over the mini-batches; appends (loss, batch size, grad norm) to ``log``.
    Returns (params, state, diverged)."""
    for Xb, yb in batches:
        loss, grads = model.loss_and_grad(params, Xb, yb)
        norm = clipping.global_norm(grads)  # ||g||_2 over every parameter
        if not (np.isfinite(loss) and np.isfinite(norm)):
            return params, state, True
        if clip is not None:  # g <- g min(1, c / (||g|| + 1e-6))
            grads, _ = clipping.clip_by_global_norm(grads, clip)
        updates, state = optimizer.update(grads, state, params)
        params = apply_updates(params, updates)  # w_{t+1} = w_t + u_t
        log.append((float(loss), len(yb), norm))
    return params, state, False


def fit(model, X, y, optimizer, epochs: int, batch_size: int, rng: np.random.Generator,
        clip: float | None = None, progress: bool = False, X_val=None, y_val=None,
        params=None) -> History:
    """Mini-batch training: per epoch, shuffle with ``rng`` (``course_lib.data.minibatches``),
    then for each batch w <- w + update(grad L_batch(w)).

    ``params``: start point (default ``model.init(rng)``). ``clip``: max global gradient norm
    (``torch.nn.utils.clip_grad_norm_`` semantics, via ``course_lib.clip``). ``progress``:
    a tqdm bar over epochs. Stops early at a non-finite loss (``History.diverged``).
    """
    epochs, clip = _check_fit_args(model, X, y, optimizer, epochs, batch_size, rng, clip,
                                   X_val, y_val)
    params = model.init(rng) if params is None else params
    state, log, epoch_losses, val_losses, diverged = optimizer.init(params), [], [], [], False
    bar = _progress_bar(epochs) if progress else None
    with np.errstate(**_QUIET):
        for _ in range(epochs):
            start = len(log)
            batches = minibatches(X, y, batch_size, rng)
            params, state, diverged = _epoch(model, params, state, optimizer, batches, clip, log)
            if diverged:
                break
            losses, sizes, _ = np.array(log[start:]).T
            epoch_losses.append(float(np.sum(losses * sizes) / np.sum(sizes)))
            if X_val is not None:
                val_losses.append(_val_loss(model, params, X_val, y_val))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{epoch_losses[-1]:.4g}")
    if bar is not None:
        bar.close()
    columns = np.array(log).reshape(-1, 3).T
    return History(params, columns[0], np.array(epoch_losses), np.array(val_losses),
                   columns[2], diverged)


def _progress_bar(epochs: int):
    from tqdm.auto import tqdm  # imported here: the numerical modules import numpy only

    return tqdm(total=epochs, desc="epochs", unit="epoch")
