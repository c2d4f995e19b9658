"""``course release``: the release stage's steps, then the release gate.

The gate (:func:`check_pipeline`) submits the source solution as a student of a scratch
copy of the course and grades it with ``course grade`` (sandboxed when it can be): every
auto-graded test must earn full marks. Only this catches what fails in the pipeline alone
(the sandbox, nbgrader's own steps). It composes three stages (release, grade, results),
so it lives with the verb. When it fails, the student version is removed again: nothing
half-checked is left in ``release/`` to hand out.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HELP = "check, generate and scan student versions; grade the solution as a student"


def add_arguments(p) -> None:
    p.add_argument("assignments", nargs="*")
    p.add_argument("--all", action="store_true", help="every assignment in source/")
    p.add_argument("--keep-check", type=Path, default=None, metavar="DIR",
                   help="keep the course copy in which the solution was graded as a student "
                   "(DIR/<assignment>: autograded notebook and grading.json)")


def run(course, args) -> int:
    from autograder.grade.database import check
    from autograder.release.steps import ReleaseError

    names = course.assignments() if args.all else args.assignments
    if not names:
        print("nothing to release: give assignment names or --all (source/ has none)")
        return 1
    check(course.db_url)  # the release is recorded in the gradebook: is it there?
    failed = 0
    for name in names:
        try:
            keep = args.keep_check / name if args.keep_check else None
            print(f"released {name}: {release_checked(course, name, keep_check=keep)}")
        except ReleaseError as err:
            print(f"NOT released: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def release_checked(course, assignment: str, keep_check: Path | None = None) -> Path:
    """Release ``assignment`` (:func:`autograder.release.steps.release`), then the gate;
    the student notebook's path. ``keep_check``: where the gate leaves its scratch course."""
    from autograder.release.steps import ReleaseError, release

    path = release(course, assignment)
    try:
        check_pipeline(course, assignment, keep=keep_check)
    except ReleaseError:
        shutil.rmtree(course.release / assignment, ignore_errors=True)
        raise
    return path


CHECK_STUDENT = "release-check"  # the source solution's student id in the scratch course


def scratch_course(course, assignment: str, dest: Path):
    """A course at ``dest`` with this one's configuration and ``source/<assignment>``,
    released there (its own SQLite gradebook, :func:`~autograder.core.course.copy_config`:
    the real one, whatever database it is, is neither read nor written)."""
    from autograder.core.course import Course, copy_config
    from autograder.release.steps import generate

    dest.mkdir(parents=True)
    copy_config(course.root, dest)
    shutil.copytree(course.source / assignment, dest / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    scratch = Course.at(dest)
    generate(scratch, assignment)
    return scratch


def pipeline_problems(scratch, assignment: str) -> list[str]:
    """Why the graded solution of ``scratch`` lacks auto-graded marks ([]: full marks)."""
    from autograder.results.load import load_results

    subs = load_results(scratch, assignment)
    if not subs:
        return ["the solution was not graded"]
    sub = subs[0]
    problems = []
    for q in sub.questions:
        if q.manual or q.passed:
            continue
        why = "; ".join(q.messages) or "no points"
        problems.append(f"{q.grade_id} ({q.score:g} / {q.max_score:g}): {why}")
    return problems + [f"grader note: {r}" for r in sub.reasons if problems]


def check_pipeline(course, assignment: str, keep: Path | None = None) -> None:
    """The gate: the solution, submitted as a student, earns full auto-graded marks through
    ``course grade`` (sandboxed when bubblewrap can be used here).

    ``keep``: copy the scratch course there (its ``autograded/`` notebook and
    ``grading.json`` show what happened), whatever the outcome.
    """
    import nbformat

    from autograder.core import notebooks as nbk
    from autograder.demo.simulate import solved
    from autograder.grade.coordinator import grade
    from autograder.release.steps import ReleaseError
    from autograder.sandbox import bwrap

    tmp = Path(tempfile.mkdtemp(prefix="course-release-check-"))
    try:
        scratch = scratch_course(course, assignment, tmp / "course")
        nb = solved(nbk.read(scratch.source_notebook(assignment)),
                    nbk.read(scratch.release_notebook(assignment)))
        path = scratch.submitted / CHECK_STUDENT / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
        sandboxed = bwrap.available(str(scratch.root))
        grade(scratch, assignment, [CHECK_STUDENT], jobs=1, progress=False,
              sandboxed=sandboxed)
        problems = pipeline_problems(scratch, assignment)
        if keep is not None:
            shutil.copytree(scratch.root, keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        where = "" if sandboxed else " (not sandboxed: bubblewrap is not usable here)"
        raise ReleaseError(
            f"{assignment}: the solution, submitted as a student, does not earn full marks "
            f"through `course grade`{where}:\n  " + "\n  ".join(problems)
            + "\n  (`course release --keep-check DIR` keeps the graded copy for a look)")
