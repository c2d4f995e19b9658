"""The channel between the trusted process and the student's kernel (``autograder.run.rpc``).

The codec (plain data only, decoded without running code), handles (kernel functions,
callbacks, returned objects), write-back of in-place changes, shared random generators,
exceptions, epochs and the "closed" notice, frame limits, and what the trusted side
refuses to serve. The kernel's end is a real ``Peer`` serving in a thread over a socket pair.
"""

from __future__ import annotations

import functools
import json
import math
import socket
import struct
import threading
import warnings
from collections import OrderedDict, defaultdict, namedtuple
from contextlib import suppress
from enum import IntEnum

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.run import rpc
from course_lib import autodiff, checks

Pair = namedtuple("Pair", "w v")


# --- the codec ------------------------------------------------------------------------
def roundtrip(x):
    """``x`` encoded, through strict JSON (no bare NaN), decoded."""
    return rpc.dec(json.loads(json.dumps(rpc.enc(x), allow_nan=False)))


def same(a, b) -> bool:
    """Exactly the same value and type (floats bit for bit, NaN and -0.0 included)."""
    if type(a) is not type(b):
        return isinstance(a, tuple) and hasattr(type(a), "_fields") and \
            type(a).__name__ == type(b).__name__ and a._fields == b._fields and \
            all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):  # (a Python NaN travels as "nan": its sign and payload go)
        return struct.pack("<d", a) == struct.pack("<d", b) or (a != a and b != b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and np.shape(a) == np.shape(b) and \
            np.asarray(a).tobytes() == np.asarray(b).tobytes()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.random.Generator):
        return type(a.bit_generator) is type(b.bit_generator) and \
            json.dumps(rpc._state(a), sort_keys=True) == json.dumps(rpc._state(b), sort_keys=True)
    return a == b


PLAIN = {
    "none": None, "true": True, "false": False, "zero": 0, "negative int": -7,
    "int 2**53 - 1": 2**53 - 1, "int 2**53": 2**53, "big int": 2**80, "big negative": -3**70,
    "float": 0.1, "negative zero": -0.0, "nan": float("nan"), "inf": float("inf"),
    "minus inf": float("-inf"), "tiny": 5e-324, "complex": 1 + 2j,
    "complex nan inf": complex(float("nan"), float("-inf")), "str": "text",
    "unicode": "é∑\x00\n", "empty str": "", "bytes": b"\x00\xff\n", "empty bytes": b"",
    "list": [1, (2.0, "a")], "tuple": (1, [None]), "empty tuple": (), "set": {1, 2.5, "a"},
    "frozenset": frozenset({3, (1, 2)}), "dict": {"a": [1.0], 3: None, (1, 2): b"k"},
    "named tuple": Pair(np.zeros(1), 2.5), "slice": slice(1, None, -2),
    "slice of floats": slice(0.5, np.int64(3)), "ellipsis": Ellipsis,
}
SCALARS = [np.bool_(True), np.int8(-8), np.int16(300), np.int32(-7), np.int64(2**62),
           np.uint8(255), np.uint16(7), np.uint32(2**31), np.uint64(2**64 - 1),
           np.float16(0.1), np.float32(-0.0), np.float64(np.nan), np.longdouble(1) / 3,
           np.complex64(1 - 2j), np.complex128(complex(0.1, np.inf)), np.clongdouble(1j) / 3]
ARRAYS = {
    "bool": np.array([True, False]), "int8": np.arange(-3, 3, dtype=np.int8),
    "int64 2-D": np.arange(6).reshape(2, 3), "uint16": np.array([0, 65535], np.uint16),
    "uint64": np.array([2**64 - 1], np.uint64), "float16": np.array([0.1, -2], np.float16),
    "float32": np.arange(6, dtype=np.float32).reshape(3, 2) / 7,
    "float64 specials": np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]),
    "longdouble": np.arange(3, dtype=np.longdouble) / 3,
    "complex64": np.array([1 + 1j, np.nan], np.complex64),
    "complex128 3-D": (np.arange(8) * (1 + 0.5j)).reshape(2, 2, 2),
    "big-endian float": np.arange(3, dtype=">f8"), "big-endian int": np.arange(3, dtype=">i4"),
    "0-d": np.array(3.5), "empty": np.zeros((0, 3)), "fortran": np.asfortranarray(np.eye(3)),
    "strided view": np.arange(10.0)[::3],
}


@pytest.mark.parametrize("value", PLAIN.values(), ids=PLAIN.keys())
def test_plain_values_roundtrip_exactly(value):
    got = roundtrip(value)
    assert same(got, value), (got, value)
    if isinstance(value, Pair):
        assert got.w.dtype == np.float64 and got.v == 2.5 and got._fields == ("w", "v")


@pytest.mark.parametrize("value", SCALARS, ids=lambda v: type(v).__name__)
def test_numpy_scalars_roundtrip_with_their_dtype(value):
    got = roundtrip(value)
    assert type(got) is type(value) and got.dtype == value.dtype
    if value.dtype.kind in "fc" and value.dtype.itemsize > 8 * (value.dtype.kind == "c") + 8:
        assert got == value  # long double: the padding of a copy is anyone's
    else:
        assert np.asarray(got).tobytes() == np.asarray(value).tobytes()


@pytest.mark.parametrize("value", ARRAYS.values(), ids=ARRAYS.keys())
def test_arrays_of_every_plain_kind_roundtrip_bit_for_bit(value):
    got = roundtrip(value)
    assert type(got) is np.ndarray and got.dtype == value.dtype and got.shape == value.shape
    assert got.tobytes() == np.ascontiguousarray(value).tobytes()
    assert got.flags.writeable and got.flags.owndata  # a fresh array, not a view of bytes


def test_integers_are_exact_beyond_double_precision():
    assert rpc.enc(2**53 - 1) == 2**53 - 1  # a JSON number
    assert rpc.enc(2**53) == {"~": "int", "v": "9007199254740992"}
    assert roundtrip(2**53 + 1) == 2**53 + 1 and roundtrip(-(10**40) - 1) == -(10**40) - 1


def test_special_floats_travel_as_text():
    assert rpc.enc(float("nan")) == {"~": "float", "v": "nan"}
    assert rpc.enc(float("-inf")) == {"~": "float", "v": "-inf"}
    assert rpc.enc(0.1) == 0.1 and rpc.enc(-0.0) == 0.0 and math.copysign(1, roundtrip(-0.0)) < 0


@pytest.mark.parametrize("bitgen", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_a_random_generator_roundtrips_its_state(bitgen):
    rng = np.random.Generator(getattr(np.random, bitgen)(12345))
    rng.random(3)  # not at its seed any more
    got = roundtrip(rng)
    assert got is not rng and type(got.bit_generator).__name__ == bitgen
    assert same(got, rng)
    np.testing.assert_array_equal(got.random(5), rng.random(5))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.binary(max_size=5) | st.complex_numbers(),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=3),
    max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_nested_plain_data_roundtrips(value):
    assert same(roundtrip(value), value)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(width=32), max_size=20), st.sampled_from(["<f4", ">f4", "<f8"]))
def test_float_arrays_roundtrip_bit_for_bit(values, dtype):
    a = np.array(values, dtype=dtype)
    assert roundtrip(a).tobytes() == a.tobytes()


class Liar(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class Color(IntEnum):
    RED = 1


class Point(Pair):
    def norm(self):
        return 0.0


with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    matrix = np.matrix([[1.0]])
NOT_PLAIN = {
    "float subclass": Liar(1.0), "int enum": Color.RED, "object array": np.array([1, "a"], object),
    "string array": np.array(["a"]), "bytes array": np.array([b"a"]),
    "datetime array": np.array(["2024-01-01"], "datetime64[s]"),
    "structured array": np.zeros(2, [("a", "<f8")]), "masked array": np.ma.masked_array([1.0]),
    "matrix": matrix, "str scalar": np.str_("a"), "datetime scalar":
    np.datetime64(0, "s"), "bytearray": bytearray(b"x"), "memoryview": memoryview(b"x"),
    "object": object(), "function": lambda x: x, "OrderedDict": OrderedDict(a=1),
    "defaultdict": defaultdict(int), "list subclass": type("L", (list,), {})(),
    "named tuple with methods": Point(1, 2), "nested": [1, {"k": object()}],
    "legacy RandomState": np.random.RandomState(0), "module": np,
}


@pytest.mark.parametrize("value", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_anything_else_is_not_plain_data_but_can_be_a_handle(value):
    with pytest.raises(rpc.NotPlain):
        rpc.enc(value)
    exported = []
    encoded = rpc.enc(value, export=lambda x: exported.append(x) or {"~": "ref", "id": 1})
    if type(value) is list:  # only the part that is not plain data is a handle
        assert exported == [value[1]["k"]] and encoded == {"~": "list", "v": [1, {
            "~": "dict", "v": [["k", {"~": "ref", "id": 1}]]}]}
    else:
        assert len(exported) == 1 and exported[0] is value and encoded == {"~": "ref", "id": 1}


def test_nesting_is_limited():
    deep = [0]
    for _ in range(45):
        deep = [deep]
    with pytest.raises(rpc.NotPlain, match="nested too deep"):
        rpc.enc(deep)


@pytest.mark.parametrize("dtype", ["|O", "<U3", "|S3", "|V8", "<M8[s]", "<m8[s]", "f8,i4"])
@pytest.mark.parametrize("tag", ["nd", "npscalar"])
def test_decoding_rejects_dtypes_that_are_not_plain(tag, dtype):
    with pytest.raises(ValueError, match="not a plain dtype"):
        rpc.dec({"~": tag, "dtype": dtype, "shape": [1], "v": "AAAAAAAAAAA="})


@pytest.mark.parametrize("data", [
    {"~": "pickle", "v": "gASV"}, {"~": "ref", "id": 1}, {"~": "own", "id": 1},
    {"~": "rngkey", "key": 1}, {"~": "opaque"}, {"v": 1}, {"a": 1},
    {"~": "list", "v": [{"~": "exec", "v": "import os"}]},
], ids=lambda d: json.dumps(d)[:40])
def test_decoding_rejects_unknown_tags(data):
    with pytest.raises(ValueError, match="unknown encoding"):
        rpc.dec(data)


@pytest.mark.parametrize("data", [[1, 2], {"~": "list", "v": [[1]]}, {"~": "dict", "v": [
    [[1], 2]]}, (1, 2), {1, 2}, b"x", object()],
    ids=lambda d: "object()" if type(d) is object else repr(d))  # the same in every xdist worker
def test_decoding_rejects_bare_lists_and_other_objects(data):
    with pytest.raises(ValueError, match="malformed encoding"):
        rpc.dec(data)


@pytest.mark.parametrize("bitgen", ["Generator", "RandomState", "default_rng", "seed",
                                    "__class__", "os"])
def test_decoding_builds_only_bit_generators(bitgen):
    with pytest.raises(ValueError, match="not a bit generator"):
        rpc.dec({"~": "rng", "bitgen": bitgen, "state": {}})


@pytest.mark.parametrize("name, fields", [("P", ["x); import os; (x"]), ("import os", ["x"]),
                                          ("P", ["_private"]), ("P", ["class"])])
def test_named_tuple_names_are_checked_before_use(name, fields):
    with pytest.raises(ValueError, match="identifiers|underscore|keyword"):
        rpc.dec({"~": "ntuple", "name": name, "fields": fields, "v": [1]})


def test_the_same_named_tuple_class_serves_every_decoding():
    a, b = roundtrip(Pair(1, 2)), roundtrip(Pair(3, 4))
    assert type(a) is type(b) and type(a) is not Pair and type(a).__name__ == "Pair"
    assert (a.w, a.v, b.w, b.v) == (1, 2, 3, 4)


# --- a grader and a kernel over a socket pair -------------------------------------------
class Channel:
    """The grader's end (``trusted``) and the kernel's end serving ``ns`` in a thread."""

    def __init__(self, ns: dict):
        self.gsock, self.ksock = socket.socketpair()
        for s in (self.gsock, self.ksock):
            s.settimeout(30)  # a test that hangs fails instead
        self.grader = rpc.Peer(self.gsock, trusted=True)
        self.kernel = rpc.Peer(self.ksock, trusted=False, ns=ns)
        self.stopped: list[BaseException] = []  # what ended the kernel's serving
        self.thread = None

    def serve(self, epoch: int) -> None:
        self.grader.epoch = epoch

        def run():
            try:
                self.kernel.serve(epoch)
            except BaseException as err:  # noqa: BLE001
                self.stopped.append(err)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def get(self, *names):
        got = self.grader.request("bindings", names=list(names))
        return got[names[0]] if len(names) == 1 else got

    def end(self) -> None:
        with suppress(rpc.ChannelClosed):
            self.grader.send({"op": "end", "epoch": self.grader.epoch})
        self.thread.join(10)
        assert not self.thread.is_alive()

    def close(self) -> None:
        self.gsock.close()
        self.ksock.close()


@pytest.fixture
def channel():
    made = []

    def make(**ns):
        ch = Channel(ns)
        ch.serve(1)
        made.append(ch)
        return ch

    yield make
    for ch in made:
        ch.end()
        ch.close()


def test_bindings_give_handles_for_functions_and_copies_of_values(channel):
    w = np.array([1.0, 2.0])
    ch = channel(double=lambda x: 2 * x, w=w, n=3)
    got = ch.get("double", "w", "n", "missing")
    assert set(got) == {"double", "w", "n"}
    assert type(got["double"]) is rpc.Remote and got["double"].__name__ == "<lambda>"
    assert got["w"] is not w and same(got["w"], w) and got["n"] == 3
    got["w"][0] = 99.0
    assert w[0] == 1.0  # a copy


def test_calling_a_kernel_function_sends_and_returns_plain_data(channel):
    seen = []

    def scale(x, factor=1):
        seen.append((type(x), getattr(x, "dtype", None), type(factor)))
        return x * factor

    ch = channel(scale=scale)
    f = ch.get("scale")
    calls = ch.grader.calls
    out = f(np.arange(3.0), factor=np.float32(2))
    assert type(out) is np.ndarray and out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])
    assert seen == [(np.ndarray, np.float64, np.float32)]
    assert f(2, 3) == 6 and f.__name__ == "scale" and f.__qualname__ == "scale"
    assert seen[1:] == [(int, None, int)] and ch.grader.calls == calls + 2


def test_a_function_passed_in_is_called_back_in_the_trusted_process(channel):
    def apply_twice(f, x):
        return f(f(x))

    ch = channel(apply_twice=apply_twice)
    seen = []

    def gradient(v):  # a test's callback: it runs here, not in the kernel
        seen.append((threading.current_thread() is threading.main_thread(), type(v), v))
        return v + 1

    assert ch.get("apply_twice")(gradient, np.float64(1.0)) == 3.0
    assert seen == [(True, np.float64, 1.0), (True, np.float64, 2.0)]


def test_callbacks_nest(channel):
    def outer(cb, x):
        return cb(x) * 10

    def down(cb, n):
        return 0 if n == 0 else 1 + cb(n - 1)

    ch = channel(outer=outer, down=down, double=lambda x: 2 * x)
    f = ch.get("outer", "down", "double")
    double, outer_, down_ = f["double"], f["outer"], f["down"]
    assert outer_(lambda v: double(v) + 1, 3) == 70  # grader -> kernel -> grader -> kernel

    def again(n):
        return down_(again, n)

    assert down_(again, 6) == 6  # twelve crossings deep


def test_a_returned_object_stays_in_the_kernel_with_its_attributes_and_operators(channel):
    class Counter:
        def __init__(self, value):
            self.value = value

        def bump(self, by=1):
            self.value += by
            return self

        def __add__(self, other):
            return Counter(self.value + other)

        def __radd__(self, other):
            return other + self.value + 1000

        def __neg__(self):
            return -self.value

        def __eq__(self, other):  # a lie the grader must never hear
            return True

        def __lt__(self, other):
            return True

        def __bool__(self):
            return True

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return self.value * 10 + i

        def __contains__(self, x):
            return True

        def __float__(self):
            return float(self.value)

        def __call__(self, t):
            return self.value * t

        def __repr__(self):
            return f"Counter({self.value})"

        def __format__(self, spec):
            return "C" + format(self.value, spec)

        __hash__ = object.__hash__

    ch = channel(Counter=Counter)
    c = ch.get("Counter")(5)
    assert type(c) is rpc.Remote and c._type.endswith("Counter")
    assert c.value == 5 and c.bump(2) is c and c.value == 7  # the same object, same handle
    bigger = c + 1
    assert type(bigger) is rpc.Remote and bigger is not c and bigger.value == 8
    assert 1 + c == 1008 and -c == -7 and len(c) == 3 and c[2] == 72
    assert float(c) == 7.0 and c(3) == 21 and repr(c) == "Counter(7)" and f"{c:.1f}" == "C7.0"
    c.value = 1
    assert c.value == 1 and float(c) == 1.0
    with pytest.raises(AttributeError, match="'Counter' object has no attribute 'nope'"):
        c.nope  # noqa: B018


def test_a_returned_object_is_never_compared_or_tested_for_truth(channel):
    class Yes:
        def __eq__(self, other):
            return True

        __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = __eq__

        def __bool__(self):
            return True

        __hash__ = object.__hash__

    ch = channel(Yes=Yes)
    yes = ch.get("Yes")()
    calls = ch.grader.calls
    refused = (r"^your code returned a '.*Yes' object, not plain data \(numbers, strings, "
               r"arrays, lists, tuples, dicts\): the grader does not compare it or test its "
               r"truth; return plain data$")
    for judge in (lambda: yes == 2.5, lambda: yes != 2.5, lambda: yes < 1, lambda: yes <= 1,
                  lambda: yes > 1, lambda: yes >= 1, lambda: bool(yes), lambda: 2.5 in yes,
                  lambda: not yes, lambda: 2.5 == yes, lambda: [yes] == [2.5]):
        with pytest.raises(TypeError, match=refused):
            judge()
    assert ch.grader.calls == calls  # the kernel was not even asked
    assert {yes: 1}[yes] == 1  # hashed where it is (a handle is its own key)


def test_a_returned_object_becomes_an_array_only_of_numbers(channel):
    class Numbers:
        def __array__(self, dtype=None, copy=None):
            return np.array([1.0, 2.5])

    class Objects:
        def __array__(self, dtype=None, copy=None):
            return np.array([1.0, "a"], dtype=object)

    ch = channel(Numbers=Numbers, Objects=Objects)
    got = np.asarray(ch.get("Numbers")())
    assert type(got) is np.ndarray and got.tolist() == [1.0, 2.5]
    assert np.asarray(ch.get("Numbers")(), dtype=np.float32).dtype == np.float32
    assert np.allclose(ch.get("Numbers")(), [1.0, 2.5])
    with pytest.raises(TypeError, match=r"^your code returned a '.*Objects' object that is not "
                                        r"an array of numbers$"):
        np.asarray(ch.get("Objects")())


def test_a_returned_generator_is_iterated_through_the_channel(channel):
    def squares_of(n):
        for i in range(n):
            yield i * i

    ch = channel(squares_of=squares_of)
    f = ch.get("squares_of")
    assert list(f(4)) == [0, 1, 4, 9]
    g = f(2)
    assert iter(g) is g
    assert next(g) == 0 and next(g) == 1
    with pytest.raises(StopIteration):
        next(g)
    assert sum(x for x in f(3)) == 5 and [x for x in f(0)] == []


def test_a_remote_function_has_a_name_but_no_dunders(channel):
    def gd_step(w, grad, lr):
        return w

    ch = channel(gd_step=gd_step, obj=object())
    f, obj = ch.get("gd_step"), ch.get("obj")
    calls = ch.grader.calls
    assert f.__name__ == "gd_step" and f.__qualname__ == "gd_step"
    for name in ("__globals__", "__code__", "__closure__", "__dict__"):
        with pytest.raises(AttributeError):
            getattr(f, name)
    with pytest.raises(AttributeError):
        obj.__name__  # noqa: B018
    assert ch.grader.calls == calls  # asked nothing of the kernel


def test_arguments_changed_in_place_are_written_back(channel):
    def step(w, lr, log=None, seen=None, opts=None):
        w -= lr  # in place, on purpose
        if log is not None:
            log.append(len(log))
        if seen is not None:
            seen.add("x")
        if opts is not None:
            opts["t"] = opts.get("t", 0) + 1

    def honest(w, lr):
        w = w - lr
        return w

    ch = channel(step=step, honest=honest)
    f = ch.get("step", "honest")
    w, log, seen, opts = np.array([1.0, 2.0]), [7], {"a"}, {"t": 1}
    keep = w.copy()
    assert f["step"](w, 0.5, log, seen=seen, opts=opts) is None
    np.testing.assert_array_equal(w, [0.5, 1.5])
    assert log == [7, 1] and seen == {"a", "x"} and opts == {"t": 2}
    with pytest.raises(checks.CheckError, match="changed its input `w` in place"):
        checks.check_not_mutated(keep, w, "w")
    w2 = np.array([1.0, 2.0])
    keep2 = w2.copy()
    np.testing.assert_array_equal(f["honest"](w2, 0.5), [0.5, 1.5])
    checks.check_not_mutated(keep2, w2, "w")
    np.testing.assert_array_equal(w2, [1.0, 2.0])


def test_an_array_inside_a_dict_changed_in_place_is_written_back(channel):
    def step(params):
        params["W"] -= 1.0

    ch = channel(step=step)
    w = np.ones(2)
    params = {"W": w}
    ch.get("step")(params)
    np.testing.assert_array_equal(params["W"], [0.0, 0.0])  # holds today
    assert params["W"] is w  # fails today: a new array


def test_a_generator_passed_in_stays_in_step_with_the_test(channel):
    def draw(rng):
        return rng.random()

    def sampler(rng):
        while True:
            yield int(rng.integers(0, 1000))

    held = []
    ch = channel(draw=draw, sampler=sampler, hold=held.append)
    f = ch.get("draw", "sampler", "hold")
    rng, ref = np.random.default_rng(0), np.random.default_rng(0)
    assert f["draw"](rng) == ref.random()
    assert rng.random() == ref.random()  # the test's generator advanced with the call
    s = f["sampler"](rng)  # lazy: nothing drawn yet
    assert rng.random() == ref.random()
    got = [next(s), int(rng.integers(0, 1000)), next(s), next(s), int(rng.integers(0, 1000))]
    assert got == [int(ref.integers(0, 1000)) for _ in range(5)]
    f["hold"](rng)
    f["hold"](rng)
    assert held[0] is held[1]  # one object in the kernel per generator


def test_a_kernel_exception_arrives_as_its_builtin_class_with_the_students_traceback(channel):
    class LearningRateError(ValueError):
        pass

    def bad_lr(lr):
        raise LearningRateError(f"Invalid learning rate: {lr}")

    ch = channel(bad_lr=bad_lr)
    with pytest.raises(ValueError) as caught:
        ch.get("bad_lr")(-1.0)
    err = caught.value
    assert type(err) is ValueError and str(err) == "Invalid learning rate: -1.0"
    (note,) = err.__notes__
    assert note.startswith("In your code (the student's kernel):\n"
                           "Traceback (most recent call last):\n")
    assert ", in bad_lr\n" in note and 'raise LearningRateError(f"Invalid learning rate: {lr}")' \
        in note
    assert note.endswith("LearningRateError: Invalid learning rate: -1.0")
    assert rpc.__file__ not in note and "_serve" not in note and note.count("File ") == 1


def test_linalg_error_arrives_as_itself_and_an_unknown_class_as_exception(channel):
    class Weird(Exception):
        pass

    def solve(h):
        return np.linalg.solve(h, np.ones(2))

    def weird():
        raise Weird("odd")

    ch = channel(solve=solve, weird=weird)
    with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):
        ch.get("solve")(np.zeros((2, 2)))
    with pytest.raises(Exception) as caught:
        ch.get("weird")()
    assert type(caught.value) is Exception and str(caught.value) == "odd"
    assert ch.get("solve")(np.eye(2)).tolist() == [1.0, 1.0]  # the channel still works


def test_a_callbacks_exception_reaches_the_kernel_without_the_tests_traceback(channel):
    def call(cb):
        try:
            cb()
        except Exception as err:  # noqa: BLE001
            return [type(err).__name__, str(err), getattr(err, "__notes__", None)]
        return None

    def secret():
        raise ArithmeticError("not this way")

    ch = channel(call=call)
    assert ch.get("call")(secret) == ["ArithmeticError", "not this way", None]


def test_a_key_error_keeps_its_message():
    err = rpc.exc_from(rpc.exc_record(KeyError("k")))
    assert type(err) is KeyError and str(err) == "'k'"


@pytest.mark.parametrize("record, cls, message", [
    (["ValueError", "m"], ValueError, "m"), (["numpy.linalg.LinAlgError", "m"],
                                             np.linalg.LinAlgError, "m"),
    (["LinAlgError", "m"], Exception, "m"), (["KeyboardInterrupt", "m"], Exception, "m"),
    (["SystemExit", "m"], Exception, "m"), (["GeneratorExit", "m"], Exception, "m"),
    (["open", "m"], Exception, "m"), (["type", "m"], Exception, "m"),
    (["os.system", "m"], Exception, "m"), (["__import__", "m"], Exception, "m"),
    (["StopIteration", ""], StopIteration, ""), (["ZeroDivisionError", "x"], ZeroDivisionError,
                                                 "x"),
])
def test_an_exception_record_names_only_builtin_or_known_classes(record, cls, message):
    err = rpc.exc_from(record)
    assert type(err) is cls and str(err) == message and err.args == ((message,) if message
                                                                      else ())
    assert not hasattr(err, "__notes__")


def test_an_exception_record_keeps_the_nearest_builtin_class_and_cuts_long_messages():
    class Mine(KeyError):
        pass

    name, message, text = rpc.exc_record(Mine("x" * 5000))
    assert (name, len(message), text) == ("KeyError", 4000, "")


def test_an_interrupt_in_the_kernel_is_a_timeout_then_the_cell_is_closed(channel):
    ran = []

    def slow():
        raise KeyboardInterrupt  # the cell's time limit, arriving during the call

    def count():
        ran.append(1)
        return len(ran)

    ch = channel(slow=slow, count=count)
    f = ch.get("slow", "count")
    with pytest.raises(TimeoutError, match=r"^interrupted: KeyboardInterrupt \(the cell's time "
                                           r"limit\?\)$"):
        f["slow"]()
    ch.thread.join(10)
    assert [type(e) for e in ch.stopped] == [KeyboardInterrupt]
    calls = ch.grader.calls
    with pytest.raises(rpc.ChannelClosed, match="^the kernel stopped serving: KeyboardInterrupt$"):
        f["count"]()  # sent, then the "closed" notice arrives
    assert ch.grader.calls == calls + 1 and ch.grader.closed_epoch == 1
    with pytest.raises(rpc.ChannelClosed, match="^the kernel stopped serving this cell$"):
        f["count"]()  # refused at once: nothing is sent
    assert ch.grader.calls == calls + 1
    ch.serve(2)  # the next cell: the request left over from epoch 1 is dropped
    assert f["count"]() == 1 and ran == [1]


# --- a fake kernel speaking raw frames ----------------------------------------------------
def frame(msg) -> bytes:
    body = json.dumps(msg).encode()
    return rpc.HEADER.pack(len(body)) + body


def read_frame(sock) -> dict:
    (size,) = rpc.HEADER.unpack(sock.recv(rpc.HEADER.size, socket.MSG_WAITALL))
    return json.loads(sock.recv(size, socket.MSG_WAITALL))


@pytest.fixture
def raw():
    """A grader ``Peer`` (epoch 3) and the raw socket of a fake kernel."""
    a, b = socket.socketpair()
    for s in (a, b):
        s.settimeout(10)
    grader = rpc.Peer(a, trusted=True)
    grader.epoch = 3
    yield grader, b
    a.close()
    b.close()


def test_stale_messages_are_ignored_by_the_grader(raw):
    grader, kernel = raw
    kernel.sendall(frame({"op": "closed", "epoch": 2, "why": "an old cell"})
                   + frame({"op": "call", "id": 1, "epoch": 2, "target": {"~": "own", "id": 1}})
                   + frame({"re": 99, "ok": "an answer to a request given up"})
                   + frame({"re": 1, "ok": {"~": "list", "v": [1, 2]}}))
    assert grader.request("bindings", names=["x"]) == [1, 2]
    assert grader.closed_epoch == -1
    sent = read_frame(kernel)
    assert sent.pop("fp") == rpc.fp_state()  # the test's np.errstate travels along
    assert sent == {"op": "bindings", "id": 1, "epoch": 3, "names": {"~": "list", "v": ["x"]}}
    kernel.setblocking(False)
    with pytest.raises(BlockingIOError):
        kernel.recv(1)  # the stale request got no answer


def test_stale_requests_are_ignored_by_the_kernel():
    a, b = socket.socketpair()
    ran = []
    kernel = rpc.Peer(b, trusted=False, ns={"f": lambda: ran.append(1)})
    grader = rpc.Peer(a, trusted=True)
    grader.epoch = 1
    thread = threading.Thread(target=kernel.serve, args=(1,), daemon=True)
    thread.start()
    handle = grader.request("bindings", names=["f"])["f"]
    grader.send({"op": "end", "epoch": 1})
    thread.join(10)
    # a request of epoch 1 arrives while the kernel serves epoch 2: dropped
    grader.send({"op": "call", "id": 50, "epoch": 1, "target": rpc.enc(handle, grader.export)})
    grader.epoch = 2
    thread = threading.Thread(target=kernel.serve, args=(2,), daemon=True)
    thread.start()
    assert handle() is None and ran == [1]
    grader.send({"op": "end", "epoch": 2})
    thread.join(10)
    assert not thread.is_alive()
    a.close()
    b.close()


def test_a_message_over_max_frame_is_refused(raw, monkeypatch):
    grader, kernel = raw
    assert rpc.MAX_FRAME == 256 << 20
    kernel.sendall(rpc.HEADER.pack(rpc.MAX_FRAME + 1))  # a header alone: nothing allocated
    with pytest.raises(rpc.ChannelClosed, match="^message too large$"):
        grader.recv()
    monkeypatch.setattr(rpc, "MAX_FRAME", 3 << 20)
    with pytest.raises(ValueError, match="^message of 4 MiB: more than 3 MiB$"):
        grader.send({"op": "call", "v": "x" * (4 << 20)})
    kernel.setblocking(False)
    with pytest.raises(BlockingIOError):
        kernel.recv(1)  # nothing was sent
    kernel.setblocking(True)
    got = []
    reader = threading.Thread(target=lambda: got.append(read_frame(kernel)), daemon=True)
    reader.start()
    grader.send({"op": "call", "v": "x" * (2 << 20)})  # below the limit: sent
    reader.join(10)
    assert got == [{"op": "call", "v": "x" * (2 << 20)}]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"'])
def test_a_malformed_message_closes_the_channel(raw, body):
    grader, kernel = raw
    kernel.sendall(rpc.HEADER.pack(len(body)) + body)
    with pytest.raises(rpc.ChannelClosed, match="^malformed message$"):
        grader.recv()


def test_the_kernel_can_name_only_generators_the_grader_handed_out(raw):
    grader, kernel = raw
    state = np.random.default_rng(0).bit_generator.state
    kernel.sendall(frame({"re": 1, "ok": {"~": "rngkey", "key": 1, "bitgen": "PCG64",
                                          "state": state}}))
    with pytest.raises(ValueError, match="^not a generator the grader handed out$"):
        grader.request("bindings", names=["x"])


def test_the_kernel_keeps_only_generators_the_grader_passed_in_step(raw):
    grader, kernel = raw
    rng = np.random.default_rng(0)
    encoded = grader.encode(rng)
    assert encoded["~"] == "rngkey" and grader.rngs == {encoded["key"]: rng}
    other = np.random.default_rng(7).bit_generator.state
    ahead = np.random.default_rng(0)
    ahead.random()
    kernel.sendall(frame({"op": "x", "epoch": 3, "rngs": {
        "99": json.dumps(other),  # not a generator the grader passed: ignored
        "abc": json.dumps(other),
        str(encoded["key"]): json.dumps(ahead.bit_generator.state)}}))
    grader.recv()
    assert same(rng, ahead) and list(grader.rngs) == [encoded["key"]]
    kernel.sendall(frame({"op": "x", "epoch": 3, "rngs": {str(encoded["key"]): "{bad"}}))
    grader.recv()
    assert same(rng, ahead)  # a malformed state leaves it as it was


# --- what the trusted side refuses --------------------------------------------------------
def attempt(fn):
    """What the kernel got when it tried ``fn()``: [exception class, message] or the value."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001
        return [type(err).__name__, str(err)]


def test_the_grader_serves_no_private_or_foreign_attributes_of_what_it_handed_out(channel):
    ch = channel()
    k = ch.kernel

    def probe(cb, partial, value):
        return [
            attempt(lambda: k.request("getattr", target=cb, name="__globals__")),
            attempt(lambda: k.request("getattr", target=cb, name="_private")),
            attempt(lambda: k.request("getattr", target=cb, name="secret")),
            attempt(lambda: k.request("getattr", target=partial, name="keywords")),
            attempt(lambda: value.data),  # a public attribute of a course_lib object
            attempt(lambda: k.request("getattr", target=value, name="_prev")),
            attempt(lambda: cb.__globals__),  # a handle does not even ask
            attempt(lambda: cb(2)),  # calling it is what it is for
        ]

    ch.kernel.ns["probe"] = probe
    expected = 123  # what a test would keep in a local or global

    def cb(x):
        return expected + x

    cb.secret = expected
    refused = ["PermissionError", "attribute {!r} is not available"]
    assert ch.get("probe")(cb, functools.partial(cb, x=expected), autodiff.Value(3.0)) == [
        [refused[0], refused[1].format("__globals__")],
        [refused[0], refused[1].format("_private")],
        [refused[0], refused[1].format("secret")],
        [refused[0], refused[1].format("keywords")],
        3.0,
        [refused[0], refused[1].format("_prev")],
        ["AttributeError", "__globals__"],
        125,
    ]


def test_the_grader_serves_no_operators_bindings_or_setattr(channel):
    ch = channel()
    k = ch.kernel

    def probe(cb, value):
        def setattr_cb():
            cb.x = 1

        return [
            attempt(lambda: k.request("operator", name="add", args=[value, 1])),
            attempt(lambda: value + 1),
            attempt(lambda: k.request("bindings", names=["expected"])),
            attempt(lambda: k.request("setattr", target=cb, name="x", value=1)),
            attempt(setattr_cb),
            attempt(lambda: k.request("exec", target=cb)),
        ]

    ch.kernel.ns["probe"] = probe
    refused = "the grader does not serve {!r}"
    assert ch.get("probe")(lambda: 0, autodiff.Value(1.0)) == [
        ["PermissionError", "the grader does not serve 'add' here"],  # iteration only
        ["PermissionError", "the grader does not serve 'add' here"],
        ["PermissionError", refused.format("bindings")],
        ["PermissionError", refused.format("setattr")],
        ["PermissionError", refused.format("setattr")],
        ["PermissionError", refused.format("exec")],
    ]


def test_the_grader_calls_only_what_it_handed_out(channel):
    ch = channel()
    k = ch.kernel

    def mine():
        return "the kernel's own function"

    def probe(value):
        return [
            attempt(lambda: k.request("call", target=mine, args=[])),
            attempt(lambda: k.request("getattr", target=mine, name="x")),
            attempt(lambda: k.request("call", target=value, args=[])),
            attempt(lambda: k.request("call", target=rpc.Remote(k, 999, "f", True), args=[])),
        ]

    ch.kernel.ns["probe"] = probe
    assert ch.get("probe")(autodiff.Value(1.0)) == [
        ["PermissionError", "not something the grader handed out"],
        ["PermissionError", "not something the grader handed out"],
        ["PermissionError", "not a function"],
        ["ValueError", "unknown handle"],
    ]


def test_a_test_that_rebinds_a_student_name_rebinds_it_in_the_kernel(channel):
    """A hidden test puts the reference in place of the student's helper, so the student's
    other function calls the reference (and its generator draws from the test's rng), then
    puts the student's back: as in one namespace."""
    ns: dict = {}  # the kernel's namespace: the functions' globals, as in a notebook
    exec("def helper(n, rng):\n"  # noqa: S102
         "    return rng.permutation(n)\n"
         "def caller(n, rng):\n"
         "    return [[int(i) for i in helper(n, rng)] for _ in range(2)]\n", ns)
    helper = ns["helper"]
    ch = channel()
    ch.kernel.ns = ns
    remote_caller, own_helper = ch.get("caller"), ch.get("helper")

    def reference(n, rng):
        return (int(i) for i in rng.permutation(n)[::-1])

    ch.grader.request("bind", name="helper", value=reference)
    assert type(ns["helper"]) is rpc.Remote
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    got = remote_caller(4, rng)
    expected = [list(reference(4, twin)) for _ in range(2)]
    assert got == expected and got[0] != got[1]  # a fresh permutation each time: one rng
    assert rng.bit_generator.state == twin.bit_generator.state
    ch.grader.request("bind", name="helper", value=own_helper)
    assert ns["helper"] is helper


def test_the_students_code_runs_under_the_tests_floating_point_error_handling(channel):
    # One namespace: a test's `with np.errstate(over="raise")` makes the student's overflow
    # raise FloatingPointError. Apart, the request carries the test's np.geterr().
    ch = channel(grow=lambda x: np.exp(np.asarray(x, dtype=float)))
    grow = ch.get("grow")
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError, match="overflow"):
            grow([1000.0])
    with np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is issued when the test ignores overflow
        assert grow([1000.0])[0] == np.inf
    with np.errstate(over="warn"), pytest.warns(RuntimeWarning, match="overflow"):
        grow([1000.0])
    assert rpc.fp_state() == {k: v for k, v in np.geterr().items() if k in rpc.FP_ERRORS}


def test_a_requests_floating_point_state_is_checked_before_use():
    with rpc.fp_context({"over": "raise", "divide": "call", "bogus": "raise", "under": 3}):
        assert np.geterr()["over"] == "raise"
        assert np.geterr()["divide"] == "warn"  # no handler in the kernel
    with rpc.fp_context(["not", "a", "dict"]):
        pass
