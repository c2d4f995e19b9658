"""Tests for course_lib._validate: the argument checks every module shares.

The messages are pinned in full: tests, notebooks and students read them, so a change of
wording should be a decision, not a side effect.
"""

import math
import re

import numpy as np
import pytest

from course_lib._validate import (
    check_count,
    check_int,
    check_labels,
    check_range,
    check_real,
    check_rng,
)


def message(fn, *args, **kwargs) -> tuple[type, str]:
    with pytest.raises((TypeError, ValueError)) as info:
        fn(*args, **kwargs)
    return info.type, str(info.value)


def test_check_rng():
    check_rng(np.random.default_rng(0))
    for bad in (None, 0, np.random.RandomState(0)):
        kind, text = message(check_rng, bad)
        assert kind is TypeError
        assert text == f"rng must be a np.random.Generator, got {type(bad).__name__}"


@pytest.mark.parametrize("value", [0, 3, np.int64(2), np.uint8(1)])
def test_check_int_returns_python_int(value):
    out = check_int(value, "n", 0)
    assert out == value and type(out) is int


def test_check_int_messages():
    assert message(check_int, 2.5, "steps", 0) == (TypeError, "steps must be an int, got float")
    assert message(check_int, True, "steps", 0) == (TypeError, "steps must be an int, got bool")
    assert message(check_int, -1, "steps", 0) == (ValueError, "Invalid steps: -1 (must be >= 0)")
    assert message(check_int, np.int64(0), "fan_in", 1) == \
        (ValueError, "Invalid fan_in: 0 (must be >= 1)")
    assert check_int(-5, "step") == -5  # no lower bound: the type only


def test_check_count_messages():
    assert message(check_count, 0, "n", 1) == \
        (ValueError, "Invalid n: 0 (must be an integer >= 1)")
    assert message(check_count, 2.5, "n", 1) == \
        (ValueError, "Invalid n: 2.5 (must be an integer >= 1)")
    assert message(check_count, "3", "T_max", 1, repeat_name=True) == \
        (ValueError, "Invalid T_max: '3' (T_max must be an integer >= 1)")
    assert check_count(np.int64(4), "n", 1) == 4


def test_check_real():
    assert check_real(3, "lr") == 3.0 and type(check_real(3, "lr")) is float
    assert message(check_real, "0.1", "lr") == (TypeError, "lr must be a real number, got str")
    assert message(check_real, True, "x", "a real number (int or float)") == \
        (TypeError, "x must be a real number (int or float), got bool")


def test_check_range_messages():
    assert check_range(0.5, "alpha", 0.0, 1.0) == 0.5
    assert message(check_range, -1.0, "lr", what="learning rate") == \
        (ValueError, "Invalid learning rate: -1.0 (lr must be >= 0.0)")
    assert message(check_range, 1.0, "betas[0]", 0.0, 1.0, what="beta parameter at index 0",
                   high_open=True) == \
        (ValueError, "Invalid beta parameter at index 0: 1.0 (betas[0] must be in [0.0, 1.0))")
    assert message(check_range, -0.1, "lr", interval=True) == \
        (ValueError, "Invalid lr: -0.1 (lr must be in [0.0, inf])")
    assert message(check_range, 0, "div_factor", low_open=True, interval=True) == \
        (ValueError, "Invalid div_factor: 0 (div_factor must be in (0.0, inf])")
    assert message(check_range, [1.0], "lr") == (TypeError, "lr must be a real number, got list")


@pytest.mark.parametrize("bad", [math.nan, np.nan])
def test_check_range_rejects_nan(bad):
    kind, text = message(check_range, bad, "eps", what="epsilon value")
    assert kind is ValueError and text.startswith("Invalid epsilon value: nan")


def test_check_labels():
    np.testing.assert_array_equal(check_labels([0, 2, 1], 3, 3), [0, 2, 1])
    with pytest.raises(ValueError, match=re.escape("labels must have shape (3,) (one class "
                                                   "index per row), got (2,)")):
        check_labels([0, 1], 3, 3)
    with pytest.raises(TypeError, match="labels must hold integer class indices, got dtype float"):
        check_labels(np.array([0.0, 1.0]), 2, 2)
    with pytest.raises(TypeError, match="got dtype bool"):
        check_labels(np.array([True, False]), 2, 2)
    with pytest.raises(ValueError, match=re.escape("y must lie in [0, 1], got [0, 2]")):
        check_labels([0, 2], 2, 2, "y")
    # whole-number floats are class indices only when asked for (nn does, losses does not)
    out = check_labels(np.array([1.0, 0.0]), 2, 2, integral_floats=True)
    assert out.dtype == np.int64 and list(out) == [1, 0]
    with pytest.raises(TypeError, match="integer class indices"):
        check_labels(np.array([0.5, 1.0]), 2, 2, integral_floats=True)
