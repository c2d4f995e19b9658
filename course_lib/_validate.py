"""Argument checks shared by the modules of course_lib (private).

Each check raises with a message that names the argument, what came back and the allowed
range, and returns the value in the form the caller computes with (``int``, ``float`` or an
array). Modules call them once, where an argument enters: in a constructor for
hyper-parameters, at the top of a function for its inputs.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["check_count", "check_int", "check_labels", "check_range", "check_real", "check_rng"]


def check_rng(rng) -> None:
    """Randomness comes from an ``np.random.Generator``, never numpy's global state."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, got {type(rng).__name__}")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(value, name: str, low: int | None = None) -> int:
    """``value`` as an int: TypeError for a non-integer (bool included), ValueError below
    ``low`` ("Invalid <name>: <value> (must be >= <low>)")."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if low is not None and value < low:
        raise ValueError(f"Invalid {name}: {value} (must be >= {low})")
    return int(value)


def check_count(value, name: str, low: int = 1, *, repeat_name: bool = False) -> int:
    """``value`` as an int >= ``low``; anything else, a non-integer included, is a ValueError
    "Invalid <name>: <value!r> ([<name> ]must be an integer >= <low>)"."""
    if not _is_int(value) or value < low:
        who = f"{name} " if repeat_name else ""
        raise ValueError(f"Invalid {name}: {value!r} ({who}must be an integer >= {low})")
    return int(value)


def check_real(value, name: str, kind: str = "a real number") -> float:
    """``value`` as a float: TypeError "<name> must be <kind>, got <type>" unless it is a real
    number (bool excluded)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    return float(value)


def _range_text(low, high, low_open, high_open, interval) -> str:
    if high == math.inf and not interval:
        return f"{'>' if low_open else '>='} {low}"
    return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def check_range(value, name: str, low: float = 0.0, high: float = math.inf, *,
                what: str | None = None, low_open: bool = False, high_open: bool = False,
                interval: bool = False) -> float:
    """A real ``value`` in the range from ``low`` to ``high``, ends closed unless ``*_open``.

    ValueError (NaN included): "Invalid <what>: <value> (<name> must be >= <low>)", or
    "... must be in [<low>, <high>)" for a finite ``high`` or with ``interval``; ``what``
    defaults to ``name``.
    """
    check_real(value, name)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):  # also catches NaN
        rng = _range_text(low, high, low_open, high_open, interval)
        raise ValueError(f"Invalid {what or name}: {value} ({name} must be {rng})")
    return float(value)


def check_labels(labels, n: int, classes: int, name: str = "labels", *,
                 integral_floats: bool = False) -> np.ndarray:
    """Class indices: shape ``(n,)``, an integer dtype, values in ``[0, classes)``.

    ``integral_floats``: floats that are whole numbers are accepted too, as int64.
    """
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one class index per row), got {y.shape}")
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        if not (integral_floats and np.issubdtype(y.dtype, np.floating)
                and np.all(y == np.round(y))):
            raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
        y = y.astype(np.int64)
    if n and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{name} must lie in [0, {classes - 1}], got [{y.min()}, {y.max()}]")
    return y
