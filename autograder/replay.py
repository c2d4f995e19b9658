"""Record in the sandbox, judge outside: the call recorder and the replayer.

This file is self-contained (standard library and numpy only): the grader executes its
source inside the student's kernel (phase A, :class:`Recorder`) and inside the fresh
process of the independent check (phase B, :class:`Book` and :func:`replayer`).

Phase A wraps every top-level function a student cell defined. A call made from outside
student code (a test cell, an instructor cell) is written, as JSON, to the recording: the
cell it was made in, a digest of its arguments, the arguments' state after the call (to
replay in-place mutation), the calls it made to callables it was given, and its return
value as plain data (numbers, strings, numeric arrays, lists/tuples/dicts of these; a
generator is materialised) or its exception. Anything else is recorded as opaque.

Phase B runs the instructor's cells with each student function replaced by a replayer that
checks the arguments, calls the given callables as recorded, re-applies the mutation and
returns the recorded plain data. Nothing a student can put in the recording is more than
data, so a test's verdict in phase B does not depend on the student's process.
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


def digest(args, kwargs) -> str:
    sig = [[arg_sig(a) for a in args], sorted([k, arg_sig(v)] for k, v in kwargs.items())]
    return hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()


def ret_enc(x):
    try:
        return enc(x)
    except NotPlain:
        return {"~": "opaque", "type": type(x).__qualname__}


def exc_record(err: BaseException) -> list[str]:
    """[name of the first builtin exception class of ``err``, its message]."""
    for cls in type(err).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return [cls.__name__, str(err)[:2000]]
    return ["Exception", str(err)[:2000]]


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
        entry = {"kind": "call", "cell": self.cell_number(), "name": name,
                 "digest": digest(args, kwargs), "callbacks": []}
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
    """The independent check disagrees with what happened in the student's kernel."""


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

    def next_call(self, name: str) -> dict:
        queue = self.calls.get(self.cell) or deque()
        if not queue:
            raise ReplayMismatch(f"{name}() was not called here when your notebook ran")
        rec = queue.popleft()
        if rec.get("name") != name:
            raise ReplayMismatch(f"{name}() was called in a different order when your "
                                 "notebook ran")
        return rec


def replayer(book: Book, name: str):
    """The stand-in of the student's function ``name`` in phase B."""

    def replay(*args, **kwargs):
        rec = book.next_call(name)
        if rec.get("digest") != digest(args, kwargs):
            raise ReplayMismatch(f"{name}() received different arguments when your "
                                 "notebook ran")
        named = dict(enumerate(args)) | kwargs
        for cb in rec.get("callbacks", []):
            _replay_callback(name, named, cb)
        for key, state in (rec.get("after") or {}).items():
            _apply(named.get(int(key) if key.isdigit() else key), dec(state))
        if "raise" in rec:
            cls = getattr(builtins, str(rec["raise"][0]), Exception)
            if not (isinstance(cls, type) and issubclass(cls, BaseException)):
                cls = Exception
            raise cls(str(rec["raise"][1]))
        return dec(rec.get("return"))

    replay.__name__ = name
    return replay


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
        raise ReplayMismatch(f"a function given to {name}() behaved differently") from None
    if "raise" in cb or json.dumps(ret_enc(out)) != json.dumps(cb.get("return")):
        raise ReplayMismatch(f"a function given to {name}() returned something different "
                             "when checked independently")


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
            verdict[step["gid"]] = {"passed": err is None,
                                    "error": f"{type(err).__name__}: {err}"[:2000] if err else ""}
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
