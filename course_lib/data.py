"""Seeded synthetic data sets and a mini-batch iterator.

Every generator takes an ``np.random.Generator`` first and returns ``(X, y)`` as float64
``X`` and ``y`` (float targets for regression, int class labels for classification);
nothing touches numpy's global random state. Classification sets are shuffled, so the
classes are not sorted.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from course_lib._validate import check_count, check_rng

__all__ = [
    "linear_regression",
    "sparse_features",
    "two_moons",
    "spirals",
    "circles",
    "minibatches",
]


def _check_noise(noise) -> float:
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"Invalid noise: {noise} (must be >= 0)")
    return float(noise)


def linear_regression(
    rng, n: int = 100, d: int = 1, noise: float = 0.1, w=None, b: float = 0.0,
    return_params: bool = False,
):  # fmt: skip
    """y = X w + b + noise * eps, with X_ij ~ N(0, 1) and eps ~ N(0, 1).

    ``w`` (shape (d,)) defaults to a draw from N(0, 1). Returns ``(X, y)`` with X of shape
    (n, d) and y of shape (n,); with ``return_params=True`` returns ``(X, y, w, b)`` so the
    true parameters can be compared with the fitted ones (like scikit-learn's
    ``make_regression(coef=True)``).
    """
    check_rng(rng)
    n, d, noise = check_count(n, "n", 1), check_count(d, "d", 1), _check_noise(noise)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) if w is None else np.array(w, dtype=np.float64)
    if w.shape != (d,):
        raise ValueError(f"w must have shape ({d},), got shape {w.shape}")
    y = X @ w + b + noise * rng.standard_normal(n)  # y = X w + b + noise
    return (X, y, w, float(b)) if return_params else (X, y)


def sparse_features(
    rng, n: int = 100, sparsity: float = 0.8, w: float = 2.0, b: float = -1.0,
    scale: float = 2.0,
):  # fmt: skip
    """One sparse input for a sigmoid neuron: x mostly zero, y = sigma(w x + b).

    The data set of the adaptive-methods lecture (AdaGrad): x ~ U(-scale, scale), then
    exactly round(sparsity * n) entries, chosen at random, are set to 0. The gradient with
    respect to w, (f(x) - y) f(x) (1 - f(x)) x for squared error, vanishes on those points,
    while the one for b does not. Returns ``(x, y)``, both of shape (n,): one scalar feature,
    as in f(x) = sigma(w x + b). The true (w, b) fit the data exactly.
    """
    check_rng(rng)
    n = check_count(n, "n", 1)
    if not 0 <= sparsity <= 1:
        raise ValueError(f"Invalid sparsity: {sparsity} (must be in [0, 1])")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"Invalid scale: {scale} (must be > 0)")
    x = rng.uniform(-scale, scale, size=n)
    x[rng.choice(n, size=round(sparsity * n), replace=False)] = 0.0  # make x sparse
    y = 1.0 / (1.0 + np.exp(-(w * x + b)))  # y = sigma(w x + b)
    return x, y


def _shuffled(rng, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return X[order], y[order]


def two_moons(rng, n: int = 200, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), labels 0 and 1.

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi];
    then Gaussian noise of standard deviation ``noise``. X: (n, 2), y: (n,) int.
    """
    check_rng(rng)
    n, noise = check_count(n, "n", 2), _check_noise(noise)
    n0 = n // 2
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    X = np.concatenate([
        np.stack([np.cos(t0), np.sin(t0)], axis=1),
        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1),
    ])  # fmt: skip
    y = np.repeat([0, 1], [n0, n - n0])
    return _shuffled(rng, X + noise * rng.standard_normal(X.shape), y)


def spirals(
    rng, n: int = 300, n_classes: int = 3, noise: float = 0.2, turns: float = 0.65
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms (the CS231n spiral data set).

    Arm c: radius r evenly spaced in [0, 1], angle 2 pi (turns r + c / n_classes) plus
    Gaussian noise of standard deviation ``noise`` (radians); point r (sin a, cos a).
    Points are split as evenly as possible between classes. X: (n, 2), y: (n,) int.
    """
    check_rng(rng)
    n, k = check_count(n, "n", 1), check_count(n_classes, "n_classes", 2)
    noise = _check_noise(noise)
    sizes = np.full(k, n // k) + (np.arange(k) < n % k)
    r = np.concatenate([np.linspace(0.0, 1.0, m) for m in sizes])
    y = np.repeat(np.arange(k), sizes)
    angle = 2 * np.pi * (turns * r + y / k) + noise * rng.standard_normal(n)
    X = r[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    return _shuffled(rng, X, y)


def circles(
    rng, n: int = 200, noise: float = 0.05, factor: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles (as scikit-learn's ``make_circles``): radius 1 (label 0) and
    ``factor`` (label 1), angles evenly spaced, plus Gaussian noise. X: (n, 2), y: (n,) int.
    """
    check_rng(rng)
    n, noise = check_count(n, "n", 2), _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"Invalid factor: {factor} (must be in (0, 1))")
    n0 = n // 2
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n - n0, endpoint=False)
    X = np.concatenate([
        np.stack([np.cos(t0), np.sin(t0)], axis=1),
        factor * np.stack([np.cos(t1), np.sin(t1)], axis=1),
    ])  # fmt: skip
    y = np.repeat([0, 1], [n0, n - n0])
    return _shuffled(rng, X + noise * rng.standard_normal(X.shape), y)


def minibatches(
    X, y, batch_size: int, rng=None, shuffle: bool = True, drop_last: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X_batch, y_batch)`` covering every example once: one epoch per call.

    With ``shuffle`` a fresh permutation is drawn from ``rng`` on each call (PyTorch's
    ``DataLoader(shuffle=True)``); ``rng`` may be None only when ``shuffle=False``. The last
    batch holds the remaining ``n % batch_size`` examples unless ``drop_last``. Batches are
    copies. Arguments are checked when the function is called, not at the first batch.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same length (first axis), got shapes {X.shape} and {y.shape}"
        )
    batch_size = check_count(batch_size, "batch_size", 1)
    if shuffle:
        check_rng(rng)
    order = rng.permutation(len(y)) if shuffle else np.arange(len(y))
    stop = len(y) - len(y) % batch_size if drop_last else len(y)
    return _batches(X, y, order, batch_size, stop)


def _batches(X, y, order, batch_size, stop):
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield X[idx], y[idx]
