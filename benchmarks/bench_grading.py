"""Throughput of `course grade` against plain `nbgrader autograde` on the same class.

    python benchmarks/bench_grading.py [--students 100] [--jobs N] [--assignment NAME]

Builds a seeded simulated class (autograder.demo.simulate) in a temporary copy of the course,
grades one copy with `course grade` (student code in the sandboxed kernel, tests in the
trusted process) and another with `nbgrader autograde` (everything in one kernel), checks
that every student's score is identical, and prints submissions per minute for both and the
ratio. For a
like-for-like comparison, `course grade` runs here with nbgrader's stderr rule
(IgnoreWarnings disabled). Without --assignment it uses the first assignment in source/,
or the test fixture when there is none.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.core.course import Course, copy_config
from autograder.demo.compare import copy_course, nbgrader_autograde, scores
from autograder.demo.mistakes import load_bank
from autograder.demo.simulate import simulate
from autograder.grade.coordinator import default_jobs
from autograder.release.steps import release

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "autograder" / "fixtures"


def build(work: Path, assignment: str | None, n: int,
          nbgrader_stderr_rule: bool = True) -> tuple[Course, str]:
    """A released course with ``n`` simulated submissions; (course, assignment).
    ``nbgrader_stderr_rule``: warnings on stderr fail a test cell, as in plain nbgrader
    (so that both graders can be compared)."""
    repo = Course.at(REPO)
    if assignment is None and repo.assignments():
        assignment = repo.assignments()[0]
    if assignment is None or not (repo.source / assignment).is_dir():
        shutil.copytree(FIXTURE / "course", work / "course")
        assignment, bank_dir = assignment or "ps1", FIXTURE / "mistakes"
    else:
        (work / "course" / "source").mkdir(parents=True)
        copy_config(REPO, work / "course")  # with a SQLite gradebook of its own
        shutil.copytree(repo.source / assignment, work / "course" / "source" / assignment)
        bank_dir = None
    if nbgrader_stderr_rule:
        with (work / "course" / "nbgrader_config.py").open("a") as handle:
            handle.write("\nc.IgnoreWarnings.enabled = False  # nbgrader's stderr rule\n")
    course = Course.at(work / "course")
    release(course, assignment)  # no gate: the class's own solutions are graded
    simulate(course, assignment, n=n, seed=0, bank=load_bank(assignment, bank_dir))
    return course, assignment


def course_grade(course: Course, assignment: str, jobs: int) -> float:
    exe = Path(sys.executable).parent / "course"
    start = time.monotonic()
    subprocess.run([str(exe), "--root", str(course.root), "grade", assignment, "--jobs",
                    str(jobs), "--no-progress"], check=True, capture_output=True)
    return time.monotonic() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--jobs", type=int, default=default_jobs())
    p.add_argument("--assignment", default=None)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        course, assignment = build(work, args.assignment, args.students)
        ours, theirs = copy_course(course, work / "ours"), copy_course(course, work / "nb")
        t_ours = course_grade(ours, assignment, args.jobs)
        t_theirs = nbgrader_autograde(theirs, assignment)
        a, b = scores(ours, assignment), scores(theirs, assignment)
    differ = {s: (a.get(s), b.get(s)) for s in sorted(set(a) | set(b)) if a.get(s) != b.get(s)}
    rate_ours, rate_theirs = 60 * args.students / t_ours, 60 * args.students / t_theirs
    print(f"assignment {assignment}, {args.students} submissions, {args.jobs} jobs")
    print(f"course grade:        {t_ours:7.1f} s  {rate_ours:7.1f} submissions/min")
    print(f"nbgrader autograde:  {t_theirs:7.1f} s  {rate_theirs:7.1f} submissions/min")
    print(f"speed-up: {rate_ours / rate_theirs:.2f}x")
    print("scores identical" if not differ else f"scores DIFFER (ours, nbgrader): {differ}")
    return 0 if not differ else 1


if __name__ == "__main__":
    raise SystemExit(main())
