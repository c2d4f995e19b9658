"""autograder.sandbox.withhold: the names an assignment declares, and course_lib without them."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from fixture_course import ASSIGNMENT, FIXTURES

import course_lib
from autograder.sandbox.withhold import declared, restricted_copy

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = Path(course_lib.__file__).resolve().parent
SOURCES = {p.parent.name: p for p in sorted((ROOT / "source").glob("[0-9][0-9]_*/*.ipynb"))}
SOURCES[ASSIGNMENT] = FIXTURES / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
# Calls that must keep working in a copy, with the names each one relies on.
PROBES = [
    ({"optim.apply_updates"}, "optim.apply_updates(np.ones(2), -np.ones(2)).tolist() == [0, 0]"),
    ({"optim.rmsprop", "optim.scale_by_rms", "optim.scale_by_learning_rate", "optim.chain"},
     "optim.rmsprop(0.1).update(np.ones(1), optim.rmsprop(0.1).init(np.zeros(1)))[0].size == 1"),
    ({"train.minimize", "functions.parabola_1d", "optim.scale"},
     "train.minimize(functions.parabola_1d(), 1.0, optim.scale(-0.25), 2).points.tolist()"
     " == [1.0, 0.75, 0.5625]"),
    ({"losses.mae"}, "losses.mae(np.ones(2), np.zeros(2))[0] == 1.0"),
    ({"data.two_moons"}, "data.two_moons(np.random.default_rng(0), n=10)[0].shape == (10, 2)"),
    ({"nn.MLP", "nn.init_linear", "init.uniform_fan_in"},
     "nn.MLP([2, 3, 2]).init(np.random.default_rng(0))['W1'].shape == (3, 2)"),
    ({"nn.MLP", "nn.linear_forward", "losses.softmax_cross_entropy", "init.uniform_fan_in"},
     "nn.MLP([2, 2]).loss({'W1': np.eye(2), 'b1': np.zeros(2)}, np.zeros((1, 2)), [0])"
     " == np.log(2)"),
    ({"gradcheck.GradientCheckError"}, "issubclass(gradcheck.GradientCheckError, AssertionError)"),
    ({"schedules.constant"}, "schedules.constant(0.1)(5) == 0.1"),
    ({"checks.check_scalar"}, "checks.check_scalar(1.0, 1.0, 'x') is None"),
]


def notebook(first_code: str) -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell(first_code),
                nbformat.v4.new_code_cell('exercise.withhold("optim.sgd")')]
    return nb


def test_declared_reads_a_source_notebook_as_a_path_or_a_notebook():
    path = SOURCES["05_adam"]
    assert declared(path) == ("optim.adam", "optim.scale_by_adam", "optim.adamw")
    assert declared(str(path)) == declared(nbformat.read(path, as_version=4))


@pytest.mark.parametrize(("first_code", "expected"), [
    ('from course_lib import exercise\nexercise.withhold("optim.adam", "train.fit")',
     ("optim.adam", "train.fit")),
    ('from course_lib.exercise import withhold\nwithhold("optim.gd")\nwithhold("optim.gd", '
     '"optim.ema")', ("optim.gd", "optim.ema")),
    ("import numpy as np", ()),  # no declaration: the one in a later cell does not count
    ("", ()),
])
def test_declared_takes_the_literals_of_the_first_code_cell(first_code, expected):
    assert declared(notebook(first_code)) == expected


def test_declared_without_code_cells_is_empty():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("exercise.withhold('optim.adam')")]
    assert declared(nb) == ()


@pytest.mark.parametrize("first_code", [
    'NAMES = ("optim.adam",)\nexercise.withhold(*NAMES)',
    'name = "optim.adam"\nexercise.withhold(name)',
    'exercise.withhold("optim." + "adam")',
    'exercise.withhold(names="optim.adam")',
    'exercise.withhold(f"optim.{x}")',
    'exercise.withhold("optim.adam", 3)',
    'exercise.withhold("optim.adam"',  # does not parse
])
def test_declared_refuses_what_it_cannot_read_without_running_it(first_code):
    with pytest.raises(ValueError):
        declared(notebook(first_code))


def test_declared_never_runs_the_cell(tmp_path):
    marker = tmp_path / "ran"
    declared(notebook(f"open({str(marker)!r}, 'w').close()\nexercise.withhold('optim.adam')"))
    assert not marker.exists()


@pytest.mark.parametrize("names", [["optim.nope"], ["nope.adam"], ["optim"],
                                   ["optim.Transform.x.y"], ["nn.MLP.nope"], ["nn.Nope.loss"]])
def test_restricted_copy_refuses_unknown_names(names, tmp_path):
    with pytest.raises(ValueError):
        restricted_copy(names, tmp_path)


def test_restricted_copy_is_deterministic_and_leaves_other_files_byte_for_byte(tmp_path):
    names = ["optim.adam", "nn.MLP.loss_and_grad", "autodiff.Value"]
    first = restricted_copy(names, tmp_path / "a")
    second = restricted_copy(list(reversed(names)), tmp_path / "b")
    restricted_copy(["optim.sgd"], tmp_path / "b")  # an existing copy is replaced
    third = restricted_copy(names, tmp_path / "b")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(PACKAGE) for p in PACKAGE.glob("*.py"))
    assert not list(first.rglob("__pycache__"))
    for rel in files:
        assert (first / rel).read_bytes() == (third / rel).read_bytes() == \
            (second / rel).read_bytes(), rel
        if rel.stem not in ("optim", "nn", "autodiff"):
            assert (first / rel).read_bytes() == (PACKAGE / rel).read_bytes(), rel
    with pytest.raises(ValueError):
        restricted_copy(names, PACKAGE.parent)  # never over the package itself


def _kept_definitions(module: str, names) -> list[str]:
    """Source of every top-level definition (and method) of `module` that is not withheld."""
    text = (PACKAGE / f"{module}.py").read_text()
    tree, kept = ast.parse(text), []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        inner = [f"{module}.{node.name}.{n.name}" for n in node.body
                 if isinstance(n, ast.FunctionDef)] if isinstance(node, ast.ClassDef) else []
        if f"{module}.{node.name}" in names:
            continue
        if any(n in names for n in inner):
            kept += [ast.get_source_segment(text, n) for n in node.body
                     if isinstance(n, ast.FunctionDef) and f"{module}.{node.name}.{n.name}"
                     not in names]
        else:
            kept.append(ast.get_source_segment(text, node))
    return kept


def _distinctive_lines(name: str) -> list[str]:
    """Lines of the withheld definition's body (docstring included) found once in its file."""
    module, *path = name.split(".")
    obj = importlib.import_module(f"course_lib.{module}")
    for attr in path:
        obj = getattr(obj, attr)
    file_text = (PACKAGE / f"{module}.py").read_text()
    body = inspect.getsource(obj).splitlines()[1:]
    return [ln.strip() for ln in body if len(ln.strip()) >= 12
            and file_text.count(ln.strip()) == 1]


SCRIPT = """
import importlib, json, sys
import numpy as np
import course_lib
from course_lib import exercise
assert course_lib.__file__.startswith(sys.argv[1]), course_lib.__file__
names, probes = json.loads(sys.argv[2]), json.loads(sys.argv[3])
modules = {m: importlib.import_module("course_lib." + m) for m in json.loads(sys.argv[4])}
results = {"raised": {}, "probes": {}}
for name in names:
    module, *path = name.split(".")
    obj = modules[module]
    for attr in path:
        obj = getattr(obj, attr)
    try:
        obj()
        results["raised"][name] = "nothing"
    except exercise.NotAvailable as err:
        results["raised"][name] = str(err)
    except Exception as err:
        results["raised"][name] = repr(err)
for code in probes:
    try:
        results["probes"][code] = bool(eval(code, dict(modules, np=np)))
    except Exception as err:
        results["probes"][code] = repr(err)
print(json.dumps(results))
"""


@pytest.mark.parametrize("assignment", sorted(SOURCES))
def test_restricted_copy_of_each_assignment(assignment, tmp_path):
    names = declared(SOURCES[assignment])
    assert names, f"{assignment} declares nothing"
    target = restricted_copy(names, tmp_path)
    assert target == tmp_path / "course_lib"
    probes = [code for needs, code in PROBES if not needs & set(names)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_LIB_COMPLETE")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), json.dumps(names), json.dumps(probes),
         json.dumps(MODULES)], cwd=tmp_path, env=env | {"PYTHONPATH": str(tmp_path),
                                                         "MPLBACKEND": "Agg"},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert results["raised"] == {
        n: f"course_lib.{n} is not available in this exercise: write it yourself" for n in names}
    assert len(probes) >= 5 and all(v is True for v in results["probes"].values()), \
        results["probes"]
    for name in names:
        module = name.split(".")[0]
        copied = (target / f"{module}.py").read_text()
        lines = _distinctive_lines(name)
        assert lines, f"{name}: no line of its body to look for"
        assert [ln for ln in lines if ln in copied] == [], f"{name} is still in the copy"
    for module in {n.split(".")[0] for n in names}:
        copied = (target / f"{module}.py").read_text()
        assert [d for d in _kept_definitions(module, names) if d not in copied] == []
