"""The environment matrix: grading must not depend on the grader's BLAS settings.

The solution of every assignment in ``source/`` and a few honest simulated students (the
solution with one known mistake) are graded through ``grade()`` -- sandboxed kernel and
trusted process included -- in a fresh process per leg, on its own copy of the course, whose
environment differs from the machine's only in its BLAS variables (the legs run at the
same time, one grading worker each):

* ``unset``: no BLAS/OpenMP variable at all;
* ``coretype``: ``OPENBLAS_CORETYPE`` set to a core type this machine supports other than
  the one OpenBLAS picks (probed: numpy runs in a subprocess with each candidate, gives
  correct results, and OpenBLAS reports that kernel);
* ``threads``: two BLAS/OpenMP threads asked for in the parent.

Every leg must give the solutions full auto-graded marks and give every submission the
same score, question by question, as every other leg. A leg is skipped (with the reason)
only when the probe shows it cannot run here. The machine's own variables are changed only
inside a leg's process, never for the test run. ``make test-matrix`` runs this file (``make test``
depends on it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.core import notebooks as nbk
from autograder.core.course import Course, copy_config
from autograder.demo.mistakes import load_bank
from autograder.demo.simulate import SimStudent, notebook_text
from autograder.release.steps import generate
from autograder.sandbox.environment import BLAS_PROBE, numeric

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
BANK = ROOT / "autograder" / "demo" / "mistakes"  # this repository's bank, for its source/
CANDIDATES = ("Haswell", "SkylakeX", "Zen", "Sandybridge", "Nehalem", "Cooperlake",
              "ARMV8", "NeoverseN1", "CortexA57", "POWER9", "POWER8")
THREADS = {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}

# Grades every assignment of the course at argv[1]; one JSON line per submission.
GRADE_ALL = """
import json, sys
from autograder.core.course import Course
from autograder.grade.coordinator import grade
from autograder.results.load import load_results
course = Course.at(sys.argv[1])
for assignment in course.assignments():
    grade(course, assignment, jobs=1, progress=False)
    for sub in load_results(course, assignment):
        print(json.dumps({"assignment": assignment, "student": sub.student,
                          "score": sub.score, "max": sub.max_score,
                          "auto_full": all(q.passed for q in sub.questions if not q.manual),
                          "questions": {q.grade_id: q.score for q in sub.questions},
                          "reasons": sub.reasons}))
"""


def probe(env: dict) -> tuple[dict | None, str]:
    """What numpy's BLAS does in a process with ``env``: (report, why it failed)."""
    try:
        run = subprocess.run([sys.executable, "-c", BLAS_PROBE], env=env, capture_output=True,
                             text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, "numpy hangs"
    if run.returncode != 0:
        return None, f"numpy fails (exit {run.returncode}): {run.stderr.strip()[-300:]}"
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return (report, "") if report["ok"] else (None, "numpy gives wrong results")


def plan_legs() -> dict[str, tuple[dict | None, str]]:
    """Leg -> (environment of its process or None, what it is / why it is skipped)."""
    here = dict(os.environ)
    base, why = probe(here)
    if base is None:
        pytest.fail(f"numpy does not work in this environment: {why}")
    legs = {}
    unset = {k: v for k, v in here.items() if not numeric(k)}
    removed = sorted(set(here) - set(unset))
    ok, why = probe(unset)
    legs["unset"] = (unset if ok else None,
                     f"without {', '.join(removed) or 'any BLAS variable (none set here)'}"
                     if ok else f"this machine needs its BLAS variables {removed}: {why}")
    picked, chosen, tried = base["core"], None, []
    for candidate in CANDIDATES if picked else ():
        report, why = probe({**here, "OPENBLAS_CORETYPE": candidate})
        if report and report["core"] and report["core"].lower() == candidate.lower() \
                and report["core"] != picked:
            chosen = candidate
            if report["bits"] != base["bits"]:  # prefer a kernel that rounds differently
                break
        tried.append(f"{candidate}: {why or 'runs as ' + str(report and report['core'])}")
    if chosen:
        legs["coretype"] = ({**here, "OPENBLAS_CORETYPE": chosen},
                            f"OPENBLAS_CORETYPE={chosen} (OpenBLAS picks {picked} here)")
    else:
        legs["coretype"] = (None, "no OpenBLAS here" if not picked else
                            f"no core type other than {picked} runs here ({'; '.join(tried)})")
    threads = {**here, **THREADS}
    ok, why = probe(threads)
    legs["threads"] = (threads if ok else None,
                       " ".join(f"{k}={v}" for k, v in THREADS.items()) if ok else why)
    return legs


@pytest.fixture(scope="module")
def legs() -> dict[str, tuple[dict | None, str]]:
    """The legs, probed once."""
    return plan_legs()


def honest_students(assignment: str) -> list[SimStudent]:
    """The solution and, from the mistake bank, the first and the last single mistake."""
    bank = load_bank(assignment, BANK)
    chosen = {m.name: m for m in (bank[:1] + bank[-1:])}
    return [SimStudent("sol", "full")] + [
        SimStudent(f"m{i + 1}", "mistakes", [name]) for i, name in enumerate(chosen)]


@pytest.fixture(scope="module")
def matrix_course(tmp_path_factory) -> Course:
    """Every assignment of ``source/``, released, with its honest sample submitted."""
    root = tmp_path_factory.mktemp("matrix") / "course"
    root.mkdir()
    copy_config(ROOT, root)  # with a SQLite gradebook of its own
    shutil.copytree(ROOT / "source", root / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    course = Course.at(root)
    assert course.assignments(), "no assignment in source/"
    for assignment in course.assignments():
        generate(course, assignment)
        source_nb = nbk.read(course.source_notebook(assignment))
        release_nb = nbk.read(course.release_notebook(assignment))
        bank = load_bank(assignment, BANK)
        for student in honest_students(assignment):
            path = course.submitted / student.student / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_text(notebook_text(student, source_nb, release_nb, bank))
    return course


@pytest.fixture(scope="module")
def runs(legs, matrix_course, tmp_path_factory) -> dict:
    """Leg name -> (its grading process, its output file), all started at once."""
    started = {}
    for name, (env, _) in legs.items():
        if env is None:
            continue
        folder = tmp_path_factory.mktemp(f"leg-{name}")
        root = folder / "course"
        shutil.copytree(matrix_course.root, root)
        out, err = (folder / "stdout").open("w"), (folder / "stderr").open("w")
        proc = subprocess.Popen([sys.executable, "-c", GRADE_ALL, str(root)], env=env,
                                stdout=out, stderr=err, cwd=folder)
        started[name] = (proc, folder)
    yield started
    for proc, _ in started.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def results(matrix_course) -> dict:
    """Leg name -> {(assignment, student): graded row}; filled by the leg tests."""
    return {}


@pytest.mark.parametrize("name", ["unset", "coretype", "threads"])
def test_leg_gives_full_marks_to_solutions(matrix_course, results, legs, runs, name, capsys):
    env, what = legs[name]
    with capsys.disabled():
        print(f"\nenvironment matrix, leg {name}: {what}" + ("" if env else " -> SKIPPED"))
    if env is None:
        pytest.skip(f"leg {name} cannot run here: {what}")
    proc, folder = runs[name]
    code = proc.wait(timeout=1500)
    assert code == 0, (folder / "stderr").read_text()[-3000:]
    stdout = (folder / "stdout").read_text()
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    graded = {(r["assignment"], r["student"]): r for r in rows}
    expected = {(a, s.student) for a in matrix_course.assignments()
                for s in honest_students(a)}
    assert set(graded) == expected
    for (assignment, student), row in graded.items():
        if student == "sol":
            assert row["auto_full"], (name, assignment, row["score"], row["reasons"])
    results[name] = graded


def test_every_leg_gives_every_submission_the_same_score(results):
    ran = {name: {key: (row["score"], row["questions"]) for key, row in graded.items()}
           for name, graded in results.items()}
    if len(ran) < 2:
        pytest.skip(f"fewer than two legs ran ({sorted(ran)}): nothing to compare")
    first = next(iter(ran))
    for name, scores in ran.items():
        differ = {k: (ran[first][k], v) for k, v in scores.items() if ran[first][k] != v}
        assert differ == {}, f"scores differ between legs {first} and {name}: {differ}"
