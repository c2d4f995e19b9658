"""Weight initialisers with PyTorch's formulas (``torch.nn.init``), in numpy.

A weight has shape ``(fan_out, fan_in)`` as in ``torch.nn.Linear`` (convolution kernels:
``(out_channels, in_channels, *kernel)``, with fans multiplied by the kernel size). As in
PyTorch, fans cannot be computed for fewer than two dimensions: Xavier and Kaiming reject a
1-D shape. A bias of shape ``(fan_out,)`` is initialised with :func:`uniform_fan_in` given the
layer's ``fan_in`` explicitly, which is what ``torch.nn.Linear.reset_parameters`` does.
Every random initialiser takes an ``np.random.Generator`` first, then the shape.

References: Glorot & Bengio (2010); He et al. (2015), "Delving deep into rectifiers";
PyTorch documentation of ``torch.nn.init``.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib._validate import check_rng

__all__ = [
    "zeros",
    "constant",
    "uniform_fan_in",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "calculate_gain",
    "fans",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")  # fmt: skip


def _shape(shape) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints (an int means a 1-D shape)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        out = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of ints, got {shape!r}") from None
    for s in out:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"shape must contain non-negative ints, got {out}")
    return tuple(int(s) for s in out)


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) = (shape[1] * r, shape[0] * r), r = prod(shape[2:]) (receptive field).

    Raises ValueError for fewer than two dimensions, as PyTorch does.
    """
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for shape {shape} with fewer than 2 "
            "dimensions (weights are (fan_out, fan_in))"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _positive_fan(fan: int, shape) -> None:
    if fan <= 0:
        raise ValueError(f"fan must be > 0 to initialise shape {shape}, got {fan}")


def zeros(shape) -> np.ndarray:
    """An all-zero float64 array (``torch.nn.init.zeros_``)."""
    return np.zeros(_shape(shape), dtype=np.float64)


def constant(shape, value: float) -> np.ndarray:
    """An array filled with ``value`` (``torch.nn.init.constant_``)."""
    if not np.isfinite(value):
        raise ValueError(f"Invalid value: {value} (must be finite)")
    return np.full(_shape(shape), float(value), dtype=np.float64)


def uniform_fan_in(rng, shape, fan_in: int | None = None) -> np.ndarray:
    """W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)): ``torch.nn.Linear``'s default weight and bias.

    ``fan_in`` defaults to the one of ``shape`` (fan_in = shape[1] * receptive field); for a
    bias (1-D shape) pass the layer's ``fan_in``.
    """
    check_rng(rng)
    shape = _shape(shape)
    if fan_in is None:
        fan_in = fans(shape)[0]
    elif isinstance(fan_in, bool) or not isinstance(fan_in, (int, np.integer)):
        raise TypeError(f"fan_in must be an int, got {fan_in!r}")
    _positive_fan(fan_in, shape)
    bound = 1.0 / math.sqrt(fan_in)  # 1 / sqrt(n_in)
    return rng.uniform(-bound, bound, size=shape)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain (``torch.nn.init.calculate_gain``).

    linear, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2); selu: 3/4;
    leaky_relu: sqrt(2 / (1 + slope^2)) with slope = ``param`` (default 0.01).
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float, np.floating)):
            raise ValueError(f"negative_slope {slope!r} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def _check_gain(gain: float) -> None:
    if not (np.isfinite(gain) and gain > 0):
        raise ValueError(f"Invalid gain: {gain} (must be > 0)")


def xavier_uniform(rng, shape, gain: float = 1.0) -> np.ndarray:
    """W ~ U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)); Var W = gain^2 2/(fan_in+fan_out).

    Glorot & Bengio (2010); ``torch.nn.init.xavier_uniform_``.
    """
    check_rng(rng)
    _check_gain(gain)
    fan_in, fan_out = fans(shape)
    _positive_fan(fan_in + fan_out, shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))  # a
    return rng.uniform(-a, a, size=_shape(shape))


def xavier_normal(rng, shape, gain: float = 1.0) -> np.ndarray:
    """W ~ N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).  ``xavier_normal_``."""
    check_rng(rng)
    _check_gain(gain)
    fan_in, fan_out = fans(shape)
    _positive_fan(fan_in + fan_out, shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))  # sigma
    return rng.normal(0.0, std, size=_shape(shape))


def _kaiming_std(shape, a, mode, nonlinearity) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    _positive_fan(fan, shape)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)  # gain / sqrt(fan)


def kaiming_uniform(
    rng, shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> np.ndarray:
    """W ~ U(-bound, bound), bound = gain sqrt(3 / fan); Var W = gain^2 / fan.

    He et al. (2015); ``torch.nn.init.kaiming_uniform_`` with its defaults (a = 0 makes the
    leaky_relu gain sqrt(2)). ``a = sqrt(5)`` reproduces ``torch.nn.Linear``'s default weight
    init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    check_rng(rng)
    bound = math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)
    return rng.uniform(-bound, bound, size=_shape(shape))


def kaiming_normal(
    rng, shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> np.ndarray:
    """W ~ N(0, std^2), std = gain / sqrt(fan).  He et al. (2015); ``kaiming_normal_``."""
    check_rng(rng)
    std = _kaiming_std(shape, a, mode, nonlinearity)
    return rng.normal(0.0, std, size=_shape(shape))
