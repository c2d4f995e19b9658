"""One grading environment: the student's kernel and the trusted process that runs the tests
run course code with the same variables, the same BLAS and the same folder layout, whatever
BLAS variables the grader's own environment holds. (What the environment is:
``sandbox/test_environment.py``.)"""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from autograder.run import execute, trusted
from autograder.run import plan as planning
from autograder.sandbox import bwrap
from autograder.sandbox.environment import BLAS_PROBE, BLAS_REPORT, OWN, grading_env

# What a cell prints about its process: the environment it was started with, the files
# around it, and its BLAS, as one JSON line.
REPORT = (
    "import json as _j, os as _o\n"
    "_env = dict(v.split('=', 1) for v in open('/proc/self/environ').read().split('\\0') "
    "if '=' in v)\n"
    "_files = sorted(_o.path.relpath(_o.path.join(r, f)) for r, _, fs in _o.walk('.') "
    "for f in fs)\n"
    + BLAS_REPORT +
    "\nprint(_j.dumps({'env': _env, 'files': _files, 'blas': _blas_report()}))\n"
)
# Set for the trusted process only: it runs the instructor's cells with the whole
# course_lib (the kernel's lacks the assignment's withheld names).
TRUSTED_ONLY = {"COURSE_LIB_COMPLETE": "1"}


def _both_sides(tmp_path, sandboxed: bool) -> tuple[dict, dict]:
    """What a grading kernel and the trusted process report of themselves in one graded
    notebook: a cell of the student's (the kernel) and a test cell (the trusted process)."""
    student = nbformat.v4.new_code_cell(REPORT)
    test = nbformat.v4.new_code_cell("pass  # the source's test runs instead")
    test.metadata["nbgrader"] = {"grade_id": "test_same", "grade": True, "locked": True,
                                 "solution": False, "points": 1, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[student, test])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    limits = execute.Limits(cell_timeout=117, wall_clock=200, sandbox=sandboxed)
    plan = planning.TestPlan({"test_same": (REPORT, True)}, names=[], preload=("numpy",))
    try:
        res = execute.execute_submission(nb, limits, str(tmp_path / "data"), plan=plan)
    finally:
        execute.kernel_pool(limits).close()
        execute._POOL = None
        trusted.close_server()
    reports = []
    for cell in nb.cells:
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
        assert text, (cell.outputs, res.reasons)
        reports.append(json.loads(text.strip().splitlines()[-1]))
    return reports[0], reports[1]


def _alternative_coretype() -> str | None:
    """A core type OpenBLAS accepts here other than the one it picks (None: none works)."""
    base = subprocess.run([sys.executable, "-c", BLAS_PROBE], capture_output=True, text=True)
    picked = json.loads(base.stdout)["core"] if base.returncode == 0 else None
    if picked is None:
        return None
    for candidate in ("Haswell", "SkylakeX", "Sandybridge", "Zen", "Nehalem", "ARMV8",
                      "NeoverseN1", "POWER9"):
        env = {**grading_env(False), "OPENBLAS_CORETYPE": candidate}
        run = subprocess.run([sys.executable, "-c", BLAS_PROBE], capture_output=True,
                             text=True, env=env)
        if run.returncode == 0:
            got = json.loads(run.stdout)
            if got["ok"] and got["core"] and got["core"].lower() == candidate.lower() \
                    and got["core"] != picked:
                return candidate
    return None


@pytest.mark.slow
@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "plain"])
def test_kernel_and_trusted_process_run_in_one_environment(tmp_path, monkeypatch, sandboxed):
    if sandboxed and not bwrap.available():
        pytest.skip("bubblewrap cannot be used here")
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "points.csv").write_text("1,2\n")
    (tmp_path / "data" / "sub" / "w.txt").write_text("3\n")
    (tmp_path / "data" / "mine.ipynb").write_text("{}")  # notebooks are not copied
    # The grader's own environment: BLAS variables that must reach both processes alike
    # (a core type OpenBLAS supports here, if any) or be overridden in both (threads).
    coretype = _alternative_coretype()
    if coretype:
        monkeypatch.setenv("OPENBLAS_CORETYPE", coretype)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "2")
    monkeypatch.setenv("OMP_PROC_BIND", "false")
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    kernel, tests = _both_sides(tmp_path, sandboxed)
    want = grading_env(sandboxed)
    for report, extra in ((kernel, {}), (tests, TRUSTED_ONLY)):
        env = report["env"]
        assert {k: env[k] for k in set(env) - set(want) - OWN} == extra
        assert env["OMP_NUM_THREADS"] == "1" and env["OMP_PROC_BIND"] == "false"
        assert "PYTHONWARNINGS" not in env
        assert env.get("OPENBLAS_CORETYPE") == coretype
        assert report["files"] == ["points.csv", "sub/w.txt"]
        assert report["blas"]["ok"]
        if coretype:
            assert report["blas"]["core"].lower() == coretype.lower()
    # variable by variable, bit for bit: the same environment and the same arithmetic
    same_env = {k: v for k, v in kernel["env"].items() if k not in OWN}
    assert {k: v for k, v in tests["env"].items() if k not in OWN | set(TRUSTED_ONLY)} == \
        same_env
    assert tests["blas"] == kernel["blas"] and tests["files"] == kernel["files"]
