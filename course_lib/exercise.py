"""What an assignment leaves to the student: ``withhold`` the library's own answers.

``course_lib`` implements every exercise of the course, so each assignment names, in its first
cell, the functions and classes that would answer its exercises:

    from course_lib import exercise
    exercise.withhold("optim.adam", "optim.adamw", "optim.scale_by_adam")

From then on, in that process, calling one of them (or constructing the class) raises
:class:`NotAvailable`, and so does any ``course_lib`` code that calls it. A name is a dotted
path relative to ``course_lib``: ``module.function``, ``module.Class`` or
``module.Class.method``.

Processes that run the instructor's hidden tests (the grader's trusted process, the release
check, the in-process notebook harness) set ``COURSE_LIB_COMPLETE=1``, which turns
``withhold`` into a no-op (names are still checked): they need the full library. The grader
itself enforces the same rule with a copy of the package in which these definitions are
gone (``autograder.sandbox.withhold.restricted_copy``); this module gives the student the
same message earlier, in JupyterLab.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types

__all__ = ["COMPLETE_ENV", "NotAvailable", "message", "withheld", "withhold"]

COMPLETE_ENV = "COURSE_LIB_COMPLETE"
_PACKAGE = __name__.rpartition(".")[0] or "course_lib"

_originals: dict[tuple[int, str], tuple[object, object]] = {}  # (id(owner), attr) -> (owner, obj)
_withheld: list[str] = []


def message(name: str) -> str:
    """The message of :class:`NotAvailable` for the dotted name ``name``."""
    return f"course_lib.{name} is not available in this exercise: write it yourself"


class NotAvailable(RuntimeError):
    """Raised by a withheld ``course_lib`` function or class: the exercise asks for your own."""

    def __init__(self, name: str):
        super().__init__(message(name))
        self.name = name


def _resolve(name: str) -> tuple[object, str, object]:
    """(owner, attribute, object) for ``module.attr`` or ``module.Class.attr``; ValueError
    naming ``name`` when it does not exist."""
    if not isinstance(name, str) or not 2 <= len(name.split(".")) <= 3:
        raise ValueError(f"cannot withhold {name!r}: expected 'module.name' or "
                         "'module.Class.name', relative to course_lib")
    module_name, *path = name.split(".")
    try:
        owner = importlib.import_module(f"{_PACKAGE}.{module_name}")
    except ModuleNotFoundError as err:
        if err.name != f"{_PACKAGE}.{module_name}":
            raise
        raise ValueError(f"cannot withhold {name!r}: course_lib has no module "
                         f"{module_name!r}") from None
    for i, attr in enumerate(path):
        if i and not isinstance(owner, type):
            raise ValueError(f"cannot withhold {name!r}: {'.'.join(path[:i])} is not a class")
        if attr not in vars(owner):
            raise ValueError(f"cannot withhold {name!r}: course_lib.{module_name} has no "
                             f"{'.'.join(path[: i + 1])}")
        if i < len(path) - 1:
            owner = vars(owner)[attr]
    obj = inspect.getattr_static(owner, path[-1])
    if not (callable(obj) or isinstance(obj, (property, staticmethod, classmethod))):
        raise ValueError(f"cannot withhold {name!r}: it is not a function or a class")
    return owner, path[-1], obj


def _stub(name: str, obj):
    """A replacement for ``obj`` that raises NotAvailable(name) when called or constructed."""
    doc = message(name) + "."
    if isinstance(obj, type):
        def __new__(cls, *args, **kwargs):
            raise NotAvailable(name)

        return type(obj.__name__, (), {"__new__": __new__, "__doc__": doc,
                                       "__module__": obj.__module__,
                                       "__qualname__": obj.__qualname__})
    inner = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    if isinstance(obj, property):
        inner = obj.fget

    def stub(*args, **kwargs):
        raise NotAvailable(name)

    for attr in ("__name__", "__qualname__", "__module__"):
        if hasattr(inner, attr):
            setattr(stub, attr, getattr(inner, attr))
    stub.__doc__ = doc
    if isinstance(obj, property):
        return property(stub, doc=doc)
    return type(obj)(stub) if isinstance(obj, (staticmethod, classmethod)) else stub


def _replace(owner, attr: str, new) -> None:
    key = (id(owner), attr)
    if key not in _originals:
        _originals[key] = (owner, inspect.getattr_static(owner, attr))
    setattr(owner, attr, new)


def _importers(obj) -> list[tuple[types.ModuleType, str]]:
    """(module, attribute) of every loaded course_lib module that holds ``obj`` by name
    (``from .x import name``)."""
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == _PACKAGE
                                  or module_name.startswith(_PACKAGE + ".")):
            continue
        found += [(module, attr) for attr, value in list(vars(module).items()) if value is obj]
    return found


def withhold(*names: str) -> None:
    """Make each ``course_lib`` name raise :class:`NotAvailable` in this process.

    Every name is checked first (a ValueError names the first that does not exist). Then,
    unless ``COURSE_LIB_COMPLETE=1``, each is replaced by a stub, in its module and in every
    course_lib module that imported it by name. Calling it again with the same names is
    harmless.
    """
    resolved = [(name, *_resolve(name)) for name in names]
    if os.environ.get(COMPLETE_ENV) == "1":
        return
    for name, owner, attr, obj in resolved:
        if name in _withheld:
            continue
        stub = _stub(name, obj)
        places = _importers(obj) if isinstance(owner, types.ModuleType) else [(owner, attr)]
        for module, module_attr in places or [(owner, attr)]:
            _replace(module, module_attr, stub)
        _withheld.append(name)


def withheld() -> tuple[str, ...]:
    """The names withheld in this process, in the order they were withheld."""
    return tuple(_withheld)


def _restore() -> None:
    """Put every withheld object back (for tests only: a notebook never calls this)."""
    for (_, attr), (owner, obj) in reversed(list(_originals.items())):
        setattr(owner, attr, obj)
    _originals.clear()
    _withheld.clear()
