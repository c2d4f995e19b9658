"""The channel between the grader's trusted process and the student's kernel.

The trusted process runs the instructor's cells; every name the student defined is, there,
a :class:`Remote`: calling it sends the arguments to the kernel as plain data, the kernel
calls the student's function and sends back plain data. What is not plain data travels as a
handle: a function the test passes in (a gradient) is called back in the trusted process, and
an object the student returns (a schedule, a ``Value``) stays in the kernel, its calls,
attributes and operators going through the same channel. Arguments the student's function
changed in place are written back to the caller's objects, and a random generator's state
advances as in one process. An exception crosses as its nearest builtin (or known) class with
its message and, as a note, the student's traceback. Warnings the student's code issues are
issued again under the test's filters, and the student's code runs under the test's numpy
floating-point error handling (``np.errstate``), as in one process.

Plain data: ``None``, booleans, numbers, strings, bytes, numpy scalars and arrays of numbers,
lists, tuples, named tuples, dicts, sets, slices of these, and ``np.random.Generator``
states. Decoding never runs code and never imports anything but numpy's bit generators.

A handle is never compared or asked for its truth (``==``, ``<``, ``in``, ``bool``): that
would let the object's own code decide a verdict and hand it the expected value. The two
sides are not equal. The kernel serves any request (it is the student's own
process). The trusted side serves only calls of what it handed out and public attributes
of ``course_lib`` objects, so the kernel cannot reach a test's variables through a callback.

This file is self-contained (standard library and numpy): the grader runs its source inside
the student's kernel too.
"""

from __future__ import annotations

import base64
import builtins
import json
import operator
import struct
import traceback
import warnings

import numpy as np

MAX_FRAME = 256 << 20  # bytes of one message
PLAIN_KINDS = "biufc"
HEADER = struct.Struct("!Q")
_THIS = (lambda: None).__code__.co_filename  # frames of this file are not the student's

#: Exception classes that are not builtins but that tests catch by name.
KNOWN_EXCEPTIONS = {"numpy.linalg.LinAlgError": np.linalg.LinAlgError}

#: What a handle's operators do, run where the object lives (``a + b`` is ``add``).
OPERATORS = {
    name: getattr(operator, name) for name in (
        "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_",
        "xor", "lshift", "rshift", "iadd", "isub", "imul", "itruediv", "ifloordiv",
        "imatmul", "neg", "pos", "abs", "invert", "getitem", "setitem", "delitem", "index")
} | {"len": len, "iter": iter, "next": next, "bool": bool, "float": float, "int": int,
     "complex": complex, "repr": repr, "str": str, "format": format,
     "array": np.asarray, "dir": dir}


#: numpy's floating-point error handling that a request carries to the kernel (``np.geterr``);
#: "call" and "log" need a handler the kernel does not have: there they warn.
FP_ERRORS = ("divide", "over", "under", "invalid")
FP_ACTIONS = ("ignore", "warn", "raise", "print")


def fp_state() -> dict:
    """This thread's ``np.geterr()``, as a request carries it."""
    return {k: v for k, v in np.geterr().items() if k in FP_ERRORS}


def fp_context(state):
    """``np.errstate`` for a request's ``fp`` (anything unexpected is ignored)."""
    if not isinstance(state, dict):
        return np.errstate()
    return np.errstate(**{k: (v if v in FP_ACTIONS else "warn") for k, v in state.items()
                          if k in FP_ERRORS and isinstance(v, str)})


#: What the trusted side serves on the objects it handed out, besides calls: iterating a
#: generator the test put in place of one of the student's (the reference's batches).
TRUSTED_OPERATORS = ("iter", "next", "len")


class NotPlain(Exception):
    """The value is not plain data."""


class ChannelClosed(ConnectionError):
    """The other side stopped answering (it ended, died, or stopped serving this cell)."""


def _b64(a) -> str:
    return base64.b64encode(a.tobytes()).decode("ascii")


def _by_type(table: dict, t):
    """``table[t]`` for an ordinary class ``t``, else None. The lookup is ``t is key``: the
    ``__hash__``/``__eq__`` of a class's metaclass never take part (that class goes on to
    the checks that follow, as it would past a ladder of ``t is ...``)."""
    return table.get(t) if type(t) is type else None


def _handle_or_refuse(x, export):
    """What is not plain data: a handle through ``export``, or NotPlain without it."""
    if export is None:
        raise NotPlain(type(x).__qualname__)
    return export(x)


# Encoders of exact types, called as ``encoder(x, export, sub, share)`` (``sub``: the depth
# of ``x``'s items). Subclasses are not plain data (a ``float`` subclass's own code could
# decide a verdict), so the lookup is by the exact type only.

def _enc_itself(x, *_):
    return x


def _enc_int(x, *_):
    return x if abs(x) < 2**53 else {"~": "int", "v": str(x)}


def _enc_float(x, *_):
    return x if x == x and abs(x) != float("inf") else {"~": "float", "v": repr(x)}


def _enc_complex(x, *_):
    return {"~": "complex", "v": [enc(x.real), enc(x.imag)]}


def _enc_bytes(x, *_):
    return {"~": "bytes", "v": base64.b64encode(x).decode("ascii")}


def _enc_array(x, export, sub, share):
    if x.dtype.kind not in PLAIN_KINDS:  # an array of objects
        return _handle_or_refuse(x, export)
    return {"~": "nd", "dtype": x.dtype.str, "shape": list(x.shape),
            "v": _b64(np.ascontiguousarray(x))}


def _enc_items(x, export, sub, share):
    """A list, tuple, set or frozenset: tagged with its type's name."""
    return {"~": type(x).__name__, "v": [enc(v, export, sub, share) for v in x]}


def _enc_dict(x, export, sub, share):
    return {"~": "dict", "v": [[enc(k, export, sub, share), enc(v, export, sub, share)]
                               for k, v in x.items()]}


def _enc_slice(x, export, sub, share):
    return {"~": "slice", "v": [enc(v, export, sub, share) for v in (x.start, x.stop, x.step)]}


def _enc_ellipsis(x, *_):
    return {"~": "ellipsis"}


def _enc_rng(x, export, sub, share):
    data = {"~": "rng", "bitgen": type(x.bit_generator).__name__,
            "state": _state(x)}
    return share(x, data) if share is not None else data


_ENCODERS = {
    type(None): _enc_itself, bool: _enc_itself, str: _enc_itself,
    int: _enc_int, float: _enc_float, complex: _enc_complex, bytes: _enc_bytes,
    np.ndarray: _enc_array, dict: _enc_dict, slice: _enc_slice,
    type(Ellipsis): _enc_ellipsis, np.random.Generator: _enc_rng,
}


def enc(x, export=None, depth: int = 0, share=None):
    """``x`` as JSON-able data; what is not plain data is ``export(x)`` (a handle), or
    NotPlain without ``export``; a random generator's encoding goes through ``share``."""
    if depth > 40:
        raise NotPlain("nested too deep")
    t = type(x)
    encoder = _by_type(_ENCODERS, t)
    if encoder is not None:
        return encoder(x, export, depth + 1, share)
    if isinstance(x, np.generic) and t.__module__ == "numpy" and x.dtype.kind in PLAIN_KINDS:
        return {"~": "npscalar", "dtype": x.dtype.str, "v": _b64(np.asarray(x))}
    if t in (list, tuple, set, frozenset):
        return _enc_items(x, export, depth + 1, share)
    if isinstance(x, tuple) and hasattr(t, "_fields") and t.__bases__ == (tuple,):
        return {"~": "ntuple", "name": t.__name__, "fields": list(t._fields),
                "v": [enc(v, export, depth + 1, share) for v in x]}
    return _handle_or_refuse(x, export)


def _state(rng) -> dict:
    """A generator's state as JSON data (MT19937's and Philox's hold arrays)."""
    def plain(x):
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (np.ndarray, list, tuple)):
            return [plain(v) for v in x]
        return x.item() if isinstance(x, np.generic) else x

    return plain(rng.bit_generator.state)


_NAMEDTUPLES: dict = {}


def _namedtuple(name: str, fields: tuple):
    from collections import namedtuple

    key = (name, fields)
    if key not in _NAMEDTUPLES:
        _NAMEDTUPLES[key] = namedtuple(name, fields)
    return _NAMEDTUPLES[key]


# Decoders of the tags :func:`enc` writes, called as ``decoder(x, v, handle)`` (``v``: the
# value of ``x["v"]``). They build only fresh plain objects, and bit generators.

def _dec_int(x, v, handle):
    return int(v)


def _dec_float(x, v, handle):
    return float(v)


def _dec_complex(x, v, handle):
    return complex(dec(v[0]), dec(v[1]))


def _dec_bytes(x, v, handle):
    return base64.b64decode(v)


def _dec_flat(x, v):
    """The numbers of an ``npscalar`` or ``nd``, in a row, of a plain dtype only."""
    dtype = np.dtype(x["dtype"])
    if dtype.kind not in PLAIN_KINDS:
        raise ValueError(f"not a plain dtype: {dtype}")
    return np.frombuffer(base64.b64decode(v), dtype=dtype)


def _dec_npscalar(x, v, handle):
    return _dec_flat(x, v)[0]


def _dec_nd(x, v, handle):
    return _dec_flat(x, v).reshape([int(n) for n in x["shape"]]).copy()


def _dec_items(kind):
    def decode(x, v, handle):
        return kind([dec(i, handle) for i in v])
    return decode


def _dec_ntuple(x, v, handle):
    cls = _namedtuple(str(x["name"]), tuple(str(f) for f in x["fields"]))
    return cls(*[dec(i, handle) for i in v])


def _dec_dict(x, v, handle):
    return {dec(k, handle): dec(i, handle) for k, i in v}


def _dec_slice(x, v, handle):
    return slice(*[dec(i, handle) for i in v])


def _dec_ellipsis(x, v, handle):
    return Ellipsis


def _dec_rng(x, v, handle):
    bitgen = getattr(np.random, str(x["bitgen"]), None)
    if not (isinstance(bitgen, type) and issubclass(bitgen, np.random.BitGenerator)):
        raise ValueError("not a bit generator")
    rng = np.random.Generator(bitgen())
    rng.bit_generator.state = x["state"]
    return rng


def _dec_handle(x, v, handle):
    """A handle (``ref``, ``own``, ``rngkey``): only through ``handle``."""
    if handle is None:
        raise ValueError(f"unknown encoding {x.get('~')!r}")
    return handle(x)


_DECODERS = {
    "int": _dec_int, "float": _dec_float, "complex": _dec_complex, "bytes": _dec_bytes,
    "npscalar": _dec_npscalar, "nd": _dec_nd,
    "list": _dec_items(list), "tuple": _dec_items(tuple), "set": _dec_items(set),
    "frozenset": _dec_items(frozenset),
    "ntuple": _dec_ntuple, "dict": _dec_dict, "slice": _dec_slice,
    "ellipsis": _dec_ellipsis, "rng": _dec_rng,
    "ref": _dec_handle, "own": _dec_handle, "rngkey": _dec_handle,
}


def dec(x, handle=None):
    """The value :func:`enc` encoded, as fresh objects; handles through ``handle(x)``."""
    if not isinstance(x, dict):
        if isinstance(x, (list, dict)) or not (x is None or isinstance(x, (bool, int, float,
                                                                             str))):
            raise ValueError("malformed encoding")
        return x
    tag, v = x.get("~"), x.get("v")
    decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decoder is None:
        raise ValueError(f"unknown encoding {tag!r}")
    return decoder(x, v, handle)


def exc_record(err: BaseException, tb=None) -> list:
    """[nearest builtin or known class name, message, traceback text] of ``err``."""
    text = "".join(traceback.format_exception(type(err), err, tb)) if tb is not None else ""
    # str() of a KeyError quotes its key: send the key's text, the other side quotes it again
    message = str(err.args[0]) if isinstance(err, KeyError) and len(err.args) == 1 \
        else str(err)
    for cls in type(err).__mro__:
        for name, known in KNOWN_EXCEPTIONS.items():
            if cls is known:
                return [name, message[:4000], text[-8000:]]
        if getattr(builtins, cls.__name__, None) is cls:
            return [cls.__name__, message[:4000], text[-8000:]]
    return ["Exception", message[:4000], text[-8000:]]


def exc_from(record) -> BaseException:
    """The exception :func:`exc_record` described, with the student's traceback as a note."""
    name, message = str(record[0]), str(record[1])
    cls = KNOWN_EXCEPTIONS.get(name) or getattr(builtins, name, Exception)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)) or \
            cls in (KeyboardInterrupt, SystemExit, GeneratorExit):
        cls = Exception
    try:
        err = cls(message) if message or cls is not StopIteration else cls()
    except Exception:  # noqa: BLE001  (a class that wants other arguments)
        err = Exception(message)
    if len(record) > 2 and record[2]:
        err.add_note("In your code (the student's kernel):\n" + str(record[2]).rstrip())
    return err


def _warn_again(said) -> None:
    """Issue here the warnings the student's code raised in the kernel, so that the test's
    own filters (``warnings.catch_warnings``) see them as in one process."""
    if not isinstance(said, list):
        return
    for item in said[:100]:
        try:
            name, message, filename, lineno = item
            cls = getattr(builtins, str(name), UserWarning)
            if not (isinstance(cls, type) and issubclass(cls, Warning)):
                cls = UserWarning
            warnings.warn_explicit(str(message), cls, str(filename), int(lineno))
        except (TypeError, ValueError):
            continue


class Remote:
    """A handle on an object that lives on the other side of the channel."""

    __slots__ = ("_peer", "_id", "_type", "_callable", "_name")

    def __init__(self, peer, ident: int, type_name: str, is_callable: bool, name: str = ""):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_id", ident)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_callable", is_callable)
        object.__setattr__(self, "_name", name)

    def __call__(self, *args, **kwargs):
        return self._peer.request("call", target=self, args=list(args), kwargs=kwargs)

    def __getattr__(self, name):
        if name in ("__name__", "__qualname__") and self._name:
            return self._name
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._peer.request("getattr", target=self, name=name)

    def __setattr__(self, name, value):
        self._peer.request("setattr", target=self, name=name, value=value)

    def _op(self, name, *args):
        return self._peer.request("operator", name=name, args=list(args))

    def __repr__(self):
        return self._op("repr", self)

    def __str__(self):
        return self._op("str", self)

    def __format__(self, spec):
        return self._op("format", self, spec)

    def __iter__(self):
        return self._op("iter", self)

    def __next__(self):
        return self._op("next", self)

    def __array__(self, dtype=None, copy=None):
        out = self._op("array", self)
        if isinstance(out, Remote):  # an object array: not plain data
            raise TypeError(f"your code returned a {self._type!r} object that is not an "
                            "array of numbers")
        out = np.asarray(out)
        return out.astype(dtype) if dtype is not None else out



def _binary(name, reflected=False):
    if reflected:
        return lambda self, other: self._op(name, other, self)
    return lambda self, other: self._op(name, self, other)


def _unary(name):
    return lambda self: self._op(name, self)


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    setattr(Remote, f"__{_name}__", _binary(_name))
    setattr(Remote, f"__r{_name}__", _binary(_name, reflected=True))
    setattr(Remote, f"__i{_name}__", _binary(f"i{_name}" if f"i{_name}" in OPERATORS else _name))
for _name, _op_name in (("and", "and_"), ("or", "or_"), ("xor", "xor"), ("lshift", "lshift"),
                        ("rshift", "rshift")):
    setattr(Remote, f"__{_name}__", _binary(_op_name))
    setattr(Remote, f"__r{_name}__", _binary(_op_name, reflected=True))
for _name in ("getitem", "delitem"):
    setattr(Remote, f"__{_name}__", _binary(_name))
for _name in ("neg", "pos", "abs", "invert", "len", "float", "int", "complex", "index"):
    setattr(Remote, f"__{_name}__", _unary(_name))


def _not_judged(self, *args):
    """A comparison or a truth value is a verdict: the object's own code would decide it
    (the ``__eq__`` that always says yes), and the other operand would reach the kernel."""
    raise TypeError(f"your code returned a {self._type!r} object, not plain data (numbers, "
                    "strings, arrays, lists, tuples, dicts): the grader does not compare it "
                    "or test its truth; return plain data")


for _name in ("eq", "ne", "lt", "le", "gt", "ge", "bool", "contains"):
    setattr(Remote, f"__{_name}__", _not_judged)
Remote.__hash__ = object.__hash__
Remote.__setitem__ = lambda self, key, value: self._op("setitem", self, key, value)


def _mutable(x) -> bool:
    return type(x) in (np.ndarray, list, dict, set)  # generators: see Peer.rngs


def _container(x) -> bool:
    """Mutable, or a tuple that may hold something mutable (Adam's state ``(t, m, v)``)."""
    return _mutable(x) or isinstance(x, tuple)


def _apply_array(target, state) -> None:
    if target.shape == state.shape:
        target[...] = state


def _apply_list(target, state) -> None:
    if len(target) == len(state):
        for i, item in enumerate(state):
            if _same_kind(target[i], item):
                apply_state(target[i], item)
            else:
                target[i] = item
    else:
        target[:] = state


def _apply_dict(target, state) -> None:
    for key in [k for k in target if k not in state]:
        del target[key]
    for key, item in state.items():
        if key in target and _same_kind(target[key], item):
            apply_state(target[key], item)
        else:
            target[key] = item


def _apply_tuple(target, state) -> None:
    """A tuple's items, in place (a tuple itself cannot change)."""
    if len(target) == len(state):
        for item, new in zip(target, state, strict=True):
            if _same_kind(item, new):
                apply_state(item, new)


def _apply_set(target, state) -> None:
    target.clear()
    target.update(state)


def _apply_rng(target, state) -> None:
    target.bit_generator.state = state.bit_generator.state


#: How a target of each exact type takes a state of the same exact type.
_APPLIERS = {np.ndarray: _apply_array, list: _apply_list, dict: _apply_dict, set: _apply_set,
             np.random.Generator: _apply_rng}


def apply_state(target, state) -> None:
    """Give ``target`` (a caller's argument) the state the callee left its copy in: arrays
    are overwritten in place, and a list's or dict's items are updated item by item, so an
    array the caller holds inside them changes as it would have in one process."""
    kind = type(target)
    apply = _by_type(_APPLIERS, kind)
    if apply is not None and type(state) is kind:
        apply(target, state)
    elif isinstance(target, tuple) and isinstance(state, tuple):  # named tuples too
        _apply_tuple(target, state)


def _same_kind(target, state) -> bool:
    """Whether ``target`` can take ``state`` in place."""
    if not _container(target) or not (type(target) is type(state) or (
            isinstance(target, tuple) and isinstance(state, tuple))):
        return False
    return type(target) is not np.ndarray or (target.shape == state.shape and
                                              target.dtype == state.dtype)


class Peer:
    """One end of the channel: sends requests, serves the other side's requests.

    ``trusted``: the grader's end, which serves only calls of the callables it handed out
    (and public attributes of ``course_lib`` objects). The kernel's end serves everything,
    plus ``bindings`` (names of its namespace ``ns``).
    """

    def __init__(self, sock, trusted: bool, ns: dict | None = None):
        self.sock, self.trusted, self.ns = sock, trusted, ns if ns is not None else {}
        self.exported: dict[int, object] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle number
        self.handles: dict[int, Remote] = {}
        self.counter = 0
        self.epoch = 0  # the serving session (one per cell); stale messages are dropped
        self.calls = 0  # requests sent (for the benchmark and the tests)
        self.served = 0  # requests answered
        self.closed_epoch = -1  # the other side stopped serving this epoch
        # Random generators the trusted side passed: one object per generator on each side,
        # their states kept equal by every message (a student's lazy generator may draw
        # from one long after the call that passed it returned).
        self.rngs: dict[int, np.random.Generator] = {}
        self.rng_seen: dict[int, str] = {}

    # --- framing ---------------------------------------------------------------------
    def send(self, msg: dict) -> None:
        changed = self._rng_changes()
        if changed:
            msg = {**msg, "rngs": changed}
        body = json.dumps(msg).encode()
        if len(body) > MAX_FRAME:
            raise ValueError(f"message of {len(body) >> 20} MiB: more than "
                             f"{MAX_FRAME >> 20} MiB")
        try:
            self.sock.sendall(HEADER.pack(len(body)) + body)
        except OSError as err:
            raise ChannelClosed(f"the other side is gone ({type(err).__name__})") from None

    def recv(self) -> dict:
        """The next message (read to its exact length: nothing is buffered here, so a
        process that forks hands its child a clean channel)."""
        (size,) = HEADER.unpack(self._exactly(HEADER.size))
        if size > MAX_FRAME:
            raise ChannelClosed("message too large")
        try:
            msg = json.loads(self._exactly(size))
        except ValueError:
            raise ChannelClosed("malformed message") from None
        if not isinstance(msg, dict):
            raise ChannelClosed("malformed message")
        if msg.get("rngs"):
            self._rng_apply(msg["rngs"])
        return msg

    def _rng_changes(self) -> dict:
        changed = {}
        for key, rng in self.rngs.items():
            state = json.dumps(_state(rng), sort_keys=True)
            if state != self.rng_seen.get(key):
                changed[str(key)] = self.rng_seen[key] = state
        return changed

    def _rng_apply(self, states) -> None:
        if not isinstance(states, dict):
            return
        for key, state in states.items():
            rng = self.rngs.get(int(key)) if str(key).isdigit() else None
            if rng is not None:
                try:
                    rng.bit_generator.state = json.loads(state)
                except (TypeError, ValueError, KeyError):
                    continue  # a malformed state leaves the generator as it was
                self.rng_seen[int(key)] = state

    def _exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            try:
                chunk = self.sock.recv(min(size - len(data), 1 << 22))
            except OSError as err:
                raise ChannelClosed(f"the other side is gone ({type(err).__name__})") from None
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            data += chunk
        return bytes(data)

    # --- values ----------------------------------------------------------------------
    def export(self, obj) -> dict:
        if isinstance(obj, Remote) and obj._peer is self:
            return {"~": "own", "id": obj._id}
        key = id(obj)
        if key not in self.ids:
            self.ids[key] = len(self.exported) + 1
            self.exported[self.ids[key]] = obj
        name = getattr(obj, "__name__", "") if callable(obj) else ""
        return {"~": "ref", "id": self.ids[key], "type": type(obj).__qualname__[:200],
                "call": callable(obj), "name": name[:200] if isinstance(name, str) else ""}

    def encode(self, x):
        return enc(x, self.export, share=self._share if self.trusted else self._share_back)

    def _share_back(self, x, data: dict) -> dict:
        """The kernel names a generator the trusted side gave it (the same object there);
        its own generators travel as copies."""
        for key, rng in self.rngs.items():
            if rng is x:
                return {**data, "~": "rngkey", "key": key}
        return data

    def _share(self, x, data: dict) -> dict:
        """The trusted side's generator: the kernel keeps one object for it, kept in step
        (the kernel's own generators travel as copies)."""
        key = self.ids.setdefault(id(x), len(self.exported) + 1)
        self.exported.setdefault(key, x)
        self.rngs[key] = x
        self.rng_seen[key] = json.dumps(data["state"], sort_keys=True)
        return {**data, "~": "rngkey", "key": key}

    def _handle(self, x: dict):
        if x["~"] == "rngkey":  # the same generator object every time it is passed
            key = int(x["key"])
            if self.trusted:  # the kernel names one of ours: only one we handed out
                if key not in self.rngs:
                    raise ValueError("not a generator the grader handed out")
                return self.rngs[key]
            if key not in self.rngs:
                self.rngs[key] = dec({**x, "~": "rng"})
            self.rngs[key].bit_generator.state = dec({**x, "~": "rng"}).bit_generator.state
            self.rng_seen[key] = json.dumps(_state(self.rngs[key]),
                                            sort_keys=True)
            return self.rngs[key]
        ident = int(x.get("id", 0))
        if x["~"] == "own":
            if ident not in self.exported:
                raise ValueError("unknown handle")
            return self.exported[ident]
        if ident not in self.handles:
            self.handles[ident] = Remote(self, ident, str(x.get("type", "?")),
                                         bool(x.get("call")), str(x.get("name") or ""))
        return self.handles[ident]

    def decode(self, x):
        return dec(x, self._handle)

    # --- requests --------------------------------------------------------------------
    def request(self, op: str, **fields):
        """Send a request and serve the other side's requests until its answer comes."""
        if self.closed_epoch == self.epoch:
            raise ChannelClosed("the kernel stopped serving this cell")
        self.counter += 1
        self.calls += 1
        ident = self.counter
        args = fields.get("args")
        msg = {"op": op, "id": ident, "epoch": self.epoch}
        if self.trusted:  # the student's code runs under the test's np.errstate
            msg["fp"] = fp_state()
        for key, value in fields.items():
            if key == "kwargs":
                msg[key] = {str(k): self.encode(v) for k, v in value.items()}
            elif key == "name":
                msg[key] = value
            else:
                msg[key] = self.encode(value)
        self.send(msg)
        answer = self._answer_to(ident)
        _warn_again(answer.get("warnings"))
        if "err" in answer:
            raise exc_from(answer["err"])
        for key, state in (answer.get("after") or {}).items():
            where = fields.get("kwargs", {}) if not key.isdigit() else \
                dict(enumerate(args or []))
            target = where.get(int(key) if key.isdigit() else key)
            apply_state(target, self.decode(state))
        return self.decode(answer.get("ok"))

    def _answer_to(self, ident: int) -> dict:
        """The answer to request ``ident``, serving meanwhile the other side's requests of
        this epoch (answers to requests that were given up are dropped)."""
        while True:
            answer = self.recv()
            if "re" not in answer:
                self._meanwhile(answer)
                continue
            if answer["re"] != ident:
                continue  # the answer to a request that was given up
            return answer

    def _meanwhile(self, msg: dict) -> None:
        """A message that is not an answer, while waiting for one: the other side stopped
        serving this epoch, or a request of this epoch (others are left over: dropped)."""
        if msg.get("op") == "closed":
            if msg.get("epoch") != self.epoch:
                return
            self.closed_epoch = self.epoch
            raise ChannelClosed(str(msg.get("why", "the kernel stopped serving")))
        if msg.get("epoch") == self.epoch:
            self.handle(msg)

    def serve(self, epoch: int = 0) -> None:
        """Answer requests until the other side sends ``end`` for this ``epoch``. Stopped
        by anything else (the cell's time limit), it tells the other side so."""
        self.epoch = epoch
        try:
            while True:
                msg = self.recv()
                if msg.get("epoch") != epoch:
                    continue  # left over from an earlier cell
                if msg.get("op") == "end":
                    return
                if "re" not in msg:
                    self.handle(msg)
        except ChannelClosed:
            return
        except BaseException as err:
            try:
                self.send({"op": "closed", "epoch": epoch,
                           "why": f"the kernel stopped serving: {type(err).__name__}"})
            except ChannelClosed:
                pass
            raise

    def handle(self, msg: dict) -> None:
        """Serve one request; the answer (value or exception) goes back."""
        self.served += 1
        ident = msg.get("id")
        said: list = []  # the kernel's warnings go to the test, which decides (_warn_again)
        try:
            if self.trusted:
                answer = self._serve(msg)
            else:
                with warnings.catch_warnings(record=True) as caught, fp_context(msg.get("fp")):
                    warnings.simplefilter("always")
                    try:
                        answer = self._serve(msg)
                    finally:
                        said = [[w.category.__name__, str(w.message)[:2000],
                                 str(w.filename)[:200], int(w.lineno or 0)]
                                for w in caught[:100]]
        except (KeyboardInterrupt, SystemExit) as err:
            self.send({"re": ident, "err": ["TimeoutError", "interrupted: "
                                            f"{type(err).__name__} (the cell's time limit?)"]})
            raise
        except BaseException as err:  # noqa: BLE001  (the student's exception goes back)
            tb = err.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename == _THIS:
                tb = tb.tb_next
            # the grader's traceback would quote test code: only the kernel sends its own
            self.send({"re": ident, "err": exc_record(err, None if self.trusted else tb),
                       "warnings": said})
            return
        self.send({"re": ident, **answer, "warnings": said})

    def _serve(self, msg: dict) -> dict:
        op = msg.get("op")
        if self.trusted and op not in ("call", "getattr", "operator"):
            raise PermissionError(f"the grader does not serve {str(op)[:40]!r}")
        serve = self._REQUESTS.get(op) if isinstance(op, str) else None
        if serve is not None:
            return serve(self, msg)
        target = self.decode(msg.get("target"))
        if self.trusted and isinstance(target, Remote):
            raise PermissionError("not something the grader handed out")
        serve = self._REQUESTS_ON_TARGET.get(op) if isinstance(op, str) else None
        if serve is None:
            raise TypeError(f"unknown request {str(op)[:40]!r}")
        return serve(self, target, msg)

    def _serve_bindings(self, msg: dict) -> dict:
        names = [str(n) for n in self.decode(msg.get("names"))]
        return {"ok": self.encode({n: self.ns[n] for n in names if n in self.ns})}

    def _serve_bind(self, msg: dict) -> dict:
        """A test put something in place of one of the student's names."""
        self.ns[str(msg.get("name"))] = self.decode(msg.get("value"))
        return {"ok": None}

    def _serve_operator(self, msg: dict) -> dict:
        name = str(msg.get("name"))
        fn = OPERATORS.get(name)
        if fn is None:
            raise TypeError(f"unknown operator {name[:40]!r}")
        args = self.decode(msg.get("args"))
        if self.trusted and (name not in TRUSTED_OPERATORS or not args or
                             isinstance(args[0], Remote)):
            raise PermissionError(f"the grader does not serve {name[:40]!r} here")
        return {"ok": self.encode(fn(*args))}

    def _serve_getattr(self, target, msg: dict) -> dict:
        name = str(msg.get("name"))
        if self.trusted and (name.startswith("_") or not
                             type(target).__module__.startswith("course_lib")):
            raise PermissionError(f"attribute {name!r} is not available")
        return {"ok": self.encode(getattr(target, name))}

    def _serve_setattr(self, target, msg: dict) -> dict:
        setattr(target, str(msg.get("name")), self.decode(msg.get("value")))
        return {"ok": None}

    def _serve_call(self, target, msg: dict) -> dict:
        if self.trusted and not callable(target):
            raise PermissionError("not a function")
        raw_args = msg.get("args") or {"~": "list", "v": []}
        raw_kwargs = msg.get("kwargs") or {}
        args = self.decode(raw_args)
        kwargs = {str(k): self.decode(v) for k, v in raw_kwargs.items()}
        result = target(*args, **kwargs)
        after = self._changed_in_place(raw_args, raw_kwargs, args, kwargs)
        return {"ok": self.encode(result), "after": after}

    def _changed_in_place(self, raw_args, raw_kwargs, args, kwargs) -> dict:
        """The arguments the call changed (their encodings now differ from what came)."""
        after = {}
        raw = dict(enumerate(raw_args.get("v", []))) | raw_kwargs
        for key, value in list(enumerate(args)) + list(kwargs.items()):
            if _container(value):
                now = self.encode(value)
                if now != raw.get(key):
                    after[str(key)] = now
        return after

    #: Requests on no object: the kernel's names (the kernel only), and operators.
    _REQUESTS = {"bindings": _serve_bindings, "bind": _serve_bind,
                 "operator": _serve_operator}
    #: Requests on the object ``target`` names, once the trusted side checked it is its own.
    _REQUESTS_ON_TARGET = {"getattr": _serve_getattr, "setattr": _serve_setattr,
                           "call": _serve_call}
