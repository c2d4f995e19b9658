"""Optimizers as ``Transform(init, update)`` pairs of pure functions, in the style of optax.

    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = apply_updates(params, updates)          # params + updates

``params`` is an ``np.ndarray`` (any shape, 0-d included) or a flat ``dict[str, np.ndarray]``.
Updates already carry the minus sign. State is an immutable NamedTuple; ``update`` returns a
new state and never writes into its arguments. A learning rate ``lr`` is a float or a schedule
``step -> lr``; the transform counts its own steps from 0. Every equation is computed in
float64.

The named optimizers (``sgd``, ``adagrad``, ``rmsprop``, ``adadelta``, ``adam``, ``adamw``)
follow the algorithms, argument names and defaults documented for ``torch.optim``
(https://pytorch.org/docs/stable/optim.html). The textbook forms used in the lectures are named
as such: ``gd``, ``momentum_ema``, ``nesterov_lookahead`` (Sutskever et al. 2013), the
``eps_inside_sqrt`` option of AdaGrad/RMSProp, and damped ``newton``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from course_lib._validate import check_range, check_real

__all__ = [
    "Transform", "apply_updates", "tree_map", "chain",
    "EmptyState", "ScheduleState", "TraceState", "EmaState", "AdamState", "RmsState",
    "AdagradState", "AdadeltaState", "NesterovState",
    "scale", "scale_by_learning_rate", "trace", "ema", "scale_by_adam", "scale_by_rms",
    "scale_by_adagrad", "scale_by_adadelta", "add_decayed_weights", "scale_by_newton",
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw",
    "gd", "momentum_ema", "nesterov_lookahead", "nesterov_lookahead_step",
    "lookahead_to_weights", "newton",
]


class Transform(NamedTuple):
    """An optimizer: ``init(params) -> state`` and ``update(grads, state, params) -> (u, s)``."""

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


# ----------------------------------------------------------------------------------------------
# Trees: an array or a flat dict of arrays
# ----------------------------------------------------------------------------------------------

def tree_map(fn, *trees):
    """Apply ``fn`` leaf by leaf: ``fn(*trees)`` for arrays, ``{k: fn(t1[k], ...)}`` for dicts."""
    first = trees[0]
    if not isinstance(first, dict):
        return fn(*trees)
    for other in trees[1:]:
        if not isinstance(other, dict) or other.keys() != first.keys():
            raise ValueError(f"tree_map: keys differ: {sorted(first)} vs "
                             f"{sorted(other) if isinstance(other, dict) else type(other)}")
    return {k: fn(*(t[k] for t in trees)) for k in first}


def _leafwise(fn, *trees):
    """``tree_map(fn, *trees)`` on float64 arrays, giving float64 arrays (0-d included)."""
    def leaf(*xs):
        return np.asarray(fn(*(np.asarray(x, dtype=np.float64) for x in xs)), dtype=np.float64)

    return tree_map(leaf, *trees)


def _check_leaf(x, name):
    """A leaf must be a real number or an array of real numbers (not a list of arrays)."""
    if isinstance(x, dict):
        raise TypeError(f"{name} must be a flat dict of arrays; nested dicts are not supported")
    if isinstance(x, (list, tuple)):
        raise TypeError(f"{name} must be an np.ndarray or a flat dict of np.ndarray, got "
                        f"{type(x).__name__} (use a dict to optimise several arrays)")
    kind = np.asarray(x).dtype.kind
    if kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {np.asarray(x).dtype}")


def _check_tree(tree, name="params"):
    """Validate an array or a flat dict of arrays."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            if not isinstance(k, str):
                raise TypeError(f"{name} keys must be str, got {k!r}")
            _check_leaf(v, f"{name}[{k!r}]")
    else:
        _check_leaf(tree, name)


def _check_like(tree, ref, name="grads", ref_name="params"):
    """``tree`` must have exactly the keys and shapes of ``ref`` (nothing is broadcast)."""
    if isinstance(ref, dict) != isinstance(tree, dict):
        raise TypeError(f"{name} must be {'a dict' if isinstance(ref, dict) else 'an array'} "
                        f"like {ref_name}, got {type(tree).__name__}")
    if isinstance(ref, dict):
        if tree.keys() != ref.keys():
            missing, extra = sorted(ref.keys() - tree.keys()), sorted(tree.keys() - ref.keys())
            raise ValueError(f"{name} keys differ from {ref_name} keys: missing {missing}, "
                             f"unexpected {extra}")
        pairs = [(tree[k], ref[k], f"{name}[{k!r}]") for k in ref]
    else:
        pairs = [(tree, ref, name)]
    for x, r, label in pairs:
        _check_leaf(x, label)
        if np.shape(x) != np.shape(r):
            raise ValueError(f"{label} has shape {np.shape(x)} but {ref_name} has shape "
                             f"{np.shape(r)}; shapes must match exactly (nothing is broadcast)")


def _check_grads(grads, params):
    """Validate ``grads`` alone, or against ``params`` when they are given."""
    if params is None:
        _check_tree(grads, "grads")
    else:
        _check_like(grads, params)


def _zeros_like(params, fill=0.0):
    """float64 arrays with the shapes of ``params``, filled with ``fill``."""
    _check_tree(params)
    return tree_map(lambda p: np.full(np.shape(p), fill, dtype=np.float64), params)


def apply_updates(params, updates):
    """``params + updates`` leaf by leaf (updates already carry the minus sign), as new arrays."""
    _check_tree(params)
    _check_like(updates, params, "updates", "params")
    return _leafwise(lambda w, u: w + u, params, updates)


def _update_moment(g, m, decay, order):
    """EMA of ``g^order`` started at 0: ``m_t = decay m_{t-1} + (1 - decay) g_t^order``."""
    return _leafwise(lambda g, m: decay * m + (1 - decay) * g**order, g, m)


def _bias_correction(moment, decay, t):
    """``moment / (1 - decay^t)``: an EMA from 0 gives weight ``1 - decay^t`` to the data
    (Kingma & Ba 2015, Sec. 3)."""
    return _leafwise(lambda m: m / (1 - decay**t), moment)


# ----------------------------------------------------------------------------------------------
# Hyper-parameters (messages name the argument and the allowed range)
# ----------------------------------------------------------------------------------------------

def _check_betas(betas):
    """``betas`` is a pair (its values are checked by ``scale_by_adam``)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")


def _as_schedule(lr):
    """Validate ``lr``: a float >= 0 or a callable ``step -> lr``."""
    if callable(lr):
        return lr
    return check_range(lr, "lr", what="learning rate")


def _lr_at(lr, step):
    """The learning rate at ``step`` (0-based), validated when it comes from a schedule."""
    if not callable(lr):
        return lr
    value = lr(step)
    check_real(value, "lr(step)")
    if not value >= 0:
        raise ValueError(f"Invalid learning rate: schedule gave {value} at step {step} "
                         f"(lr must be >= 0)")
    return float(value)


# ----------------------------------------------------------------------------------------------
# States
# ----------------------------------------------------------------------------------------------

class EmptyState(NamedTuple):
    """State of a stateless transform."""


class ScheduleState(NamedTuple):
    step: int  # steps taken so far; the next update uses lr(step)


class TraceState(NamedTuple):
    step: int
    momentum_buffer: Any  # b_t (PyTorch SGD); None before the first step


class EmaState(NamedTuple):
    step: int
    ema: Any  # v_t = beta v_{t-1} + (1 - beta) g_t, v_0 = 0


class AdamState(NamedTuple):
    step: int
    m: Any  # first-moment EMA m_t
    v: Any  # second-moment EMA v_t
    v_max: Any = None  # AMSGrad: max_{s <= t} v_s (None without amsgrad)


class RmsState(NamedTuple):
    step: int
    v: Any  # square_avg v_t = alpha v + (1 - alpha) g^2
    g_avg: Any = None  # centered: grad_avg = alpha g_avg + (1 - alpha) g (None otherwise)


class AdagradState(NamedTuple):
    step: int
    sum_sq: Any  # state_sum G_t = G_{t-1} + g_t^2


class AdadeltaState(NamedTuple):
    step: int
    v: Any  # square_avg: EMA of g^2
    u: Any  # acc_delta: EMA of squared updates dx^2


class NesterovState(NamedTuple):
    step: int
    velocity: Any  # Sutskever's v_t (the look-ahead point is w_t + mu v_t)


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------

def _empty_init(params):
    _check_tree(params)
    return EmptyState()


def scale(factor) -> Transform:
    """``u = factor * g``."""
    check_real(factor, "factor")

    def update(grads, state, params=None):
        _check_grads(grads, params)
        return _leafwise(lambda g: factor * g, grads), state

    return Transform(_empty_init, update)


def scale_by_learning_rate(lr) -> Transform:
    """``u = -lr_t * g``, where ``lr_t = lr(t)`` for a schedule (t counted from 0 here)."""
    lr = _as_schedule(lr)

    def init(params):
        _check_tree(params)
        return ScheduleState(0) if callable(lr) else EmptyState()

    def update(grads, state, params=None):
        _check_grads(grads, params)
        step = state.step if callable(lr) else 0
        rate = _lr_at(lr, step)  # eta_t
        new_state = ScheduleState(step + 1) if callable(lr) else state
        return _leafwise(lambda g: -rate * g, grads), new_state  # u = -eta_t g

    return Transform(init, update)


def add_decayed_weights(weight_decay) -> Transform:
    """``u = g + lambda * w`` (L2 penalty added to the gradient, as ``weight_decay`` in torch)."""
    check_range(weight_decay, "weight_decay", what="weight_decay value")

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights needs params: call update(grads, state, params)")
        _check_like(grads, params)
        if weight_decay == 0:
            return grads, state
        return _leafwise(lambda g, w: g + weight_decay * w, grads, params), state  # g + lambda w

    return Transform(_empty_init, update)


def trace(momentum, dampening=0.0, nesterov=False) -> Transform:
    """PyTorch SGD momentum buffer (torch.optim.SGD documentation).

    ``b_1 = g_1``; ``b_t = mu b_{t-1} + (1 - tau) g_t``; output ``b_t`` or, with Nesterov,
    ``g_t + mu b_t``.
    """
    check_range(momentum, "momentum", what="momentum value")
    check_range(dampening, "dampening", 0.0, 1.0, what="dampening value")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                         f"(got momentum={momentum} (must be > 0), dampening={dampening} "
                         "(must be 0))")

    mu, tau = momentum, dampening

    def init(params):
        _check_tree(params)
        return TraceState(0, None)

    def update(grads, state, params=None):
        _check_grads(grads, params)
        if state.momentum_buffer is None:
            b = _leafwise(np.copy, grads)  # b_1 = g_1 (no dampening on the first step)
        else:
            _check_like(grads, state.momentum_buffer)
            b = _leafwise(lambda b, g: mu * b + (1 - tau) * g, state.momentum_buffer, grads)  # b_t
        out = _leafwise(lambda g, b: g + mu * b, grads, b) if nesterov else b  # g_t + mu b_t
        return out, TraceState(state.step + 1, b)

    return Transform(init, update)


def ema(decay) -> Transform:
    """Exponential moving average ``v_t = beta v_{t-1} + (1 - beta) g_t``, ``v_0 = 0``."""
    check_range(decay, "decay", 0.0, 1.0, what="decay value", high_open=True)

    def init(params):
        return EmaState(0, _zeros_like(params))

    def update(grads, state, params=None):
        _check_like(grads, state.ema)
        v = _update_moment(grads, state.ema, decay, 1)  # v_t
        return v, EmaState(state.step + 1, v)

    return Transform(init, update)


def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8, amsgrad=False) -> Transform:
    """Adam direction ``m_hat / (sqrt(v_hat) + eps)``. Kingma & Ba (2015), Alg. 1.

    With ``amsgrad`` (Reddi et al. 2018, as implemented by torch.optim.Adam):
    ``v_max = max(v_max, v_t)`` and ``v_hat = v_max / (1 - b2^t)``.
    """
    for i, b in enumerate((b1, b2)):
        check_range(b, f"betas[{i}]", 0.0, 1.0, what=f"beta parameter at index {i}",
                    high_open=True)
    check_range(eps, "eps", what="epsilon value")

    def init(params):
        v_max = _zeros_like(params) if amsgrad else None
        return AdamState(0, _zeros_like(params), _zeros_like(params), v_max)

    def update(grads, state, params=None):
        _check_like(grads, state.m)
        t = state.step + 1
        m = _update_moment(grads, state.m, b1, 1)  # m_t
        v = _update_moment(grads, state.v, b2, 2)  # v_t
        v_max = _leafwise(np.maximum, state.v_max, v) if amsgrad else None  # max_{s<=t} v_s
        m_hat = _bias_correction(m, b1, t)  # m_hat_t
        v_hat = _bias_correction(v_max if amsgrad else v, b2, t)  # v_hat_t
        direction = _leafwise(lambda m_hat, v_hat: m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat)
        return direction, AdamState(t, m, v, v_max)

    return Transform(init, update)


def _sqrt_eps(s, eps, eps_inside_sqrt):
    """``sqrt(s) + eps`` (PyTorch) or ``sqrt(s + eps)`` (eps inside the root)."""
    return np.sqrt(s + eps) if eps_inside_sqrt else np.sqrt(s) + eps


def scale_by_rms(alpha=0.99, eps=1e-8, centered=False, eps_inside_sqrt=False) -> Transform:
    """RMSProp direction ``g / (sqrt(v_t) + eps)``, ``v_t = alpha v + (1 - alpha) g^2``.

    ``centered``: ``v_t - g_avg^2`` replaces ``v_t``, with ``g_avg`` an EMA of g
    (Graves 2013; torch.optim.RMSprop). ``eps_inside_sqrt``: ``g / sqrt(v_t + eps)``.
    """
    check_range(alpha, "alpha", 0.0, 1.0, what="alpha value")
    check_range(eps, "eps", what="epsilon value")

    def init(params):
        return RmsState(0, _zeros_like(params), _zeros_like(params) if centered else None)

    def update(grads, state, params=None):
        _check_like(grads, state.v)
        v = _update_moment(grads, state.v, alpha, 2)  # v_t
        g_avg = _update_moment(grads, state.g_avg, alpha, 1) if centered else None  # g_avg_t
        var = _leafwise(lambda v, a: v - a**2, v, g_avg) if centered else v  # v_t - g_avg_t^2
        direction = _leafwise(lambda g, s: g / _sqrt_eps(s, eps, eps_inside_sqrt), grads, var)
        return direction, RmsState(state.step + 1, v, g_avg)

    return Transform(init, update)


def scale_by_adagrad(initial_accumulator_value=0.0, eps=1e-10, eps_inside_sqrt=False):
    """AdaGrad direction ``g_t / (sqrt(G_t) + eps)``, ``G_t = G_{t-1} + g_t^2``.

    Duchi, Hazan & Singer (2011); torch.optim.Adagrad. ``G_0 = initial_accumulator_value``.
    ``eps_inside_sqrt``: ``g_t / sqrt(G_t + eps)``.
    """
    check_range(initial_accumulator_value, "initial_accumulator_value",
                what="initial_accumulator_value value")
    check_range(eps, "eps", what="epsilon value")

    def init(params):
        return AdagradState(0, _zeros_like(params, float(initial_accumulator_value)))

    def update(grads, state, params=None):
        _check_like(grads, state.sum_sq)
        G = _leafwise(lambda G, g: G + g**2, state.sum_sq, grads)  # G_t
        direction = _leafwise(lambda g, G: g / _sqrt_eps(G, eps, eps_inside_sqrt), grads, G)
        return direction, AdagradState(state.step + 1, G)

    return Transform(init, update)


def scale_by_adadelta(rho=0.9, eps=1e-6) -> Transform:
    """AdaDelta (Zeiler 2012; torch.optim.Adadelta), two accumulators, no learning rate.

    ``v_t = rho v + (1 - rho) g^2``; ``dx = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g``;
    ``u_t = rho u + (1 - rho) dx^2``; output ``dx`` (torch then applies ``-lr * dx``).
    """
    check_range(rho, "rho", 0.0, 1.0, what="rho value")
    check_range(eps, "eps", what="epsilon value")

    def init(params):
        return AdadeltaState(0, _zeros_like(params), _zeros_like(params))

    def delta(g, u, v):  # dx_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
        return np.sqrt(u + eps) / np.sqrt(v + eps) * g

    def update(grads, state, params=None):
        _check_like(grads, state.v)
        v = _update_moment(grads, state.v, rho, 2)  # v_t
        dx = _leafwise(delta, grads, state.u, v)  # dx_t
        u = _update_moment(dx, state.u, rho, 2)  # u_t
        return dx, AdadeltaState(state.step + 1, v, u)

    return Transform(init, update)


def scale_by_newton(hess_fn, damping=0.0) -> Transform:
    """Damped Newton direction ``(H(w) + damping I)^{-1} g``; ``hess_fn(w) -> (d, d)``.

    ``params`` must be a 1-D array of shape ``(d,)`` (or 0-d, with a scalar Hessian).
    A singular matrix raises ``np.linalg.LinAlgError``.
    """
    if not callable(hess_fn):
        raise TypeError(f"hess_fn must be callable (params -> Hessian), got {type(hess_fn)}")
    check_range(damping, "damping", what="damping value")

    def init(params):
        _check_tree(params)
        if isinstance(params, dict) or np.ndim(params) > 1:
            raise TypeError("newton needs params that are a 0-d or 1-d array, "
                            f"got {type(params).__name__} of shape {np.shape(params)}")
        return EmptyState()

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("newton needs params: call update(grads, state, params)")
        _check_like(grads, params)
        d = np.size(params)
        want = () if np.ndim(params) == 0 else (d, d)
        h = np.asarray(hess_fn(params), dtype=np.float64)
        if h.shape != want and not (d == 1 and h.size == 1):
            raise ValueError(f"hess_fn(params) has shape {h.shape}, expected {want}")
        h = h.reshape(want) + damping * np.eye(d).reshape(want)  # H + lambda I
        g = np.asarray(grads, dtype=np.float64)
        return np.asarray(g / h if np.ndim(params) == 0 else np.linalg.solve(h, g)), state

    return Transform(init, update)


def chain(*transforms: Transform) -> Transform:
    """Apply transforms in order; the state is the tuple of their states (as in optax)."""
    for i, t in enumerate(transforms):
        if not isinstance(t, Transform):
            raise TypeError(f"chain argument {i} must be a Transform, got {type(t).__name__}")

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(grads, state, params=None):
        if not isinstance(state, tuple) or len(state) != len(transforms):
            raise ValueError(f"state must be the tuple of {len(transforms)} states made by init")
        new_states = []
        for t, s in zip(transforms, state, strict=True):
            grads, s = t.update(grads, s, params)
            new_states.append(s)
        return grads, tuple(new_states)

    return Transform(init, update)


# ----------------------------------------------------------------------------------------------
# Named optimizers: torch.optim algorithms, argument names and defaults
# ----------------------------------------------------------------------------------------------

def _with_decay(weight_decay, *rest: Transform) -> Transform:
    """chain(add_decayed_weights(weight_decay), *rest), skipping the decay when it is 0."""
    decay = add_decayed_weights(weight_decay)
    return chain(decay, *rest) if weight_decay != 0 else chain(*rest)


def sgd(lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0) -> Transform:
    """torch.optim.SGD: ``g += lambda w``; buffer ``b_1 = g_1``,
    ``b_t = mu b_{t-1} + (1 - tau) g_t``; step ``b_t`` (or ``g_t + mu b_t``); ``w -= lr step``.
    """
    lr_block = scale_by_learning_rate(lr)
    check_range(momentum, "momentum", what="momentum value")
    mom = (trace(momentum, dampening, nesterov),) if momentum != 0 or nesterov else ()
    return _with_decay(weight_decay, *mom, lr_block)


def adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, eps_inside_sqrt=False) -> Transform:
    """torch.optim.Adagrad: ``lr_t = lr / (1 + (t - 1) lr_decay)`` (t from 1);
    ``G_t = G_{t-1} + g_t^2``; ``w -= lr_t g_t / (sqrt(G_t) + eps)``.
    """
    lr = _as_schedule(lr)
    check_range(lr_decay, "lr_decay", what="lr_decay value")
    if lr_decay != 0:
        base = lr

        def lr(step):  # lr_t = lr / (1 + (t - 1) lr_decay), step = t - 1
            return _lr_at(base, step) / (1.0 + step * lr_decay)

    block = scale_by_adagrad(initial_accumulator_value, eps, eps_inside_sqrt)
    return _with_decay(weight_decay, block, scale_by_learning_rate(lr))


def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            eps_inside_sqrt=False) -> Transform:
    """torch.optim.RMSprop: ``v_t = alpha v + (1 - alpha) g^2`` (minus ``g_avg^2`` if centered);
    ``b_t = mu b_{t-1} + g / (sqrt(v_t) + eps)``, ``b_0 = 0``; ``w -= lr b_t``.
    """
    lr_block = scale_by_learning_rate(lr)
    check_range(momentum, "momentum", what="momentum value")
    block = scale_by_rms(alpha, eps, centered, eps_inside_sqrt)
    mom = (trace(momentum),) if momentum != 0 else ()
    return _with_decay(weight_decay, block, *mom, lr_block)


def adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0) -> Transform:
    """torch.optim.Adadelta: ``scale_by_adadelta`` then ``w -= lr dx``."""
    lr_block = scale_by_learning_rate(lr)
    return _with_decay(weight_decay, scale_by_adadelta(rho, eps), lr_block)


def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False) -> Transform:
    """torch.optim.Adam: ``g += lambda w`` (L2, coupled); ``m_t``, ``v_t`` as in
    ``scale_by_adam``; ``w -= lr m_hat / (sqrt(v_hat) + eps)``.
    """
    lr_block = scale_by_learning_rate(lr)
    _check_betas(betas)
    block = scale_by_adam(*betas, eps, amsgrad)
    return _with_decay(weight_decay, block, lr_block)


def adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False) -> Transform:
    """torch.optim.AdamW (Loshchilov & Hutter 2019): decoupled decay
    ``w -= lr (m_hat / (sqrt(v_hat) + eps) + lambda w)``.
    """
    lr_block = scale_by_learning_rate(lr)
    _check_betas(betas)
    block = scale_by_adam(*betas, eps, amsgrad)
    return chain(block, add_decayed_weights(weight_decay), lr_block)


# ----------------------------------------------------------------------------------------------
# Textbook forms
# ----------------------------------------------------------------------------------------------

def gd(lr) -> Transform:
    """Plain gradient descent ``w_{t+1} = w_t - lr g_t``."""
    return scale_by_learning_rate(lr)


def momentum_ema(lr, beta=0.9) -> Transform:
    """Momentum in EMA form: ``v_t = beta v_{t-1} + (1 - beta) g_t`` (v_0 = 0); ``w -= lr v_t``.

    Since ``v_t = (1 - beta) b_t`` for the classical buffer ``b_t = beta b_{t-1} + g_t``, this
    equals ``sgd(lr (1 - beta), momentum=beta)``, also under a schedule scaled by
    ``(1 - beta)``, because both apply the rate after the buffer. The "change" form
    ``dx = lr g + beta dx; w -= dx`` puts the rate inside the buffer: it agrees at a constant
    rate only.
    """
    return chain(ema(beta), scale_by_learning_rate(lr))


def nesterov_lookahead(lr, momentum=0.9) -> Transform:
    """Nesterov in Sutskever et al. (2013) form, as a Transform on the look-ahead point.

    Sutskever: ``v_{t+1} = mu v_t - lr grad(w_t + mu v_t)``; ``w_{t+1} = w_t + v_{t+1}``.
    Here ``params`` is the look-ahead point ``theta_t = w_t + mu v_t`` (where the gradient is
    taken) and the state holds ``v_t``, so the update is
    ``theta_{t+1} - theta_t = (1 + mu) v_{t+1} - mu v_t``. Recover ``w_t`` with
    ``lookahead_to_weights(theta_t, state, mu)``. At a constant lr this is ``sgd(lr,
    momentum=mu, nesterov=True)`` with ``b_t = -v_t / lr``; ``theta_0 = w_0`` since ``v_0 = 0``.
    For the two lines of the paper in the original variables, see ``nesterov_lookahead_step``.
    """
    lr = _as_schedule(lr)
    check_range(momentum, "momentum", what="momentum value")
    mu = momentum

    def init(params):
        return NesterovState(0, _zeros_like(params))

    def update(grads, state, params=None):
        _check_like(grads, state.velocity)
        rate = _lr_at(lr, state.step)  # eta_t
        v = _leafwise(lambda v, g: mu * v - rate * g, state.velocity, grads)  # v_{t+1}
        step = _leafwise(lambda v1, v0: (1 + mu) * v1 - mu * v0, v, state.velocity)  # theta step
        return step, NesterovState(state.step + 1, v)

    return Transform(init, update)


def lookahead_to_weights(theta, state, momentum):
    """``w_t = theta_t - mu v_t``: the Sutskever iterate behind ``nesterov_lookahead``'s params.

    ``state`` is the ``NesterovState`` (or its velocity) and ``momentum`` the same ``mu``.
    """
    v = state.velocity if isinstance(state, NesterovState) else state
    _check_like(v, theta, "velocity", "theta")
    return _leafwise(lambda theta, v: theta - momentum * v, theta, v)


def nesterov_lookahead_step(w, v, grad_fn, lr, momentum):
    """One step of Sutskever et al. (2013), eq. (3)-(4), in the original variables.

    ``v_new = mu v - lr grad_fn(w + mu v)``; ``w_new = w + v_new``. Returns ``(w_new, v_new)``.
    Arrays only (not dicts); nothing is mutated.
    """
    check_range(lr, "lr", what="learning rate")
    check_range(momentum, "momentum", what="momentum value")
    _check_like(v, w, "v", "w")
    w, v = np.asarray(w, dtype=np.float64), np.asarray(v, dtype=np.float64)
    g = np.asarray(grad_fn(w + momentum * v), dtype=np.float64)  # grad at the look-ahead point
    _check_like(g, w, "grad_fn(w + mu v)", "w")
    v_new = momentum * v - lr * g  # v_{t+1}
    return w + v_new, v_new  # w_{t+1} = w_t + v_{t+1}


def newton(hess_fn, lr=1.0, damping=0.0) -> Transform:
    """Damped Newton's method ``w -= lr (H(w) + damping I)^{-1} grad f(w)``."""
    return chain(scale_by_newton(hess_fn, damping), scale_by_learning_rate(lr))
