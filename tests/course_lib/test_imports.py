"""The numerical modules of course_lib import numpy only (plus the standard library).

Only ``plots`` and ``widgets`` may import matplotlib / ipywidgets; drawing code lives there.
A function may import tqdm when it draws a progress bar (never at module import). Modules
are discovered by listing ``course_lib/*.py``, so a new module is covered without editing
this file.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "course_lib"
FRONT_END = {"plots", "widgets"}
ALLOWED_ROOTS = {"numpy", "course_lib", "__future__"}
# Progress bars (train.fit(progress=True)) may import tqdm inside the function that draws them.
LAZY_ALLOWED = {"tqdm"}
FORBIDDEN = ("matplotlib", "ipywidgets", "IPython", "scipy", "torch", "jax", "tensorflow",
             "pandas", "sklearn", "tqdm")


def numerical_modules() -> list[str]:
    names = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    return [n for n in names if n not in FRONT_END]


def _roots(nodes) -> set[str]:
    roots = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            roots.add("course_lib" if node.level else node.module.split(".")[0])
    return roots


def imported_roots(source: str) -> tuple[set[str], set[str]]:
    """Top-level package names imported by `source`: (at module level, inside functions).
    Relative imports count as course_lib."""
    tree = ast.parse(source)
    inner = [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f)]
    inner_ids = {id(n) for n in inner}
    outer = [n for n in ast.walk(tree) if id(n) not in inner_ids]
    return _roots(outer), _roots(inner)


def test_discovery_finds_the_package():
    assert (PACKAGE / "__init__.py").exists()
    assert "checks" in numerical_modules()
    assert not FRONT_END & set(numerical_modules())


def test_imported_roots_sees_every_form_of_import():
    src = ("import a.b\nfrom c.d import e\nfrom . import f\nif x:\n    import g\n"
           "def h():\n    import k\n    def m():\n        from n import o\n")
    assert imported_roots(src) == ({"a", "c", "course_lib", "g"}, {"k", "n"})


@pytest.mark.parametrize("module", numerical_modules())
def test_source_imports_only_numpy_and_stdlib(module):
    outer, inner = imported_roots((PACKAGE / f"{module}.py").read_text())
    stdlib = sys.stdlib_module_names
    extra = {r for r in outer if r not in ALLOWED_ROOTS and r not in stdlib}
    extra |= {r for r in inner if r not in ALLOWED_ROOTS | LAZY_ALLOWED and r not in stdlib}
    assert not extra, (
        f"course_lib.{module} imports {sorted(extra)}; numerical modules use numpy only "
        "(drawing code belongs in course_lib.plots)"
    )


@pytest.mark.parametrize("module", numerical_modules())
def test_importing_does_not_load_plotting_or_other_frameworks(module):
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module('course_lib.{module}')\n"
        "print(json.dumps(sorted(m for m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, timeout=60, check=True)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
    heavy = sorted(loaded & set(FORBIDDEN))
    assert not heavy, f"importing course_lib.{module} loads {heavy}"
