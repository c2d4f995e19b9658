"""Layered checks for assignment tests: type, conversion, shape, finiteness, then value.

Every check raises :class:`CheckError` (an ``AssertionError``) whose message says what was
expected, what came back and the likely cause. Results are converted with
``np.asarray(result, dtype=float)`` before any comparison, so an object with a rigged
``__eq__`` cannot pass; whatever an object's ``__array__`` returns is treated as plain data.

    check_array(result, expected, name="step", mistakes={"sign error": wrong_value})
    check_scalar(loss, 0.25, name="loss")
    check_not_mutated(x0_copy, x0, name="x0")

Tolerances follow ``np.allclose``: an entry passes when ``|got - expected| <= atol +
rtol * |expected|``. The reported relative error is ``max|got - expected| / max|expected|``
(finite entries); when every expected entry is 0 the message gives the absolute error only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = [
    "CheckError",
    "KNOWN_MISTAKE",
    "as_float_array",
    "check_array",
    "check_bool",
    "check_choice",
    "check_finite",
    "check_not_mutated",
    "check_scalar",
    "check_shape",
    "check_type",
    "diagnose",
]

_SMALL = 20  # arrays up to this many entries are printed in full in messages

#: Start of the line naming a known mistake in a failure message: "<KNOWN_MISTAKE> <what>."
#: (the autograder reads the mistake's description back from it).
KNOWN_MISTAKE = "This matches a known mistake:"


class CheckError(AssertionError):
    """A check failed; the message explains what to fix."""


def _fmt(a: np.ndarray) -> str:
    """Short printable form of an array (full when small, summarised otherwise)."""
    return np.array2string(np.asarray(a), precision=10, separator=", ", threshold=_SMALL)


def _index(idx: tuple) -> str:
    return str(idx[0]) if len(idx) == 1 else str(tuple(int(i) for i in idx))


def _with_mistake(message: str, result, mistakes, rtol: float, atol: float) -> str:
    """Append the name of the known mistake the result matches, if any."""
    found = diagnose(result, mistakes, rtol=rtol, atol=atol) if mistakes else None
    return message if found is None else f"{message}\n{KNOWN_MISTAKE} {found}."


def as_float_array(result, name: str = "result") -> np.ndarray:
    """``np.asarray(result, dtype=float)``, or a CheckError saying why it cannot be done."""
    if result is None:
        raise CheckError(f"`{name}` is None: did you forget the `return` statement?")
    if isinstance(result, (str, bytes)):
        raise CheckError(f"`{name}` should be numbers, got the string {result!r}.")
    if isinstance(result, Mapping):
        raise CheckError(f"`{name}` should be an array of numbers, got a {type(result).__name__}.")
    try:
        if np.iscomplexobj(result):
            raise CheckError(f"`{name}` has complex values; the answer is real.")
        return np.asarray(result, dtype=float)
    except CheckError:
        raise
    except Exception as err:  # any failure of conversion is the student's object, not ours
        raise CheckError(
            f"`{name}` could not be converted to a float array with "
            f"np.asarray(..., dtype=float): got an object of type {type(result).__name__} "
            f"({type(err).__name__}: {err}). Return a numpy array or a list of numbers."
        ) from None


def _shape_hint(got: tuple, expected: tuple) -> str:
    """Likely cause of a shape mismatch."""
    n = math.prod(expected)
    if len(expected) == 1 and got == (n, 1):
        return "did you return a column vector? Flatten it with `.ravel()` or index `[:, 0]`."
    if len(expected) == 1 and got == (1, n):
        return "did you return a row vector? Flatten it with `.ravel()`."
    if expected == (n, 1) and got == (n,):
        return "a column vector was expected; use `.reshape(-1, 1)`."
    if got == () and expected != ():
        return "you returned a single number where an array was expected."
    if expected == () and got != ():
        return "an array came back where a single number was expected (missing sum or mean?)."
    if len(got) == len(expected) == 2 and got == expected[::-1]:
        return "the axes are swapped: did you forget or add a transpose?"
    if math.prod(got) == n:
        return "the number of entries is right but the layout is not (check reshape/axes)."
    return "check which axis you reduced over and the shapes of the intermediate arrays."


def check_shape(result, shape, name: str = "result") -> np.ndarray:
    """Convert `result` to a float array and check its shape; return the array."""
    arr = as_float_array(result, name)
    shape = tuple(shape)
    if arr.shape != shape:
        raise CheckError(
            f"`{name}`: expected shape {shape}, got {arr.shape}: {_shape_hint(arr.shape, shape)}"
        )
    return arr


def check_finite(result, name: str = "result", expected=None) -> np.ndarray:
    """Check there is no NaN or infinity (except where `expected` has the same value)."""
    arr = as_float_array(result, name)
    bad = ~np.isfinite(arr)
    if expected is not None:
        exp = np.asarray(expected, dtype=float)
        bad &= np.isfinite(exp) if exp.shape == arr.shape else True
    if bad.any():
        first = tuple(np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(arr[first]) else "infinity"
        where = f" at index {_index(first)}" if arr.ndim else ""
        raise CheckError(
            f"`{name}` contains {kind}{where} ({int(bad.sum())} of {arr.size} entries are not "
            "finite): look for a division by zero, log of 0 or of a negative number, "
            "or a step that diverges (learning rate too large)."
        )
    return arr


def _mismatch(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Boolean mask of entries outside ``atol + rtol * |expected|`` (NaN matches NaN)."""
    with np.errstate(all="ignore"):
        close = (np.abs(got - exp) <= atol + rtol * np.abs(exp)) & np.isfinite(exp)
    same = (got == exp) | (np.isnan(got) & np.isnan(exp))
    return ~(close | same)


def _value_hint(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> str:
    """Generic likely causes: sign flip, constant factor, transpose."""
    if not _mismatch(got, -exp, rtol, atol).any():
        return "\nLikely cause: the result has the opposite sign; check the sign."
    nz = np.abs(exp) > atol
    if got.size > 1 and nz.any() and np.all(np.isfinite(got)):
        with np.errstate(all="ignore"):
            ratio = got[nz] / exp[nz]
        k = ratio.flat[0]
        zeros_ok = not _mismatch(got[~nz], 0 * got[~nz], rtol, atol).any()
        if zeros_ok and np.allclose(ratio, k, rtol=1e-9) and abs(k) > 0 and abs(k - 1) > 1e-6:
            return f"\nLikely cause: the result is the expected value times {k:.6g} (a factor)."
    square = got.ndim == 2 and got.shape[0] == got.shape[1]
    if square and not _mismatch(got.T, exp, rtol, atol).any():
        return "\nLikely cause: the result is the transpose of the expected value."
    return ""


def _value_message(got, exp, name: str, rtol: float, atol: float) -> str | None:
    bad = _mismatch(got, exp, rtol, atol)
    if not bad.any():
        return None
    with np.errstate(all="ignore"):
        err = np.where(bad, np.abs(got - exp), 0.0)
    worst = np.unravel_index(int(np.nanargmax(err)), err.shape) if err.ndim else ()
    max_abs = float(err[worst])
    finite = np.abs(exp[np.isfinite(exp)])
    scale = float(np.max(finite, initial=0.0))
    where = f" at index {_index(worst)}" if got.ndim else ""
    count = f"{int(bad.sum())} of {got.size} entries differ; " if got.ndim else ""
    if scale > 0:  # Python floats: no numpy warning even if the ratio overflows to inf
        error = f"relative error {max_abs / scale:.3g}"
    else:  # every (finite) expected entry is 0: only the absolute error says how far off
        error = "no relative error as the expected value is 0"
    msg = (
        f"`{name}` has the wrong value: {count}max abs error {max_abs:.3g}{where}, "
        f"{error} (rtol={rtol:g}, atol={atol:g})."
    )
    if got.size <= _SMALL:
        msg += f"\n  expected: {_fmt(exp)}\n  got:      {_fmt(got)}"
    else:
        msg += f"\n  at index {_index(worst)}: expected {exp[worst]:.10g}, got {got[worst]:.10g}"
    return msg + _value_hint(got, exp, rtol, atol)


def diagnose(result, mistakes, rtol: float = 1e-7, atol: float = 1e-10) -> str | None:
    """Description of the first known mistake whose value `result` matches, else None.

    `mistakes` maps a description ("Adam without bias correction") to the value a
    solution with that mistake returns. A result that cannot be converted matches nothing.
    """
    if not mistakes:
        return None
    try:
        got = as_float_array(result)
    except CheckError:
        return None
    for description, value in mistakes.items():
        try:
            wrong = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            continue
        if wrong.shape == got.shape and not _mismatch(got, wrong, rtol, atol).any():
            return description
    return None


def _check_tolerances(rtol: float, atol: float) -> None:
    for label, tol in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(tol, (int, float)) and 0 <= tol < np.inf):
            raise ValueError(f"Invalid {label}: {tol!r} (must be a finite number >= 0)")


def check_array(
    result,
    expected,
    name: str = "result",
    rtol: float = 1e-7,
    atol: float = 1e-10,
    mistakes=None,
    expected_type=None,
) -> None:
    """Layered check of an array result: (type), conversion, shape, finite, value.

    On failure the message names a matching entry of `mistakes` (see :func:`diagnose`).
    `expected_type` (a type or tuple of types) adds an ``isinstance`` check first.
    """
    _check_tolerances(rtol, atol)
    if expected_type is not None:
        check_type(result, expected_type, name)
    exp = np.asarray(expected, dtype=float)
    got = as_float_array(result, name)
    try:
        check_shape(got, exp.shape, name)
        check_finite(got, name, expected=exp)
        msg = _value_message(got, exp, name, rtol, atol)
    except CheckError as err:
        msg = str(err)
    if msg is not None:
        raise CheckError(_with_mistake(msg, got, mistakes, rtol, atol))


def check_scalar(
    result, expected, name: str = "result", rtol: float = 1e-7, atol: float = 1e-10, mistakes=None
) -> None:
    """Check that `result` is a single real number close to `expected`."""
    got = as_float_array(result, name)
    if got.shape != ():
        hint = "use `.item()` or `float(...)`" if got.size == 1 else "missing sum or mean?"
        msg = f"`{name}`: expected a single number, got an array of shape {got.shape} ({hint})."
        raise CheckError(_with_mistake(msg, got, mistakes, rtol, atol))
    check_array(got, float(expected), name, rtol=rtol, atol=atol, mistakes=mistakes)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def check_not_mutated(original_copy, arg, name: str = "x") -> None:
    """Check that `arg` (array or dict of arrays) still equals the copy taken before the call."""
    msg = (
        f"your function changed its input `{name}` in place; work on a copy "
        f"(e.g. `x = x - lr * g` rather than `x -= lr * g`, or `{name}.copy()`)."
    )
    if isinstance(original_copy, Mapping):
        if not isinstance(arg, Mapping) or set(arg) != set(original_copy):
            raise CheckError(msg + " Its keys changed.")
        changed = [k for k in original_copy if not _same(original_copy[k], arg[k])]
        if changed:
            raise CheckError(msg + f" Changed entries: {', '.join(map(str, changed))}.")
    elif not _same(original_copy, arg):
        raise CheckError(msg)


def _type_names(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(getattr(t, "__name__", str(t)) for t in types)


def check_type(result, expected_type, name: str = "result") -> None:
    """``isinstance(result, expected_type)``, with a message naming both types."""
    if expected_type is float:  # numpy floats count, Python and numpy ints do not
        expected_type = (float, np.floating)
    if expected_type is int:
        expected_type = (int, np.integer)
    ok = isinstance(result, expected_type)
    if ok and not _allows_bool(expected_type) and isinstance(result, (bool, np.bool_)):
        ok = False
    if not ok:
        hint = " Did you forget the `return` statement?" if result is None else ""
        raise CheckError(
            f"`{name}` should be of type {_type_names(expected_type)}, "
            f"got {type(result).__name__}.{hint}"
        )


def _allows_bool(expected_type) -> bool:
    types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    return any(t in (bool, np.bool_, object) for t in types)


def check_bool(result, expected: bool, name: str = "result") -> None:
    """Check a True/False answer (Python or numpy bool)."""
    check_type(result, (bool, np.bool_), name)
    if bool(result) != bool(expected):
        raise CheckError(f"`{name}`: expected {bool(expected)}, got {bool(result)}.")


def check_choice(result, expected: str, choices, name: str = "answer", mistakes=None) -> None:
    """Check a string answer from a fixed set, ignoring case and surrounding spaces.

    `mistakes` maps a description to a wrong choice, e.g. ``{"a maximum has H < 0": "maximum"}``.
    """
    options = [str(c).strip().lower() for c in choices]
    listed = ", ".join(repr(c) for c in options)
    if not isinstance(result, str):
        raise CheckError(f"`{name}` should be one of {listed} (a string), got {result!r}.")
    got = result.strip().lower()
    if got not in options:
        raise CheckError(f"`{name}` should be one of {listed}, got {result!r}.")
    if got != str(expected).strip().lower():
        msg = f"`{name}`: expected {str(expected)!r}, got {result!r}."
        for description, wrong in (mistakes or {}).items():
            if str(wrong).strip().lower() == got:
                msg += f"\n{KNOWN_MISTAKE} {description}."
                break
        raise CheckError(msg)

