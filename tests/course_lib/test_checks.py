"""Tests for course_lib.checks: every layer must fail on the wrong answer with a usable message."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.checks import (
    KNOWN_MISTAKE,
    CheckError,
    as_float_array,
    check_array,
    check_bool,
    check_choice,
    check_finite,
    check_not_mutated,
    check_scalar,
    check_shape,
    check_type,
    diagnose,
)


class RiggedEq:
    """Claims to equal everything; has no numeric content."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class LyingArray:
    """Its __array__ returns some numbers: those numbers are what gets checked."""

    def __init__(self, values):
        self.values = values

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.values, dtype=dtype)

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def raises(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_check_error_is_an_assertion_error():
    assert issubclass(CheckError, AssertionError)


def test_correct_answers_pass():
    x = np.linspace(-0.6, 0.6, 12).reshape(3, 4)
    check_array(x.copy(), x)
    check_array(x.tolist(), x)
    check_scalar(0.1 + 0.2, 0.3)
    check_scalar(np.float64(2.0), 2)
    check_scalar(np.array(2.0), 2.0)
    check_array([1.0, np.inf], [1.0, np.inf])  # non-finite where expected is fine


def test_rigged_eq_object_fails_with_clear_message():
    msg = raises(check_array, RiggedEq(), [1.0, 2.0, 3.0])
    assert "RiggedEq" in msg and "np.asarray" in msg
    assert "RiggedEq" in raises(check_scalar, RiggedEq(), 1.0)


class RiggedArray(np.ndarray):
    """An ndarray subclass whose comparisons and subtraction always report a match."""

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape)

    def __abs__(self):
        return np.zeros(self.shape)

    __hash__ = None


def test_list_of_rigged_objects_fails():
    msg = raises(check_array, [RiggedEq(), RiggedEq(), RiggedEq()], [1.0, 2.0, 3.0])
    assert "could not be converted" in msg


def test_rigged_ndarray_subclass_is_compared_by_its_data():
    rigged = np.array([9.0, 9.0]).view(RiggedArray)
    msg = raises(check_array, rigged, [1.0, 2.0])
    assert "wrong value" in msg
    assert diagnose(rigged, {"m": [1.0, 2.0]}) is None


def test_lying_array_is_just_data():
    check_array(LyingArray([1.0, 2.0]), [1.0, 2.0])
    msg = raises(check_array, LyingArray([1.0, 5.0]), [1.0, 2.0])
    assert "wrong value" in msg


def test_none_string_dict_and_ragged_are_rejected():
    assert "return" in raises(check_array, None, [1.0])
    assert "string" in raises(check_array, "1.5", 1.5)
    assert "dict" in raises(check_array, {"a": 1.0}, [1.0])
    assert "could not be converted" in raises(check_array, [[1.0], [1.0, 2.0]], [1.0, 2.0])
    assert "complex" in raises(check_array, np.array([1 + 1j]), [1.0])


@pytest.mark.parametrize(
    ("got_shape", "expected_shape", "phrase"),
    [
        ((3, 1), (3,), "column vector"),
        ((1, 3), (3,), "row vector"),
        ((3,), (3, 1), "reshape(-1, 1)"),
        ((), (3,), "single number"),
        ((3,), (), "sum or mean"),
        ((2, 3), (3, 2), "transpose"),
        ((6,), (2, 3), "layout"),
        ((4,), (3,), "axis"),
    ],
)
def test_shape_errors_name_shapes_and_cause(got_shape, expected_shape, phrase):
    msg = raises(check_array, np.zeros(got_shape), np.zeros(expected_shape))
    assert f"expected shape {expected_shape}, got {got_shape}" in msg
    assert phrase in msg


def test_column_vector_message_exactly():
    msg = raises(check_array, np.zeros((3, 1)), np.zeros(3), name="step")
    expected = "`step`: expected shape (3,), got (3, 1): did you return a column vector?"
    assert msg.startswith(expected)


def test_nan_fails_with_clear_message():
    msg = raises(check_array, [1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    assert "contains NaN at index 1" in msg
    msg = raises(check_array, np.array([[1.0, 2.0], [np.inf, 0.0]]), np.ones((2, 2)))
    assert "infinity at index (1, 0)" in msg
    assert "NaN" in raises(check_scalar, float("nan"), 1.0)
    assert "NaN" in raises(check_finite, [np.nan])


def test_nan_where_expected_nan_passes_but_not_elsewhere():
    check_array([np.nan, 1.0], [np.nan, 1.0])
    assert "wrong value" in raises(check_array, [1.0, 1.0], [np.nan, 1.0])


def test_value_message_has_relative_error_and_values():
    msg = raises(check_array, [1.0, 2.5, 3.0], [1.0, 2.0, 3.0], name="w")
    # max |got - expected| = 0.5, max |expected| = 3  =>  relative error 0.5 / 3
    assert "max abs error 0.5 at index 1" in msg
    assert f"relative error {0.5 / 3:.3g}" in msg
    assert "1 of 3 entries differ" in msg
    assert "expected: [1., 2., 3.]" in msg and "got:" in msg and "2.5" in msg


@pytest.mark.parametrize(
    ("got", "expected"),
    [(5.0, 0.0), (np.float32(148.0), np.float32(0.0)), ([0.3, 0.2], [0.0, 0.0]), (1e300, 0.0),
     ([0.0, 2.0], [0.0, -0.0])],
)
def test_expected_zero_gives_the_absolute_error_and_no_warning(got, expected):
    # A relative error divides by max|expected| = 0: it must neither warn (a warning on stderr
    # costs a student the test cell's points) nor print a meaningless huge number.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        msg = raises(check_array, got, expected, name="variance")
    assert "`variance` has the wrong value: " in msg
    assert "max abs error" in msg and "no relative error as the expected value is 0" in msg
    assert re.search(r"relative error [\d.]|relative error inf", msg) is None, msg


def test_expected_zero_message_still_names_the_known_mistake():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        msg = raises(check_scalar, 148.0, 0.0, name="variance for B = n",
                     mistakes={"sampled with replacement": 148.0})
    assert "max abs error 148" in msg and "known mistake: sampled with replacement." in msg


def test_large_arrays_report_the_worst_entry_only():
    expected = np.arange(100.0)
    got = expected.copy()
    got[37] += 1.0
    msg = raises(check_array, got, expected)
    assert "at index 37: expected 37, got 38" in msg
    assert "[0., 1., 2." not in msg


def test_generic_hints_sign_factor_transpose():
    x = np.arange(1.0, 7.0)
    assert "opposite sign" in raises(check_array, -x, x)
    assert "times 0.5" in raises(check_array, 0.5 * x, x)
    a = np.arange(4.0).reshape(2, 2)
    assert "transpose" in raises(check_array, a.T, a)


def test_tolerances_are_allclose_semantics():
    check_array([1.0 + 5e-8], [1.0])  # within rtol=1e-7
    raises(check_array, [1.0 + 5e-7], [1.0])
    check_array([1.0 + 5e-7], [1.0], rtol=1e-6)
    check_array([5e-11], [0.0])  # within atol=1e-10
    raises(check_array, [5e-9], [0.0])
    check_array([5e-9], [0.0], atol=1e-8)
    check_scalar(1.0 + 1e-3, 1.0, rtol=1e-2)
    raises(check_scalar, 1.0 + 1e-3, 1.0, rtol=1e-4)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8),
    st.floats(1e-12, 1e-2),
)
def test_tolerance_property(values, rtol):
    expected = np.array(values)
    inside = expected + 0.5 * rtol * np.abs(expected)
    check_array(inside, expected, rtol=rtol, atol=0.0)
    outside = expected + 2 * rtol * np.abs(expected) + 1e-3
    raises(check_array, outside, expected, rtol=rtol, atol=0.0)


def test_diagnose_picks_the_first_matching_mistake():
    mistakes = {
        "forgot bias correction": [0.1, 0.1],
        "sign error": [-1.0, -1.0],
        "also sign error": [-1.0, -1.0],
        "wrong shape": [[-1.0], [-1.0]],
    }
    assert diagnose([-1.0, -1.0], mistakes) == "sign error"
    assert diagnose(np.array([0.1, 0.1]), mistakes) == "forgot bias correction"
    assert diagnose(np.array([[-1.0], [-1.0]]), mistakes) == "wrong shape"
    assert diagnose([5.0, 5.0], mistakes) is None
    assert diagnose(RiggedEq(), mistakes) is None
    assert diagnose([1.0], None) is None
    assert diagnose([1.0], {}) is None


def test_check_array_names_the_mistake_on_value_shape_and_nan_failures():
    mistakes = {"eps outside the square root": [1.0, 2.1], "column": [[1.0], [2.0]],
                "division by zero": [np.nan, 2.0]}
    msg = raises(check_array, [1.0, 2.1], [1.0, 2.0], mistakes=mistakes)
    assert msg.endswith("This matches a known mistake: eps outside the square root.")
    msg = raises(check_array, [[1.0], [2.0]], [1.0, 2.0], mistakes=mistakes)
    assert "column vector" in msg and "known mistake: column." in msg
    msg = raises(check_array, [np.nan, 2.0], [1.0, 2.0], mistakes=mistakes)
    assert "NaN" in msg and "known mistake: division by zero." in msg
    msg = raises(check_array, [1.0, 7.0], [1.0, 2.0], mistakes=mistakes)
    assert "known mistake" not in msg


def test_both_mistake_lines_start_with_the_public_constant():
    # the autograder finds the mistake's description after KNOWN_MISTAKE
    assert KNOWN_MISTAKE == "This matches a known mistake:"
    msg = raises(check_array, [2.0], [1.0], mistakes={"doubled": [2.0]})
    assert msg.splitlines()[-1] == f"{KNOWN_MISTAKE} doubled."
    msg = raises(check_choice, "b", "a", ["a", "b"], mistakes={"swapped": "b"})
    assert msg.splitlines()[-1] == f"{KNOWN_MISTAKE} swapped."


def test_check_scalar_requires_a_single_number():
    assert "shape (1,)" in raises(check_scalar, np.array([1.0]), 1.0)
    assert "sum or mean" in raises(check_scalar, np.ones(3), 1.0)
    msg = raises(check_scalar, 0.5, 1.0, mistakes={"halved": 0.5})
    assert "relative error 0.5" in msg and "known mistake: halved." in msg


def test_checks_do_not_mutate_their_arguments():
    got = np.array([1.0, np.nan, 3.0])
    expected = np.array([1.0, 2.0, 3.0])
    got_copy, expected_copy = got.copy(), expected.copy()
    mistakes = {"m": np.array([1.0, 2.0, 4.0])}
    raises(check_array, got, expected, mistakes=mistakes)
    raises(check_array, got[::-1], expected, mistakes=mistakes)
    check_array(expected, expected.copy())
    np.testing.assert_array_equal(got, got_copy)
    np.testing.assert_array_equal(expected, expected_copy)
    np.testing.assert_array_equal(mistakes["m"], [1.0, 2.0, 4.0])


def test_extreme_values_fail_without_numpy_warnings():
    # nbgrader treats anything on stderr as a failure, so the checks themselves stay silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raises(check_array, [1e308, -1e308, 1e-308], [-1e308, 1e308, 1e308])
        raises(check_array, [np.inf, 1.0], [-np.inf, 1.0])
        raises(check_array, [1e308, 1e308], [1e-300, 1e-300])
        raises(check_scalar, 1e308, -1e308)


def test_int_arrays_are_converted_to_float():
    assert as_float_array([1, 2]).dtype == np.float64
    check_array(np.array([1, 2]), [1.0, 2.0])
    assert check_shape([[1, 2]], (1, 2)).shape == (1, 2)


def test_check_not_mutated():
    x0 = np.array([1.0, 2.0])
    check_not_mutated(x0.copy(), x0, "x0")
    check_not_mutated(np.array([np.nan]), np.array([np.nan]), "x0")
    mutated = x0.copy()
    mutated -= 0.1
    msg = raises(check_not_mutated, x0, mutated, "x0")
    assert "your function changed its input `x0` in place; work on a copy" in msg
    assert "in place" in raises(check_not_mutated, x0, x0.reshape(2, 1), "x0")


def test_check_not_mutated_dicts():
    params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    copy = {k: v.copy() for k, v in params.items()}
    check_not_mutated(copy, params, "params")
    params["b"][0] = 1.0
    assert "Changed entries: b" in raises(check_not_mutated, copy, params, "params")
    assert "keys" in raises(check_not_mutated, copy, {"W": np.ones((2, 2))}, "params")


def test_check_type():
    check_type(np.zeros(2), np.ndarray)
    check_type(1.5, float)
    check_type(np.float64(1.5), float)
    check_type(3, int)
    check_type(np.int64(3), int)
    assert "should be of type ndarray, got list" in raises(check_type, [1.0], np.ndarray)
    assert "got bool" in raises(check_type, True, int)
    assert "return" in raises(check_type, None, float)
    msg = raises(check_array, [1.0], [1.0], expected_type=np.ndarray)
    assert "ndarray" in msg


def test_check_bool():
    check_bool(True, True)
    check_bool(np.bool_(False), False)
    assert "expected True, got False" in raises(check_bool, False, True)
    assert "bool" in raises(check_bool, 1, True)


def test_check_choice():
    choices = ["minimum", "maximum", "saddle"]
    check_choice(" Minimum ", "minimum", choices)
    assert "one of 'minimum', 'maximum', 'saddle'" in raises(check_choice, "min", "minimum",
                                                               choices)
    assert "a string" in raises(check_choice, 1, "minimum", choices)
    msg = raises(check_choice, "maximum", "minimum", choices,
                 mistakes={"read the sign of the second derivative backwards": "maximum"})
    assert "expected 'minimum', got 'maximum'" in msg
    assert "known mistake: read the sign of the second derivative backwards." in msg


@pytest.mark.parametrize("kwargs", [{"rtol": -1.0}, {"atol": -1e-3}, {"rtol": float("nan")}])
def test_invalid_tolerances_raise_value_error(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"Invalid {name}"):
        check_array([1.0], [1.0], **kwargs)
