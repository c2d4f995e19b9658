"""Loss functions returning ``(value, gradient with respect to the first argument)``.

Reduction is the mean, as PyTorch's default ``reduction="mean"``: for ``mse``, ``mae`` and
the binary cross-entropies the mean is over all elements (N = number of elements); for
``softmax_cross_entropy`` it is over the n rows of the batch. Shapes must match exactly:
nothing is broadcast. The value is a Python float, the gradient a float64 array with the
shape of the first argument.

References: PyTorch docs for ``MSELoss``, ``L1Loss``, ``BCELoss``, ``BCEWithLogitsLoss``,
``CrossEntropyLoss``; Goodfellow, Bengio & Courville, *Deep Learning* (2016), 6.2.
"""

from __future__ import annotations

import numpy as np

from course_lib._validate import check_labels

__all__ = [
    "sigmoid",
    "softmax",
    "mse",
    "mae",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "softmax_cross_entropy",
]


def _pair(a, b, name_a: str, name_b: str) -> tuple[np.ndarray, np.ndarray]:
    """Both arguments as float64 arrays of one identical, non-empty shape."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}"
        )
    if a.size == 0:
        raise ValueError(f"{name_a} must not be empty")
    return a, b


def sigmoid(z) -> np.ndarray:
    """sigma(z) = 1 / (1 + exp(-z)), evaluated without overflow.

    Uses e = exp(-|z|) <= 1: sigma(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0.
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))  # never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(logits, axis: int = -1) -> np.ndarray:
    """softmax(z)_k = exp(z_k - max z) / sum_j exp(z_j - max z) along ``axis``.

    Subtracting the maximum leaves the result unchanged and keeps every exponent <= 0.
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 0:
        raise ValueError("logits must have at least one axis, got a scalar")
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def mse(pred, target) -> tuple[float, np.ndarray]:
    """L = (1/N) sum (y_hat - y)^2, dL/dy_hat = 2 (y_hat - y) / N.  (PyTorch ``MSELoss``.)"""
    pred, target = _pair(pred, target, "pred", "target")
    r = pred - target  # residual y_hat - y
    return float(np.mean(r**2)), 2.0 * r / r.size


def mae(pred, target) -> tuple[float, np.ndarray]:
    """L = (1/N) sum |y_hat - y|, dL/dy_hat = sign(y_hat - y) / N.  (PyTorch ``L1Loss``.)

    At y_hat = y the subgradient 0 is returned, as PyTorch does.
    """
    pred, target = _pair(pred, target, "pred", "target")
    r = pred - target
    return float(np.mean(np.abs(r))), np.sign(r) / r.size


def _check_unit_interval(a: np.ndarray, name: str) -> None:
    if not np.all((a >= 0) & (a <= 1)):
        raise ValueError(f"all elements of {name} must be between 0 and 1")


def binary_cross_entropy(p, y, eps: float = 1e-12) -> tuple[float, np.ndarray]:
    """L = -(1/N) sum [y log p + (1 - y) log(1 - p)], dL/dp = (p - y) / (p (1 - p)) / N.

    p (probabilities) is clipped to [eps, 1 - eps] first, for the value and the gradient,
    so p = 0 or 1 gives a large finite loss instead of log(0). (PyTorch ``BCELoss`` clamps
    the logarithms at -100 instead.) For logits use :func:`binary_cross_entropy_with_logits`.
    """
    p, y = _pair(p, y, "p", "y")
    if not 0 < eps < 0.5:
        raise ValueError(f"Invalid eps: {eps} (must be in (0, 0.5))")
    _check_unit_interval(p, "p")
    _check_unit_interval(y, "y")
    q = np.clip(p, eps, 1 - eps)
    value = -np.mean(y * np.log(q) + (1 - y) * np.log1p(-q))
    return float(value), (q - y) / (q * (1 - q)) / q.size


def binary_cross_entropy_with_logits(z, y) -> tuple[float, np.ndarray]:
    """L = (1/N) sum [max(z, 0) - z y + log(1 + exp(-|z|))], dL/dz = (sigma(z) - y) / N.

    The same loss as ``binary_cross_entropy(sigmoid(z), y)`` written so that no exponent is
    positive: finite for any finite logit. (PyTorch ``BCEWithLogitsLoss``.)
    """
    z, y = _pair(z, y, "z", "y")
    _check_unit_interval(y, "y")
    value = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return float(value), (sigmoid(z) - y) / z.size


def softmax_cross_entropy(logits, labels) -> tuple[float, np.ndarray]:
    """L = -(1/n) sum_i log softmax(z_i)_{y_i}, dL/dz = (softmax(z) - onehot(y)) / n.

    ``logits``: shape (n, k); ``labels``: integer class indices of shape (n,). The log-softmax
    uses the max shift, log softmax(z)_k = (z_k - m) - log sum_j exp(z_j - m), m = max z.
    (PyTorch ``CrossEntropyLoss`` with class-index targets.)
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (n, k) with n, k >= 1, got {z.shape}")
    n, k = z.shape
    labels = check_labels(labels, n, k)
    shifted = z - np.max(z, axis=1, keepdims=True)  # z - m
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    rows = np.arange(n)
    grad = np.exp(log_p)  # softmax p
    grad[rows, labels] -= 1.0  # p - onehot(y)
    return float(-np.mean(log_p[rows, labels])), grad / n
