"""What the notebook tests share: the course's assignments, their banks, and in-process runs.

An assignment is a folder ``source/NN_topic/`` holding ``NN_topic.ipynb``; its mistake bank is
``autograder/demo/mistakes/NN_topic.py``, which also holds the optional per-assignment test data
(see ``DATA_FIELDS`` below).
``COURSE_ROOT`` points the tests at another copy of the course (e.g. a past commit exported
with ``git archive``); the default is this repository.

A notebook "runs in-process" the way nbgrader's autograder runs it, without a kernel: every
code cell in order in one namespace, a failing cell recorded and the run going on; per cell,
the exception it raised and what it wrote to stderr or as a warning. Like every process that
runs hidden tests, it has the whole ``course_lib``: ``COURSE_LIB_COMPLETE=1`` makes the
assignment's ``exercise.withhold(...)`` cell a no-op (see :func:`full_library`).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import os
import re
import runpy
import symtable
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from autograder.core import notebooks as nbk
from autograder.demo.mistakes import Mistake, load_bank
from course_lib.exercise import COMPLETE_ENV

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("COURSE_ROOT") or HERE.parents[1]).resolve()
TOTAL_POINTS = 100
# What nbgrader's ClearSolutions writes in place of a solution region (nbgrader_config.py).
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
SOLUTION_REGION = re.compile(
    r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*$",
    re.DOTALL | re.MULTILINE)
HIDDEN_REGION = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*$",
                           re.DOTALL | re.MULTILINE)
# Optional per-assignment data: name -> default, read from the assignment's bank file.
DATA_FIELDS = {
    # grade_id -> source of a correct solution cell written differently from the reference:
    # it must pass its test cell quietly (the hidden tests are not over-strict).
    "ALTERNATIVES": {},
    # ids of cells that carry no nbgrader metadata on purpose (a scratch cell the student may
    # edit); every other cell must carry it.
    "SCRATCH_CELLS": (),
    # the bank must keep at least this many mistakes.
    "MIN_MISTAKES": 1,
    # strings that must not appear in the released notebook (beyond every solution and
    # hidden-test line, which are always checked).
    "RELEASE_SECRETS": (),
}


def assignments(root: Path = ROOT) -> list[str]:
    """Every assignment folder ``source/NN_*`` of the course, sorted."""
    return sorted(p.name for p in (root / "source").glob("[0-9][0-9]_*") if p.is_dir())


def lectures(root: Path = ROOT) -> list[str]:
    return sorted(p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def source_path(name: str, root: Path = ROOT) -> Path:
    return root / "source" / name / f"{name}.ipynb"


def bank_dir(root: Path = ROOT) -> Path:
    return root / "autograder" / "demo" / "mistakes"


def text(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


def key(cell: dict) -> str:
    """A cell's name in results: its nbgrader grade_id, else its cell id."""
    return meta(cell).get("grade_id") or str(cell.get("id"))


@cache
def cells(name: str, root: Path = ROOT) -> tuple[dict, ...]:
    """The source notebook's cells, as committed (JSON)."""
    return tuple(json.loads(source_path(name, root).read_text(encoding="utf-8"))["cells"])


def cell(name: str, grade_id: str, root: Path = ROOT) -> dict:
    found = [c for c in cells(name, root) if meta(c).get("grade_id") == grade_id]
    if len(found) != 1:
        raise KeyError(f"{name}: {len(found)} cells with grade_id {grade_id!r}")
    return found[0]


def solution_cells(name: str, root: Path = ROOT) -> list[dict]:
    """Autograded exercises: code cells with nbgrader ``solution`` set."""
    return [c for c in cells(name, root) if c["cell_type"] == "code" and meta(c).get("solution")]


def graded_cells(name: str, root: Path = ROOT) -> list[dict]:
    """Autograded test cells: graded code cells."""
    return [c for c in cells(name, root) if c["cell_type"] == "code" and meta(c).get("grade")]


@cache
def bank(name: str, root: Path = ROOT) -> tuple[Mistake, ...]:
    return tuple(load_bank(name, bank_dir(root)))


def bank_or_empty(name: str, root: Path = ROOT) -> tuple[Mistake, ...]:
    """The bank for parametrising at collection time; a broken bank fails test_bank_loads."""
    try:
        return bank(name, root)
    except Exception:  # noqa: BLE001  (reported by its own test, not as a collection error)
        return ()


@cache
def data(name: str, root: Path = ROOT) -> dict:
    """The assignment's optional test data (DATA_FIELDS) from its bank file, defaults filled in."""
    path = bank_dir(root) / f"{name}.py"
    module = runpy.run_path(str(path)) if path.exists() else {}
    return {**DATA_FIELDS, **{k: module[k] for k in DATA_FIELDS if k in module}}


def data_or_default(name: str, root: Path = ROOT) -> dict:
    try:
        return data(name, root)
    except Exception:  # noqa: BLE001  (reported by test_bank_loads)
        return dict(DATA_FIELDS)


# ------------------------------------------------------------------ in-process runs


@dataclass
class CellRun:
    error: BaseException | None = None
    stderr: str = ""


@dataclass
class Run:
    cells: dict[str, CellRun] = field(default_factory=dict)
    global_rng_changed: bool = False

    def failed(self, prefix: str = "") -> dict[str, str]:
        """name -> repr(error) of the cells (whose name starts with `prefix`) that raised."""
        return {k: repr(r.error) for k, r in self.cells.items()
                if r.error is not None and k.startswith(prefix)}

    def noisy(self) -> dict[str, str]:
        return {k: r.stderr for k, r in self.cells.items() if r.stderr}


def stubbed(source: str) -> str:
    """A cell as ``nbgrader generate_assignment`` releases it: solutions replaced by the stub,
    hidden tests removed."""
    def stub(match: re.Match) -> str:
        return "\n".join(match.group(1) + line for line in CODE_STUB.splitlines())

    return HIDDEN_REGION.sub("", SOLUTION_REGION.sub(stub, source))


@contextlib.contextmanager
def _figures_closed_on_show():
    """In a kernel a shown figure goes to the front end; in-process, close it quietly."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    show = plt.show
    plt.show = lambda *args, **kwargs: plt.close("all")
    try:
        yield
    finally:
        plt.show = show
        plt.close("all")


@cache
def _names(code: str) -> tuple[set[str], set[str]] | None:
    """(global names a cell binds, global names it reads from earlier cells), from its symbol
    table; None if it does not parse. A name the cell binds itself counts as bound before it
    is read (test cells make their own ``rng``, ``x``...), unless the cell updates it with an
    augmented assignment."""
    try:
        top = symtable.symtable(code, "<cell>", "exec")
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bound = {s.get_name() for s in top.get_symbols()
             if s.is_assigned() or s.is_imported() or s.is_namespace()}
    read = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    tables = list(top.get_children())
    while tables:  # functions, classes, comprehensions: the globals they use
        table = tables.pop()
        tables.extend(table.get_children())
        for symbol in table.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                read.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                bound.add(symbol.get_name())
    augmented = {n.target.id for n in ast.walk(tree)
                 if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}
    return bound, (read - bound) | augmented


def _slice(codes: list[str], changed: int) -> set[int]:
    """Indices after `changed` that can see the change of cell `changed`, and the cells
    they need: a cell reading a name the changed cell binds (or one bound by a cell that
    reads one), and, going backwards, every cell binding a name that a kept cell reads."""
    parsed = [_names(code) for code in codes]
    affected = set(parsed[changed][0]) if parsed[changed] else set()
    for names in parsed[changed + 1:]:
        if names and names[1] & affected:
            affected |= names[0]
    keep, needed = set(), set()
    for i in range(len(codes) - 1, changed, -1):
        names = parsed[i]
        if names is None or names[1] & affected or names[0] & needed:
            keep.add(i)
            needed |= names[1] if names else set()
    return keep


@cache
def _code_names(code: str) -> set[str]:
    """Names a cell binds to code, not data: imports (modules, library functions) and its
    own functions and classes."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    return names | {n.name for n in tree.body
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def focus(codes: list[str], graded: set[int], changed: int, own: int,
          after: bool = True) -> set[int]:
    """The cells to run to see what a change of cell `changed` does to its test cell `own`
    (and, `after`, to the later cells that can see it: :func:`_slice`).

    Every cell that is not a graded test cell runs. An earlier graded test cell runs only if
    a cell that runs after it may depend on it: it binds a name that cell reads, or it reads
    the same data (not code: a module, a function, a builtin), which it may have changed or
    drawn from.
    """
    parsed = [_names(code) for code in codes]
    kept = {i for i in range(own + 1) if i not in graded} | {changed, own}
    if after:
        kept |= _slice(codes, changed)
    if any(names is None for names in parsed[: own + 1]):
        return kept | set(range(own + 1))
    shared = set(dir(builtins)).union(*(_code_names(code) for code in codes))
    needed: set[str] = set()
    for i in range(len(codes) - 1, -1, -1):
        names = parsed[i]
        reads = (names[1] if names else set()) - shared
        if i in kept or (i < own and (names[0] | reads) & needed):
            kept.add(i)
            needed |= reads
    return kept


@contextlib.contextmanager
def full_library(complete: bool = True):
    """``COURSE_LIB_COMPLETE=1`` for the duration (then as it was): hidden tests need the whole
    ``course_lib``, so the assignment's ``exercise.withhold(...)`` cell does nothing.
    With `complete` False, the environment is left alone."""
    old = os.environ.get(COMPLETE_ENV)
    if complete:
        os.environ[COMPLETE_ENV] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(COMPLETE_ENV, None)
        else:
            os.environ[COMPLETE_ENV] = old


def run(name: str, replace: dict[str, str] | None = None, release: bool = False,
        only: frozenset[str] | set[str] | None = None, root: Path = ROOT,
        complete: bool = True) -> Run:
    """Execute the assignment's code cells in order in one fresh namespace.

    `replace` maps a grade_id to the source to run instead of that cell's; `release` runs
    every cell as the released notebook has it (see :func:`stubbed`); `only` runs only the
    cells of those names (see :func:`focused`). The run has the whole ``course_lib``
    (:func:`full_library`) unless `complete` is False: then the notebook's
    ``exercise.withhold(...)`` cell withholds what it names, as in a student's kernel.
    """
    import numpy as np

    replace = replace or {}
    code_cells = [c for c in cells(name, root) if c["cell_type"] == "code"]
    codes = [replace.get(key(c), text(c)) for c in code_cells]
    if release:
        codes = [stubbed(code) for code in codes]
    keys = [key(c) for c in code_cells]
    selected = set(range(len(codes))) if only is None else {keys.index(k) for k in only}
    namespace: dict = {"__name__": "__main__"}
    result = Run()
    before = np.random.get_state()  # noqa: NPY002  (checking that nobody uses it)
    with _figures_closed_on_show(), full_library(complete):
        for i, (k, code) in enumerate(zip(keys, codes, strict=True)):
            if i not in selected:
                continue
            out, err = io.StringIO(), io.StringIO()
            error = None
            with (contextlib.redirect_stdout(out), contextlib.redirect_stderr(err),
                  warnings.catch_warnings(record=True) as caught):
                warnings.simplefilter("always")
                try:
                    exec(compile(code, f"<cell {k}>", "exec"), namespace)  # noqa: S102
                except Exception as exc:  # the notebook's own failure, recorded per cell
                    error = exc
            stderr = err.getvalue() + "".join(
                f"{w.category.__name__}: {w.message}\n" for w in caught)
            result.cells[k] = CellRun(error, stderr)
    after = np.random.get_state()  # noqa: NPY002
    result.global_rng_changed = not (np.array_equal(before[1], after[1])
                                     and before[2:] == after[2:])
    return result


@cache
def focused(name: str, changed: str, after: bool = True, root: Path = ROOT) -> frozenset[str]:
    """Names of the cells :func:`focus` runs for a change of the exercise `changed`."""
    code_cells = [c for c in cells(name, root) if c["cell_type"] == "code"]
    keys = [key(c) for c in code_cells]
    graded = {i for i, c in enumerate(code_cells) if meta(c).get("grade")}
    chosen = focus([text(c) for c in code_cells], graded, keys.index(changed),
                   keys.index(f"test_{changed}"), after)
    return frozenset(keys[i] for i in chosen)


@cache
def source_run(name: str, root: Path = ROOT) -> Run:
    """The source notebook run in-process, as committed (cached per process)."""
    return run(name, root=root)


def released_secrets(name: str, root: Path = ROOT) -> list[str]:
    """Lines that must not reach students beyond solution and hidden-test lines: the text of
    manually graded answers written without solution markers, and RELEASE_SECRETS."""
    lines = []
    for c in cells(name, root):
        if c["cell_type"] == "markdown" and meta(c).get("solution"):
            src = text(c)
            if nbk.BEGIN_SOLUTION not in src:
                lines += [ln.strip() for ln in src.splitlines() if ln.strip()]
    return lines + list(data(name, root)["RELEASE_SECRETS"])


# ------------------------------------------------------------------ executed notebooks


def outputs(nb) -> list[tuple[str, dict]]:
    """(cell name, output) of every output of an executed notebook."""
    return [(key(c), o) for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", [])]


def problems(nb) -> list[tuple[str, str, str]]:
    """(cell, "error", ename) and (cell, "stderr", text) of an executed notebook."""
    found = []
    for name, out in outputs(nb):
        if out["output_type"] == "error":
            found.append((name, "error", out["ename"]))
        elif out["output_type"] == "stream" and out.get("name") == "stderr":
            found.append((name, "stderr", out["text"]))
    return found


def execute(path: Path, timeout: int = 120, cwd: Path | None = None, complete: bool = True):
    """Run a notebook top to bottom in a fresh kernel; errors are kept as outputs. The kernel
    has the whole ``course_lib`` (a source notebook's hidden tests use it) unless `complete`
    is False (see :func:`full_library`)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    with full_library(complete):  # the kernel inherits the environment
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(cwd or path.parent)}}
                                ).execute()
    return nb
