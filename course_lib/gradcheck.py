"""Numerical gradient checking: central differences, ``rel_error`` and ``check_grad``.

Central differences, g_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h), have truncation error
O(h^2) (forward differences: O(h)) and round-off error about eps_mach |f| / h. With float64
and h = 1e-5 both are near 1e-10 for smooth, well-scaled functions, which gives the usual
reading of the relative error between an analytic and a numerical gradient
(CS231n, "Gradient checks"):

    rel_error < 1e-7          correct (smooth function, float64, h = 1e-5)
    1e-7 <= rel_error < 1e-4  suspicious, unless the function has kinks (ReLU, |x|, max)
    rel_error >= 1e-4         almost certainly a bug

``check_grad`` uses ``rtol=1e-6`` by default and, like ``np.allclose``, an absolute
tolerance ``atol`` for components whose true value is (nearly) zero, where round-off alone
makes the relative error meaningless.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["GradientCheckError", "numerical_gradient", "rel_error", "check_grad"]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one."""


def numerical_gradient(f: Callable, x, h: float = 1e-5, method: str = "central") -> np.ndarray:
    """Finite-difference gradient of a scalar function ``f`` at ``x`` (any shape).

    central: g_i = (f(x + h e_i) - f(x - h e_i)) / (2 h)     error O(h^2)
    forward: g_i = (f(x + h e_i) - f(x)) / h                 error O(h)
    Works on a float64 copy of ``x``, each coordinate restored after it is perturbed, so the
    caller's array is never changed.
    """
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"Invalid step h: {h} (must be > 0)")
    if method not in ("central", "forward"):
        raise ValueError(f"Invalid method: {method!r} (must be 'central' or 'forward')")
    x = np.array(x, dtype=np.float64)  # a private copy
    grad = np.zeros_like(x)
    f0 = _scalar(f(x)) if method == "forward" else None
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = _scalar(f(x))
        if method == "central":
            x[i] = old - h
            grad[i] = (f_plus - _scalar(f(x))) / (2 * h)  # (f(x+h e_i) - f(x-h e_i)) / 2h
        else:
            grad[i] = (f_plus - f0) / h  # (f(x+h e_i) - f(x)) / h
        x[i] = old  # restore
    return grad


def _scalar(value) -> float:
    value = np.asarray(value, dtype=np.float64)
    if value.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {value.shape}")
    return float(value.reshape(()))


def rel_error(a, b, tiny: float = 1e-8) -> float:
    """max_i |a_i - b_i| / max(|a_i| + |b_i|, tiny)  (CS231n's relative error).

    Shapes must match; ``tiny`` keeps 0 / 0 away when both components are zero.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), tiny)))


def check_grad(
    f: Callable, grad: Callable, x, h: float = 1e-5, rtol: float = 1e-6, atol: float = 1e-8
) -> float:
    """Compare ``grad(x)`` with central differences of ``f`` at ``x``; return ``rel_error``.

    Passes when every component satisfies |g - g_num| <= atol + rtol (|g| + |g_num|);
    otherwise raises :class:`GradientCheckError` naming the worst component. See the module
    docstring for how to read the relative error.
    """
    if not (rtol >= 0 and atol >= 0):
        raise ValueError(f"Invalid tolerances rtol={rtol}, atol={atol} (must be >= 0)")
    x = np.array(x, dtype=np.float64)
    analytic = np.asarray(grad(x.copy()), dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(f"grad(x) must have the shape of x {x.shape}, got {analytic.shape}")
    numeric = numerical_gradient(f, x, h=h)
    err = rel_error(analytic, numeric)
    excess = np.abs(analytic - numeric) - (atol + rtol * (np.abs(analytic) + np.abs(numeric)))
    if not np.all(np.isfinite(analytic)) or np.any(excess > 0):
        i = np.unravel_index(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf)), x.shape)
        raise GradientCheckError(
            f"gradient check failed: relative error {err:.3e} (rtol={rtol:g}, atol={atol:g}); "
            f"worst component {tuple(int(j) for j in i)}: analytic {analytic[i]!r}, "
            f"numerical {numeric[i]!r}"
        )
    return err
