"""Assignment 01 (gradient descent): structure, source solutions and the mistake bank.

The fast tests run the source notebook's code cells in this process, in order and in one
namespace, the way nbgrader's autograder does: a failing cell is recorded and the run goes on.
For every mistake in ``autograder/mistakes/01_gradient_descent.py`` they check that its text
occurs exactly once inside the solution region of its cell, and that the mistaken solution
fails its own exercise's test cell, and only that one, with a message naming the mistake.
The slow test releases the assignment with nbgrader and runs the student version in a kernel.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from autograder.mistakes import load_bank

ASSIGNMENT = "01_gradient_descent"
ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
TOTAL_POINTS = 100
MISTAKES = load_bank(ASSIGNMENT)


def _cells() -> list[dict]:
    return json.loads(SOURCE.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _solution_region(text: str) -> str:
    start, end = text.index("### BEGIN SOLUTION"), text.index("### END SOLUTION")
    return text[start:end]


def run_notebook(replace: dict[str, str] | None = None) -> dict[str, dict]:
    """Execute every code cell in order; per grade_id (or cell id): error and stderr text.

    `replace` maps a grade_id to the source to run instead of that cell's own source.
    """
    replace = replace or {}
    namespace: dict = {"__name__": "__main__"}
    results = {}
    for cell in _cells():
        if cell["cell_type"] != "code":
            continue
        key = _nbgrader(cell).get("grade_id", cell["id"])
        code = replace.get(key, _source(cell))
        out, err = io.StringIO(), io.StringIO()
        error = None
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            try:
                exec(compile(code, f"<cell {key}>", "exec"), namespace)  # noqa: S102
            except Exception as exc:  # the notebook's own failure, recorded per cell
                error = exc
        stderr = err.getvalue() + "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
        results[key] = {"error": error, "stderr": stderr}
    return results


@pytest.fixture(scope="module")
def source_run() -> dict[str, dict]:
    return run_notebook()


# ---------------------------------------------------------------- structure


def test_points_add_up_to_a_round_total():
    points = [_nbgrader(c).get("points", 0) for c in _cells() if _nbgrader(c).get("grade")]
    assert sum(points) == TOTAL_POINTS, points


def test_cells_have_unique_ids_and_complete_metadata():
    cells = _cells()
    ids = [c["id"] for c in cells]
    assert len(ids) == len(set(ids))
    grade_ids = [_nbgrader(c)["grade_id"] for c in cells if _nbgrader(c)]
    assert len(grade_ids) == len(set(grade_ids))
    for cell in cells:
        meta = _nbgrader(cell)
        if meta:
            keys = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}
            assert keys <= set(meta)
            assert meta["schema_version"] == 3


def test_every_solution_cell_is_followed_by_its_test_cell():
    cells = [c for c in _cells() if c["cell_type"] == "code" and _nbgrader(c)]
    solutions = [c for c in cells if _nbgrader(c)["solution"]]
    assert len(solutions) >= 6
    for cell in solutions:
        gid = _nbgrader(cell)["grade_id"]
        assert "### BEGIN SOLUTION" in _source(cell) and "### END SOLUTION" in _source(cell)
        after = cells[cells.index(cell) + 1]
        assert _nbgrader(after)["grade_id"] == f"test_{gid}", gid
        assert _nbgrader(after)["grade"] and _nbgrader(after)["locked"]
        assert "### BEGIN HIDDEN TESTS" in _source(after), gid


def test_there_is_a_manually_graded_written_answer():
    written = [c for c in _cells() if c["cell_type"] == "markdown" and _nbgrader(c).get("grade")]
    assert written and all(_nbgrader(c)["solution"] for c in written)


def test_committed_without_outputs():
    for cell in _cells():
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None


# ---------------------------------------------------------------- the source solutions


def test_source_solutions_pass_every_test_cell(source_run):
    failed = {k: repr(r["error"]) for k, r in source_run.items() if r["error"] is not None}
    assert not failed


def test_source_solutions_write_nothing_to_stderr(source_run):
    noisy = {k: r["stderr"] for k, r in source_run.items() if r["stderr"]}
    assert not noisy


# ---------------------------------------------------------------- the mistake bank


def test_bank_covers_every_autograded_exercise():
    cells = [c for c in _cells() if c["cell_type"] == "code" and _nbgrader(c).get("solution")]
    covered = {m.cell for m in MISTAKES}
    exercises = {_nbgrader(c)["grade_id"] for c in cells}
    assert exercises - covered <= {"predict_endpoints"}, exercises - covered
    assert len(MISTAKES) >= 12


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_applies_once_inside_the_solution(mistake):
    cell = next(c for c in _cells() if _nbgrader(c).get("grade_id") == mistake.cell)
    assert _nbgrader(cell)["solution"]
    text = _source(cell)
    assert _solution_region(text).count(mistake.find) == 1
    assert mistake.apply(text) != text


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_fails_its_own_tests_and_is_named(mistake):
    cell = next(c for c in _cells() if _nbgrader(c).get("grade_id") == mistake.cell)
    results = run_notebook({mistake.cell: mistake.apply(_source(cell))})
    assert results[mistake.cell]["error"] is None, "the mistaken solution cell itself must run"
    own = results[f"test_{mistake.cell}"]["error"]
    assert own is not None, f"{mistake.name} passes the tests of {mistake.cell}"
    assert isinstance(own, AssertionError), repr(own)
    assert mistake.named.lower() in str(own).lower(), str(own)
    # Other graded test cells still pass (ungraded "try it" cells may fail with the mistake).
    failing = {k for k, r in results.items() if r["error"] is not None and k.startswith("test_")}
    assert failing == {f"test_{mistake.cell}"}, f"{mistake.name} fails {failing}"


# Correct solutions written differently from the reference must pass too (tests not over-strict).
ALTERNATIVES = {
    "gradient_descent_1d": '''
def gradient_descent_1d(df, x0, lr, tol=1e-8, max_steps=1000):
    if lr <= 0 or max_steps < 0:
        raise ValueError(f"Invalid learning rate or max_steps: {lr}, {max_steps}")
    xs = [float(x0)]
    while len(xs) <= max_steps and abs(df(xs[-1])) >= tol:
        xs.append(xs[-1] - lr * df(xs[-1]))
    return np.asarray(xs)
''',
    "numerical_gradient": '''
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad
''',
    "gradient_descent": '''
def gradient_descent(grad, x0, lr, steps):
    xs = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        xs.append(xs[-1] - lr * grad(xs[-1]))
    return np.stack(xs)
''',
    "max_stable_lr": '''
def max_stable_lr(A):
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or not np.allclose(A, A.T):
        raise ValueError("A must be symmetric")
    np.linalg.cholesky(A)  # LinAlgError (a ValueError) unless positive definite
    return 2 / max(np.linalg.eigvalsh(A))
''',
    "convergence_rate": '''
def convergence_rate(A, lr):
    lam = np.linalg.eigvalsh(A)
    return max(abs(1 - lr * lam[0]), abs(1 - lr * lam[-1]))
''',
    "classify_stationary_point": '''
def classify_stationary_point(hess, tol=1e-8):
    H = np.asarray(hess, dtype=float)
    if H.shape[0] != H.shape[-1] or H.ndim != 2 or not np.allclose(H, H.T):
        raise ValueError("hess must be symmetric")
    lam = np.linalg.eigvalsh(H)
    if lam.min() < -tol and lam.max() > tol:
        return "saddle"
    if np.abs(lam).min() <= tol:
        return "degenerate"
    return "minimum" if lam.min() > 0 else "maximum"
''',
    "newton_step": '''
def newton_step(grad, hess, x, lr=1.0):
    H = hess(x)
    c = np.linalg.cholesky(H) if np.all(np.linalg.eigvalsh(H) > 0) else None
    if c is None:
        return x - lr * np.linalg.lstsq(H, grad(x), rcond=None)[0]
    return x - lr * np.linalg.solve(c.T, np.linalg.solve(c, grad(x)))
''',
}


@pytest.mark.parametrize("cell", sorted(ALTERNATIVES))
def test_alternative_correct_solutions_pass(cell):
    results = run_notebook({cell: ALTERNATIVES[cell]})
    assert results[f"test_{cell}"]["error"] is None, repr(results[f"test_{cell}"]["error"])
    assert not results[f"test_{cell}"]["stderr"]


# ---------------------------------------------------------------- the released version


@pytest.mark.slow
def test_release_fails_only_with_not_implemented_error(tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, tmp_path / "source" / ASSIGNMENT)
    bin_dir = Path(sys.executable).parent  # nbgrader calls `alembic` from the same environment
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("COURSE_STATIC_WIDGETS", "1")
    done = subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    released = tmp_path / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(released, as_version=4)
    text = json.dumps(nb)
    for secret in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "Model answer", 'return "minimum"'):
        assert secret not in text, secret
    nbclient.NotebookClient(nb, timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o["ename"] for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    stderr = [o["text"] for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "stream"
              and o.get("name") == "stderr"]
    graded = [c for c in nb.cells if c.cell_type == "code"
              and c.metadata.get("nbgrader", {}).get("grade")]
    assert errors, "the released notebook should fail where the student has work to do"
    assert set(errors) == {"NotImplementedError"}, errors
    assert all(any(o.get("output_type") == "error" for o in c.outputs) for c in graded)
    assert not stderr, stderr
