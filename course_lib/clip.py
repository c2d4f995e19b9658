"""Gradient clipping: by value, by norm (each array), by global norm (all arrays together).

``grads`` is an array or a flat dict of arrays, as in ``course_lib.optim``; the functions
return new arrays and never modify their input. The ``*_transform`` versions are
``optim.Transform`` objects for ``optim.chain``, e.g.
``chain(clip_by_global_norm_transform(1.0), scale_by_adam(), scale_by_learning_rate(1e-3))``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from course_lib._validate import check_range
from course_lib.optim import EmptyState, Transform, _check_tree, tree_map

__all__ = [
    "clip_by_value", "clip_by_norm", "clip_by_global_norm", "global_norm",
    "clip_by_value_transform", "clip_by_norm_transform", "clip_by_global_norm_transform",
    "GlobalNormState",
]

NORM_EPS = 1e-6  # added to the norm before dividing, as torch.nn.utils.clip_grad_norm_


def _leaves(tree):
    return list(tree.values()) if isinstance(tree, dict) else [tree]


def _norm(x, norm_type):
    """The p-norm of all entries of ``x`` (``inf``: largest absolute value)."""
    a = np.asarray(x, dtype=np.float64).ravel()  # a view for a contiguous float64 array
    if a.size == 0:
        return 0.0
    if norm_type == 2:
        return math.sqrt(np.dot(a, a))
    if norm_type == math.inf:
        return float(np.max(np.abs(a)))
    return float(np.sum(np.abs(a) ** norm_type) ** (1.0 / norm_type))


def _check_norm_type(norm_type):
    return check_range(norm_type, "norm_type", 1.0, what="norm_type value")


def global_norm(grads, norm_type=2.0):
    """``||(g_1, ..., g_n)||_p`` over every entry of every array (the norm of the leaf norms)."""
    _check_tree(grads, "grads")
    p = _check_norm_type(norm_type)
    return _norm([_norm(g, p) for g in _leaves(grads)], p)


def _clip_coef(norm, max_norm):
    """``min(1, max_norm / (norm + 1e-6))`` (torch.nn.utils.clip_grad_norm_)."""
    return min(1.0, max_norm / (norm + NORM_EPS))


def clip_by_value(grads, clip_value):
    """Each entry clamped to ``[-c, c]`` (torch.nn.utils.clip_grad_value_)."""
    _check_tree(grads, "grads")
    check_range(clip_value, "clip_value")
    return tree_map(lambda g: np.clip(g, -clip_value, clip_value).astype(np.float64), grads)


def clip_by_norm(grads, max_norm, norm_type=2.0):
    """Each array separately: ``g * min(1, max_norm / (||g|| + 1e-6))``."""
    _check_tree(grads, "grads")
    check_range(max_norm, "max_norm", what="max_norm value")
    p = _check_norm_type(norm_type)
    return tree_map(lambda g: np.multiply(g, _clip_coef(_norm(g, p), max_norm),
                                          dtype=np.float64), grads)


def clip_by_global_norm(grads, max_norm, norm_type=2.0):
    """torch.nn.utils.clip_grad_norm_: ``N = ||all grads||``,
    ``g * min(1, max_norm / (N + 1e-6))`` for every array. Returns ``(clipped, N)``.
    """
    check_range(max_norm, "max_norm", what="max_norm value")
    total = global_norm(grads, norm_type)  # N
    coef = _clip_coef(total, max_norm)
    return tree_map(lambda g: np.multiply(g, coef, dtype=np.float64), grads), total


class GlobalNormState(NamedTuple):
    total_norm: float  # the norm N before clipping at the last update (nan before any)


def _stateless(clip_fn) -> Transform:
    """A Transform applying ``clip_fn(grads)`` at every update, with no state to carry."""

    def init(params):
        _check_tree(params)
        return EmptyState()

    def update(grads, state, params=None):
        return clip_fn(grads), state

    return Transform(init, update)


def clip_by_value_transform(clip_value) -> Transform:
    """``clip_by_value`` as a Transform."""
    check_range(clip_value, "clip_value")
    return _stateless(lambda grads: clip_by_value(grads, clip_value))


def clip_by_norm_transform(max_norm, norm_type=2.0) -> Transform:
    """``clip_by_norm`` as a Transform."""
    check_range(max_norm, "max_norm", what="max_norm value")
    _check_norm_type(norm_type)
    return _stateless(lambda grads: clip_by_norm(grads, max_norm, norm_type))


def clip_by_global_norm_transform(max_norm, norm_type=2.0) -> Transform:
    """``clip_by_global_norm`` as a Transform; the state records the norm before clipping."""
    check_range(max_norm, "max_norm", what="max_norm value")
    _check_norm_type(norm_type)

    def init(params):
        _check_tree(params)
        return GlobalNormState(math.nan)

    def update(grads, state, params=None):
        clipped, total = clip_by_global_norm(grads, max_norm, norm_type)
        return clipped, GlobalNormState(total)

    return Transform(init, update)
