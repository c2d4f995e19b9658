"""The ``course_lib`` names an assignment withholds, and a copy of the package without them.

An assignment's first code cell declares what the student must write without the library:

    from course_lib import exercise
    exercise.withhold("optim.adam", "optim.adamw", "optim.scale_by_adam")

:func:`declared` reads those names from the source notebook (parsed, never run).
:func:`restricted_copy` writes the ``course_lib`` that a student's kernel gets while the
assignment is graded: every ``.py`` file of the package, byte for byte, except that each
declared definition (a function, a class, or a method ``module.Class.name``, decorators
included) is replaced by a stub that raises ``course_lib.exercise.NotAvailable``. Nothing of
the withheld code stays in the copy, so a submission cannot read it back and run it.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import nbformat

from autograder.core import notebooks as nbk

__all__ = ["declared", "restricted_copy"]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # lines as ast numbers them
_KEEP_DECORATORS = {"property", "staticmethod", "classmethod"}


def _first_code_cell(source_nb) -> str | None:
    if isinstance(source_nb, (str, Path)):
        source_nb = json.loads(Path(source_nb).read_text(encoding="utf-8"))
    for cell in source_nb.get("cells", []):
        if cell.get("cell_type") == "code":
            return nbk.as_text(cell.get("source"))
    return None


def _is_withhold(func: ast.expr) -> bool:
    return ((isinstance(func, ast.Name) and func.id == "withhold")
            or (isinstance(func, ast.Attribute) and func.attr == "withhold"))


def declared(source_nb) -> tuple[str, ...]:
    """The names passed to ``withhold(...)`` (or ``exercise.withhold(...)``) in the first code
    cell of ``source_nb`` (a notebook or its path), in order; ``()`` if there is no such call.

    The cell is parsed, never executed: an argument that is not a string literal (a variable,
    ``*names``, a keyword) is a ValueError, and so is a first cell that does not parse.
    """
    code = _first_code_cell(source_nb)
    if code is None:
        return ()
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise ValueError(f"the first code cell does not parse: {err}") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_withhold(node.func)):
            continue
        for arg in [*node.args, *node.keywords]:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise ValueError(f"withhold(...) in the first code cell, line {node.lineno}: "
                                 f"every argument must be a string literal, got "
                                 f"{ast.unparse(arg)!r}")
            if arg.value not in names:
                names.append(arg.value)
    return tuple(names)


# ------------------------------------------------------------------ the restricted copy


def _stub_lines(kind: str, name: str, qualified: str, indent: str, decorators: list[str],
                package_dots: str) -> list[str]:
    """The source of a stub for ``qualified`` (``module.name`` or ``module.Class.name``)."""
    doc = f'"""course_lib.{qualified} is not available in this exercise: write it yourself."""'
    body = [f"from {package_dots}exercise import NotAvailable", "",
            f"raise NotAvailable({qualified!r})"]
    if kind == "class":
        lines = [f"class {name}:", f"    {doc}", "", "    def __new__(cls, *args, **kwargs):",
                 *(f"        {b}" if b else "" for b in body)]
    else:
        lines = [*(f"@{d}" for d in decorators), f"def {name}(*args, **kwargs):",
                 f"    {doc}", *(f"    {b}" if b else "" for b in body)]
    return [f"{indent}{line}" if line else "" for line in lines]


def _definitions(body: list[ast.stmt], name: str) -> list[ast.stmt]:
    return [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                              ast.ClassDef)) and n.name == name]


def _span(node: ast.stmt, lines: list[str]) -> tuple[int, int]:
    """0-based [start, end) of the lines of a definition: its decorators, its body, and the
    comments indented under it that follow its last statement."""
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    end = node.end_lineno
    j = end
    while j < len(lines):
        stripped = lines[j].strip()
        if stripped.startswith("#") and len(lines[j]) - len(lines[j].lstrip()) > node.col_offset:
            end = j = j + 1
        elif not stripped:
            j += 1
        else:
            break
    return start, end


def _withheld_source(text: str, module: str, attrs: list[list[str]], dots: str) -> str:
    """``text`` (a module of course_lib) with every definition named in ``attrs`` (each
    ``[name]`` or ``[Class, name]``) replaced by a stub; every other line as it was."""
    tree = ast.parse(text)
    lines = _LINE.findall(text)
    newline = next((ln[len(ln.rstrip("\r\n")):] for ln in lines if ln.endswith(("\n", "\r"))),
                   "\n")
    replacements = []
    for path in attrs:
        qualified = ".".join([module, *path])
        scope = tree.body
        if len(path) == 2:
            owners = [n for n in _definitions(tree.body, path[0]) if isinstance(n, ast.ClassDef)]
            if not owners:
                raise ValueError(f"cannot withhold {qualified!r}: course_lib.{module} defines "
                                 f"no class {path[0]}")
            scope = owners[-1].body
        found = _definitions(scope, path[-1])
        if not found:
            raise ValueError(f"cannot withhold {qualified!r}: course_lib.{module} has no "
                             f"function or class definition of {'.'.join(path)}")
        for node in found:
            kind = "class" if isinstance(node, ast.ClassDef) else "def"
            decorators = [d.id for d in node.decorator_list
                          if isinstance(d, ast.Name) and d.id in _KEEP_DECORATORS]
            stub = _stub_lines(kind, node.name, qualified, " " * node.col_offset, decorators,
                               dots)
            replacements.append((*_span(node, lines), [s + newline for s in stub]))
    replacements.sort()
    for (_, end, _), (start, _, _) in zip(replacements, replacements[1:], strict=False):
        if start < end:
            raise ValueError(f"overlapping definitions withheld in course_lib.{module}")
    for start, end, stub in reversed(replacements):
        if not lines[end - 1].endswith(("\n", "\r")):
            stub[-1] = stub[-1].rstrip("\r\n")
        lines[start:end] = stub
    return "".join(lines)


def _by_module(names) -> dict[str, list[list[str]]]:
    modules: dict[str, list[list[str]]] = {}
    for name in sorted(set(names)):
        module, *path = name.split(".")
        if not 1 <= len(path) <= 2 or not all(p.isidentifier() for p in [module, *path]):
            raise ValueError(f"cannot withhold {name!r}: expected 'module.name' or "
                             "'module.Class.name', relative to course_lib")
        modules.setdefault(module, []).append(path)
    for module, paths in modules.items():  # a method of a withheld class goes with its class
        modules[module] = [p for p in paths if len(p) == 1 or [p[0]] not in paths]
    return modules


def restricted_copy(names, dest: Path) -> Path:
    """Write ``dest/course_lib/``: the ``.py`` files of the installed ``course_lib`` (the one
    ``course_lib.__file__`` points at), with each name of ``names`` replaced by a stub that
    raises ``NotAvailable``. Returns ``dest/course_lib``. The result depends only on the set
    of names and the package; an existing ``dest/course_lib`` is replaced.
    """
    import course_lib

    source = Path(course_lib.__file__).resolve().parent
    target = Path(dest) / "course_lib"
    if target.resolve() == source:
        raise ValueError(f"restricted_copy would overwrite the package itself ({source})")
    modules = _by_module(names)
    files = {p.relative_to(source): p for p in sorted(source.rglob("*.py"))
             if "__pycache__" not in p.relative_to(source).parts}
    by_module = {".".join(rel.with_suffix("").parts[:-1] if rel.name == "__init__.py"
                          else rel.with_suffix("").parts): rel for rel in files}
    missing = sorted(m for m in modules if m not in by_module)
    if missing:
        raise ValueError(f"cannot withhold from {missing}: course_lib has no such module")
    if target.exists():
        shutil.rmtree(target)
    for rel, path in files.items():
        data = path.read_bytes()
        module = next((m for m, r in by_module.items() if r == rel and m in modules), None)
        if module is not None:
            depth = len(module.split("."))
            text = _withheld_source(data.decode("utf-8"), module, modules[module], "." * depth)
            compile(text, str(target / rel), "exec")  # a broken stub fails here, not in a kernel
            data = text.encode("utf-8")
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    return target


def restricted_course_lib(course, assignment: str, dest: Path) -> str:
    """A copy of course_lib without the names the assignment withholds (its notebooks' first
    cells declare them, :mod:`autograder.sandbox.withhold`); "" when it withholds nothing."""
    names = set()
    for path in sorted((course.source / assignment).glob("*.ipynb")):
        names.update(declared(nbformat.read(str(path), as_version=4)))
    if not names:
        return ""
    return str(restricted_copy(sorted(names), dest))
