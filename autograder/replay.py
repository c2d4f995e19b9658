"""Record in the sandbox, judge outside: the call recorder and the replayer.

This file is self-contained (standard library and numpy only): the grader executes its
source inside the student's kernel (phase A, :class:`Recorder`) and inside the fresh
process of the independent check (phase B, :class:`Book` and :func:`replayer`).

Phase A wraps every top-level function a student cell defined. A call made from outside
student code (a test cell, an instructor cell) is written, as JSON, to the recording: the
cell it was made in, its arguments as plain data (and a digest of them), the arguments'
state after the call (to replay in-place mutation), the calls it made to callables it was
given, and its return value as plain data (numbers, strings, numeric arrays,
lists/tuples/dicts of these; a generator is materialised) or its exception. Anything else
is recorded as opaque.

Phase B runs the instructor's cells with each student function replaced by a replayer that
checks the arguments (:func:`differs`: structure, types, shapes, dtypes, integers and
strings exactly; floating-point values to a relative ``RTOL``, because two processes need
not round a BLAS product alike), calls the given callables as recorded (their results
compared the same way), re-applies the mutation and returns the recorded plain data.
Nothing a student can put in the recording is more than data, so a test's verdict in
phase B does not depend on the student's process.
"""

from __future__ import annotations

import base64
import builtins
import functools
import hashlib
import itertools
import json
import types
from collections import deque

import numpy as np

GENERATOR_CAP = 100_000  # items kept from a returned generator or iterator
BUDGET = 64 * 1024 * 1024  # bytes of recording per kernel; beyond, calls are opaque
CALLABLES = (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
             functools.partial, np.ufunc)
PLAIN_KINDS = "biufc"
RTOL = 1e-12  # floating-point arguments and callback results: relative tolerance
TINY = 2.2250738585072014e-308  # differences among subnormal numbers are rounding noise
ARGS_CAP = 4 * 1024 * 1024  # bytes of a call's arguments kept for the tolerant comparison


class NotPlain(Exception):
    """The value is not plain data."""


def enc(x, depth=0):
    """``x`` as JSON-able plain data (raises NotPlain)."""
    if depth > 20:
        raise NotPlain("nested too deep")
    t = type(x)
    if x is None or t is bool or t is str:
        return x
    if t is int:
        return x if abs(x) < 2**53 else {"~": "int", "v": str(x)}
    if t is float:
        return x if x == x and abs(x) != float("inf") else {"~": "float", "v": repr(x)}
    if t is complex:
        return {"~": "complex", "v": [enc(x.real), enc(x.imag)]}
    if isinstance(x, np.generic) and t.__module__ == "numpy" and x.dtype.kind in PLAIN_KINDS:
        return {"~": "npscalar", "dtype": x.dtype.str, "v": _b64(np.asarray(x))}
    if t is np.ndarray and x.dtype.kind in PLAIN_KINDS:
        return {"~": "nd", "dtype": x.dtype.str, "shape": list(x.shape),
                "v": _b64(np.ascontiguousarray(x))}
    if t in (list, tuple):
        return {"~": t.__name__, "v": [enc(v, depth + 1) for v in x]}
    if isinstance(x, tuple) and hasattr(t, "_fields") and t.__bases__ == (tuple,):
        return {"~": "ntuple", "name": t.__name__, "fields": list(t._fields),
                "v": [enc(v, depth + 1) for v in x]}
    if t is dict:
        return {"~": "dict", "v": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
    if t is np.random.Generator:
        return {"~": "rng", "bitgen": type(x.bit_generator).__name__,
                "state": json.loads(json.dumps(x.bit_generator.state))}
    raise NotPlain(t.__qualname__)


def _b64(a) -> str:
    return base64.b64encode(a.tobytes()).decode("ascii")


def dec(x):
    """The value ``enc`` encoded (fresh objects; never code)."""
    if not isinstance(x, dict):
        if isinstance(x, list):
            raise ValueError("a bare list is not an encoding")
        return x
    tag, v = x.get("~"), x.get("v")
    if tag == "int":
        return int(v)
    if tag == "float":
        return float(v)
    if tag == "complex":
        return complex(dec(v[0]), dec(v[1]))
    if tag in ("npscalar", "nd"):
        dtype = np.dtype(x["dtype"])
        if dtype.kind not in PLAIN_KINDS:
            raise ValueError(f"not a plain dtype: {dtype}")
        flat = np.frombuffer(base64.b64decode(v), dtype=dtype)
        if tag == "npscalar":
            return flat[0]
        return flat.reshape([int(n) for n in x["shape"]]).copy()
    if tag == "list":
        return [dec(i) for i in v]
    if tag == "tuple":
        return tuple(dec(i) for i in v)
    if tag == "ntuple":
        cls = _namedtuple(str(x["name"]), tuple(str(f) for f in x["fields"]))
        return cls(*[dec(i) for i in v])
    if tag == "dict":
        return {dec(k): dec(i) for k, i in v}
    if tag == "rng":
        bitgen = getattr(np.random, str(x["bitgen"]))
        if not (isinstance(bitgen, type) and issubclass(bitgen, np.random.BitGenerator)):
            raise ValueError("not a bit generator")
        rng = np.random.Generator(bitgen())
        rng.bit_generator.state = x["state"]
        return rng
    if tag == "gen":
        return (i for i in [dec(i) for i in v])
    if tag == "opaque":
        return Opaque(str(x.get("type", "?")))
    raise ValueError(f"unknown encoding {tag!r}")


@functools.cache
def _namedtuple(name, fields):
    from collections import namedtuple

    return namedtuple(name, fields)


def arg_sig(x):
    """What an argument digest is made of: plain data, or its kind."""
    if isinstance(x, CALLABLES):
        return {"~": "callable"}
    try:
        return enc(x)
    except NotPlain:
        return {"~": "opaque", "type": type(x).__qualname__}


def signature(args, kwargs) -> list:
    """A call's arguments as plain data: [[positional...], [[name, value]...]]."""
    return [[arg_sig(a) for a in args], sorted([k, arg_sig(v)] for k, v in kwargs.items())]


def digest_of(sig) -> str:
    return hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()


def digest(args, kwargs) -> str:
    return digest_of(signature(args, kwargs))


def _short(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.17g}"
    if isinstance(x, (complex, np.complexfloating)):
        return repr(complex(x))
    return repr(x)[:60]


def _close_floats(a: np.ndarray, b: np.ndarray, where: str) -> str | None:
    """Why two same-shape float/complex arrays differ beyond honest rounding (None: they
    do not): NaN and infinity where the other has them too, and each finite element within
    ``RTOL`` times the array's largest magnitude (rounding in a product is relative to its
    operands, so an entry that cancels to nearly zero carries an error relative to the
    array's scale, not to itself; for a scalar, the scale is its own magnitude)."""
    shape = a.shape
    a, b = a.astype(np.complex128).ravel(), b.astype(np.complex128).ravel()
    finite = np.isfinite(a) & np.isfinite(b)
    same_special = np.where(finite, True, (a == b) | (np.isnan(a) & np.isnan(b)))
    scale = max(float(np.abs(a[finite]).max(initial=0.0)),
                float(np.abs(b[finite]).max(initial=0.0)))
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: handled above
        diff = np.where(finite, np.abs(a - b), 0.0)
    bad = ~same_special | (diff > max(RTOL * scale, TINY))
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    if len(shape) > 0:
        index = np.unravel_index(i, shape)
        where += f" element [{', '.join(str(int(n)) for n in index)}]"
    x, y = a[i], b[i]
    x, y = (x.real, y.real) if x.imag == 0 and y.imag == 0 else (x, y)
    rel = float(diff[i] / scale) if scale and finite[i] else float("inf")
    return (f"{where}: {_short(x)} in the kernel, {_short(y)} in the check (difference "
            f"{rel:.1e} relative to the largest magnitude {scale:.3g}; tolerance {RTOL:g})")


def _array(x):
    dtype = np.dtype(x["dtype"])
    if dtype.kind not in PLAIN_KINDS:
        raise ValueError(f"not a plain dtype: {dtype}")
    flat = np.frombuffer(base64.b64decode(x["v"]), dtype=dtype)
    if x.get("~") == "npscalar":
        return flat.reshape(())
    return flat.reshape([int(n) for n in x["shape"]])


def differs(kernel, here, where: str = "value") -> str | None:
    """Where and by how much two encodings (:func:`enc`/:func:`arg_sig`) differ beyond
    honest rounding; None when they agree.

    Exact: structure, types, lengths, shapes, dtypes, booleans, integers, strings, keys,
    random-generator states, callables and opaque types. Floating-point scalars and arrays
    (real or complex): within ``RTOL`` (:func:`_close_floats`).
    """
    if type(kernel) is not type(here):
        return f"{where}: {type(kernel).__name__} in the kernel, {type(here).__name__} here"
    if isinstance(kernel, float):
        scale = max(abs(kernel), abs(here))
        if abs(kernel - here) <= max(RTOL * scale, TINY):
            return None
        return (f"{where}: {_short(kernel)} in the kernel, {_short(here)} in the check "
                f"(relative difference {abs(kernel - here) / scale:.1e}; tolerance {RTOL:g})")
    if isinstance(kernel, list):
        if len(kernel) != len(here):
            return f"{where}: {len(kernel)} items in the kernel, {len(here)} here"
        for i, (k, h) in enumerate(zip(kernel, here, strict=True)):
            if (why := differs(k, h, f"{where}[{i}]")) is not None:
                return why
        return None
    if not isinstance(kernel, dict):
        return None if kernel == here else f"{where}: {_short(kernel)} in the kernel, " \
            f"{_short(here)} in the check"
    tag = kernel.get("~")
    if tag != here.get("~"):
        return f"{where}: {tag or 'data'} in the kernel, {here.get('~') or 'data'} here"
    try:
        if tag in ("nd", "npscalar"):
            for what in ("dtype", "shape"):
                if kernel.get(what) != here.get(what):
                    return f"{where}: {what} {kernel.get(what)} in the kernel, " \
                           f"{here.get(what)} here"
            a, b = _array(kernel), _array(here)
            if a.dtype.kind in "fc":
                return _close_floats(a, b, where)
            if not np.array_equal(a, b):
                i = int(np.argmax(a.ravel() != b.ravel()))
                return f"{where}: element {i} is {a.ravel()[i]!r} in the kernel, " \
                       f"{b.ravel()[i]!r} here"
            return None
        if tag == "complex":
            a, b = [complex(*(float(dec(p)) for p in e["v"])) for e in (kernel, here)]
            return _close_floats(np.array(a), np.array(b), where)
        if tag in ("list", "tuple", "ntuple", "dict"):
            if (kernel.get("name"), kernel.get("fields")) != (here.get("name"), here.get("fields")):
                return f"{where}: a different named tuple here"
            return differs(kernel.get("v"), here.get("v"), where)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        return f"{where}: malformed recording ({type(err).__name__})"
    if json.dumps(kernel, sort_keys=True) == json.dumps(here, sort_keys=True):
        return None
    return f"{where}: {tag or 'value'} differs"


def ret_enc(x):
    try:
        return enc(x)
    except NotPlain:
        return {"~": "opaque", "type": type(x).__qualname__}


#: Exception classes that are not builtins but that tests catch by name, replayed as
#: themselves (a name outside this table and the builtins replays as its builtin base).
KNOWN_EXCEPTIONS = {"numpy.linalg.LinAlgError": np.linalg.LinAlgError}


def exc_record(err: BaseException) -> list[str]:
    """[name of the first known or builtin exception class of ``err``, its message]."""
    for cls in type(err).__mro__:
        for name, known in KNOWN_EXCEPTIONS.items():
            if cls is known:
                return [name, str(err)[:2000]]
        if getattr(builtins, cls.__name__, None) is cls:
            return [cls.__name__, str(err)[:2000]]
    return ["Exception", str(err)[:2000]]


def exc_class(name) -> type[BaseException]:
    """The class that :func:`exc_record` named (``Exception`` for anything else)."""
    cls = KNOWN_EXCEPTIONS.get(str(name)) or getattr(builtins, str(name), Exception)
    return cls if isinstance(cls, type) and issubclass(cls, BaseException) else Exception


def _mutable(x) -> bool:
    return type(x) in (np.ndarray, list, dict, np.random.Generator)


class Recorder:
    """Phase A: wraps the student's functions; appends one JSON line per recorded call."""

    def __init__(self, path: str, cell_number):
        self.path, self.cell_number = path, cell_number
        self.depth, self.used = 0, 0

    def write(self, record: dict) -> None:
        line = json.dumps(record)
        self.used += len(line)
        if self.used > BUDGET:
            line = json.dumps({"kind": "overflow"})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def after_cell(self, ns: dict, names: list[str], cell: int) -> None:
        """Wrap the functions and record the plain variables a student cell defined."""
        for name in names:
            if name not in ns:
                continue
            obj = ns[name]
            if isinstance(obj, types.FunctionType):
                if not getattr(obj, "__course_recorded__", False):
                    ns[name] = self.wrap(name, obj)
                self.write({"kind": "def", "cell": cell, "name": name})
            else:
                self.write({"kind": "var", "cell": cell, "name": name, "value": ret_enc(obj)})

    def wrap(self, name: str, fn):
        rec = self

        @functools.wraps(fn)
        def recorded(*args, **kwargs):
            if rec.depth:
                return fn(*args, **kwargs)
            return rec.call(name, fn, args, kwargs)

        recorded.__course_recorded__ = True
        return recorded

    def call(self, name, fn, args, kwargs):
        sig = signature(args, kwargs)
        entry = {"kind": "call", "cell": self.cell_number(), "name": name,
                 "digest": digest_of(sig), "callbacks": []}
        if len(json.dumps(sig)) <= ARGS_CAP:  # larger ones are compared exactly
            entry["args"] = sig
        before = {str(i): ret_enc(a) for i, a in enumerate(args) if _mutable(a)}
        before.update({k: ret_enc(v) for k, v in kwargs.items() if _mutable(v)})
        args2 = [self._proxy(str(i), a, entry) for i, a in enumerate(args)]
        kwargs2 = {k: self._proxy(k, v, entry) for k, v in kwargs.items()}
        self.depth += 1
        try:
            result = fn(*args2, **kwargs2)
            if isinstance(result, (types.GeneratorType, map, filter, zip, enumerate)) or \
                    type(result).__name__.endswith("iterator"):
                items = list(itertools.islice(result, GENERATOR_CAP))
                result = (i for i in items)
                entry["return"] = {"~": "gen", "v": [ret_enc(i) for i in items]}
            else:
                entry["return"] = ret_enc(result)
        except BaseException as err:
            entry["raise"] = exc_record(err)
            raise
        finally:
            self.depth -= 1
            named = dict(enumerate(args)) | kwargs
            entry["after"] = {k: ret_enc(named[int(k) if k.isdigit() else k]) for k in before}
            entry["after"] = {k: v for k, v in entry["after"].items() if v != before[k]}
            self.write(entry)
        return result

    def _proxy(self, key, value, entry):
        if not isinstance(value, CALLABLES):
            return value

        def proxy(*a, **k):
            record = {"arg": key, "args": [arg_sig(i) for i in a],
                      "kwargs": {n: arg_sig(v) for n, v in k.items()}}
            entry["callbacks"].append(record)
            try:
                out = value(*a, **k)
            except BaseException as err:
                record["raise"] = exc_record(err)[0]
                raise
            record["return"] = ret_enc(out)
            return out

        return proxy


# --- phase B ---------------------------------------------------------------------------
class ReplayMismatch(AssertionError):
    """The independent check disagrees with what happened in the student's kernel.

    The message is what the student may read; ``evidence`` (for the instructor) says which
    call, which argument or value, and by how much."""

    def __init__(self, message: str, evidence: str = ""):
        super().__init__(message)
        self.evidence = evidence or message


class Opaque:
    """Stands for a value that was not plain data: any use of it fails."""

    def __init__(self, type_name: str):
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name):
        raise ReplayMismatch(f"the value returned ({self._type}) is not plain data "
                             "(numbers, strings, numeric arrays or containers of these)")

    def _fail(self, *args, **kwargs):
        self.__getattr__("")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _fail
    __bool__ = __len__ = __iter__ = __float__ = __int__ = __index__ = __array__ = _fail
    __getitem__ = __call__ = __add__ = __sub__ = __mul__ = __truediv__ = _fail
    __hash__ = None


class Book:
    """The recorded calls, per cell number, in order."""

    def __init__(self, lines):
        self.calls: dict[int, deque] = {}
        self.defs: dict[int, list[dict]] = {}
        self.overflow = False
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict):
                continue
            if rec.get("kind") == "call" and isinstance(rec.get("cell"), int):
                self.calls.setdefault(rec["cell"], deque()).append(rec)
            elif rec.get("kind") in ("def", "var") and isinstance(rec.get("cell"), int):
                self.defs.setdefault(rec["cell"], []).append(rec)
            elif rec.get("kind") == "overflow":
                self.overflow = True
        self.cell = None
        self.count: dict[tuple, int] = {}
        self.evidence: list[str] = []  # what differed, for the instructor

    def next_call(self, name: str) -> dict:
        queue = self.calls.get(self.cell) or deque()
        if not queue:
            raise ReplayMismatch(f"{name}() was not called here when your notebook ran",
                                 f"{name}() was called here but not in this cell of the "
                                 "kernel's run" + (" (the recording overflowed)"
                                                   if self.overflow else ""))
        rec = queue.popleft()
        if rec.get("name") != name:
            raise ReplayMismatch(f"{name}() was called in a different order when your "
                                 "notebook ran", f"{name}() was called here where the "
                                 f"kernel called {str(rec.get('name'))[:60]}()")
        return rec


def replayer(book: Book, name: str):
    """The stand-in of the student's function ``name`` in phase B."""

    def replay(*args, **kwargs):
        key = (book.cell, name)
        book.count[key] = book.count.get(key, 0) + 1
        try:
            return _replay(book, name, args, kwargs)
        except ReplayMismatch as err:
            book.evidence.append(f"cell [{book.cell}], call {book.count[key]} of {name}(): "
                                 f"{err.evidence}")
            raise

    replay.__name__ = name
    return replay


def _arguments_differ(rec: dict, sig: list) -> str | None:
    """None if the call's arguments ``sig`` match the recorded ones within tolerance."""
    if rec.get("digest") == digest_of(sig):
        return None
    kernel = rec.get("args")
    if not isinstance(kernel, list) or len(kernel) != 2:
        return "the arguments differ (too large to compare within tolerance)"
    try:
        positional, named = kernel[0], dict((str(k), v) for k, v in kernel[1])
    except (TypeError, ValueError):
        return "the arguments differ (malformed recording)"
    if len(positional) != len(sig[0]) or sorted(named) != [k for k, _ in sig[1]]:
        return "the arguments differ in number or names"
    for i, (k, h) in enumerate(zip(positional, sig[0], strict=True)):
        if (why := differs(k, h, f"argument {i}")) is not None:
            return why
    for k, h in sig[1]:
        if (why := differs(named[k], h, f"argument {k}")) is not None:
            return why
    return None  # equal up to honest rounding


def _replay(book: Book, name: str, args: tuple, kwargs: dict):
    """One call of the replayer: check the arguments, replay callbacks and mutations,
    raise or return what the kernel's call did."""
    rec = book.next_call(name)
    why = _arguments_differ(rec, signature(args, kwargs))
    if why is not None:
        raise ReplayMismatch(f"{name}() received different arguments when your "
                             "notebook ran", why)
    named = dict(enumerate(args)) | kwargs
    for cb in rec.get("callbacks", []):
        _replay_callback(name, named, cb)
    for key, state in (rec.get("after") or {}).items():
        _apply(named.get(int(key) if key.isdigit() else key), dec(state))
    if "raise" in rec:
        raise exc_class(rec["raise"][0])(str(rec["raise"][1]))
    return dec(rec.get("return"))


def _replay_callback(name, named, cb):
    key = cb.get("arg", "")
    fn = named.get(int(key) if key.isdigit() else key)
    if not callable(fn):
        raise ReplayMismatch(f"{name}() called something that is not a function")
    args = [dec(a) for a in cb.get("args", [])]
    kwargs = {k: dec(v) for k, v in (cb.get("kwargs") or {}).items()}
    try:
        out = fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001
        if cb.get("raise") == exc_record(err)[0]:
            return
        raise ReplayMismatch(f"a function given to {name}() behaved differently",
                             f"the function given as argument {key} raised "
                             f"{type(err).__name__} here, not in the kernel") from None
    why = (f"the function given as argument {key} raised {cb['raise']} in the kernel, "
           "not here") if "raise" in cb else \
        differs(cb.get("return"), ret_enc(out), f"what the function given as argument {key} "
                "returned")
    if why is not None:
        raise ReplayMismatch(f"a function given to {name}() returned something different "
                             "when checked independently", why)


def _apply(target, state):
    """Give ``target`` (an argument) the state it had after the recorded call."""
    if type(target) is np.ndarray and type(state) is np.ndarray:
        if target.shape != state.shape:
            raise ReplayMismatch("an argument changed shape")
        target[...] = state
    elif type(target) is list and type(state) is list:
        target[:] = state
    elif type(target) is dict and type(state) is dict:
        target.clear()
        target.update(state)
    elif type(target) is np.random.Generator and type(state) is np.random.Generator:
        target.bit_generator.state = state.bit_generator.state
    else:
        raise ReplayMismatch("an argument was changed in a way that cannot be replayed")


def run_checks(shell, data: dict) -> dict:
    """Phase B on ``shell``: the verdict per test cell of ``data`` ({"steps", "record",
    "names"}), running the instructor's cells with the student's functions replayed."""
    book = Book(data["record"])
    verdict, allowed = {}, set(data.get("names", []))
    for step in data["steps"]:
        if step["kind"] == "student":
            for d in book.defs.get(step["cell"], []):
                name = str(d.get("name"))
                if name not in allowed:  # never rebind builtins, modules, test functions
                    continue
                try:
                    value = replayer(book, name) if d["kind"] == "def" else dec(d.get("value"))
                except Exception:  # noqa: BLE001  (malformed recording: unusable value)
                    value = Opaque("malformed")
                shell.user_ns[name] = value
            continue
        book.cell = step["cell"]
        result = shell.run_cell(step["source"], store_history=False, silent=True)
        err = result.error_before_exec or result.error_in_exec
        if step["test"]:
            evidence = book.evidence[:10]
            if err is not None and not evidence:
                evidence = [getattr(err, "evidence", "") or
                            f"the test failed here: {type(err).__name__}: {err}"[:2000]]
            verdict[step["gid"]] = {"passed": err is None,
                                    "error": f"{type(err).__name__}: {err}"[:2000] if err else "",
                                    "evidence": evidence if err is not None else []}
            book.evidence = []  # later tests have evidence of their own
    return {"verdict": verdict, "overflow": book.overflow}


def _new_shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell(config=config, history_length=0)


def read_frame(stream):
    """One message: a line with its byte length, then that many bytes of JSON."""
    header = stream.readline()
    if not header:
        return None
    return json.loads(stream.read(int(header)))


def write_frame(stream, obj) -> None:
    """Send ``obj`` as one :func:`read_frame` message."""
    body = json.dumps(obj).encode()
    stream.write(b"%d\n" % len(body) + body)
    stream.flush()


def serve_main(preload=()) -> None:
    """Phase B server: import once, then check each request in a freshly forked child.

    The server never runs a cell: it imports numpy, IPython and the modules in ``preload``
    (what the instructor's cells import), then, per request on stdin (:func:`read_frame`:
    {"dir", "steps", "record", "names"}), forks a child that makes a new shell, works in
    ``dir``, runs :func:`run_checks` and sends its verdict back through a pipe. Each check
    thus starts from the same pristine process state, as a new process would, without
    paying for the imports again. The grader kills the server if an answer is late.
    """
    import importlib
    import os
    import sys

    import IPython.core.interactiveshell  # noqa: F401  (imported once, used by each child)

    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001  (the cell that imports it will report it)
            pass
    requests, answers = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    while (data := read_frame(requests)) is not None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one check, then gone
            code = 1
            try:
                os.close(read_end)
                os.dup2(null, 0)
                os.chdir(data["dir"])
                result = run_checks(_new_shell(), data)
                with os.fdopen(write_end, "wb") as out:
                    out.write(json.dumps(result).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            body = pipe.read()
        _, status = os.waitpid(pid, 0)
        try:
            result = json.loads(body)
        except ValueError:
            how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                   else f"exit code {os.waitstatus_to_exitcode(status)}")
            result = {"error": f"the independent check did not complete ({how})"}
        write_frame(answers, result)
