"""``course release``: check the instructor's notebook, generate the student version, scan it.

Steps, in order (each raises :class:`ReleaseError` with the reason):

1. :func:`check_source` runs the source notebook (solutions, visible and hidden tests) as
   grading does, unsandboxed: the solution cells in a fresh kernel whose ``course_lib`` lacks
   the withheld names, the tests in the trusted process; it fails if any cell raises or a
   test cell writes to stderr.
2. :func:`generate` runs nbgrader's ``GenerateAssignment`` (``release/<assignment>/`` and
   the assignment in the gradebook).
3. :func:`scan_release` fails if any solution code or hidden-test text survived in any
   released file, or an exercise cell does not raise ``NotImplementedError``.
4. :func:`check_pipeline` submits the source solution as a student of a scratch copy of
   the course and grades it with ``course grade`` (sandboxed when it can be): every
   auto-graded test must earn full marks. Only this step catches what fails in the
   pipeline alone (the sandbox, nbgrader's own steps).

When step 3 or 4 fails, the student version is removed again: nothing half-checked is
left in ``release/`` to hand out.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder import notebooks as nbk
from autograder import sandbox
from autograder.course import Course
from autograder.execute import Limits, execute_submission
from autograder.grade import IgnoreWarnings

# nbgrader's markers, and near misses that nbgrader would not recognise (so not remove).
MARKER = re.compile(r"#+ *(BEGIN|END) +(SOLUTION|HIDDEN)[A-Z ]*", re.IGNORECASE)


class ReleaseError(RuntimeError):
    """The assignment cannot be released; the message says why."""


def failures(nb) -> list[str]:
    """'cell: ename: evalue' for each code cell with an error (or stderr in a test cell)."""
    out = []
    for i, cell in enumerate(nb.cells):
        label = nbk.grade_id(cell) or f"cell {i}"
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"{label}: {o.get('ename')}: {o.get('evalue')}")
            elif o.get("name") == "stderr" and nbk.is_test(cell):
                out.append(f"{label}: writes to stderr: {o.get('text', '')[:200]}")
    return out


def check_source(course: Course, assignment: str) -> None:
    """Step 1: the instructor's version passes all of its own tests."""
    path = course.source_notebook(assignment)
    if not path.is_file():
        raise ReleaseError(f"{assignment}: no source notebook {path}")
    from autograder.grade import restricted_course_lib, test_plan

    nb = nbk.read(path)
    with tempfile.TemporaryDirectory(prefix="course-lib-") as scratch:
        try:
            lib = restricted_course_lib(course, assignment, Path(scratch))
        except ValueError as err:  # a withheld name course_lib does not have
            raise ReleaseError(f"{assignment}: its first cell's withhold(...): {err}") from None
        result = execute_submission(
            nb, Limits(cell_timeout=course.cell_timeout()), str(path.parent),
            plan=test_plan(str(path)), course_lib=lib)
    nb, _ = IgnoreWarnings()(result.nb, {})
    problems = failures(nb) + result.reasons
    if problems:
        raise ReleaseError(f"{assignment}: the source notebook fails its own tests:\n  "
                           + "\n  ".join(problems))


def generate(course: Course, assignment: str) -> None:
    """Step 2: nbgrader's GenerateAssignment (student version + gradebook entry)."""
    result = course.api().generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise ReleaseError(f"{assignment}: nbgrader generate_assignment failed:\n"
                           f"{result.get('error') or result.get('log')}")


def leaks(source_nb, text: str) -> list[str]:
    """Markers, and solution or hidden-test lines of ``source_nb``, found in ``text``.

    Lines are compared whole (stripped). Lines that also occur outside those regions of
    the source (a visible test that repeats a hidden one, a bare ``return``) are not secrets.
    """
    public = {ln.strip() for cell in source_nb.cells for ln in nbk.outside(cell.source)}
    secrets = set(nbk.solution_lines(source_nb)) | set(nbk.hidden_test_lines(source_nb))
    lines = {ln.strip() for ln in text.splitlines()}
    markers = [m.group(0) for m in MARKER.finditer(text)]  # also misspelt ones
    return markers + sorted((secrets - public) & lines)


def file_text(path: Path) -> str:
    """A file's text; for a notebook, the sources and outputs of its cells."""
    text = path.read_text(errors="replace")
    if path.suffix == ".ipynb":
        try:
            nb = nbk.read(path)
        except Exception:  # noqa: BLE001  (not a notebook after all: scan the raw text)
            return text
        parts = [c.source for c in nb.cells]
        parts += [o.get("text", "") for c in nb.cells for o in c.get("outputs", [])]
        return "\n".join(parts)
    return text


def scan_release(course: Course, assignment: str) -> None:
    """Step 3: nothing secret in ``release/<assignment>/``; every exercise raises."""
    source_nb = nbk.read(course.source_notebook(assignment))
    folder = course.release / assignment
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        problems += [f"{path.name}: contains {line!r}"
                     for line in leaks(source_nb, file_text(path))]
    released = nbk.read(course.release_notebook(assignment))
    for cell in released.cells:
        if cell.cell_type == "code" and nbk.is_solution(cell):
            if "raise NotImplementedError" not in cell.source:
                problems.append(f"exercise {nbk.grade_id(cell)} does not raise NotImplementedError")
    if problems:
        raise ReleaseError(f"{assignment}: the student version leaks or is incomplete:\n  "
                           + "\n  ".join(problems))


CHECK_STUDENT = "release-check"  # the source solution's student id in the scratch course


def scratch_course(course: Course, assignment: str, dest: Path) -> Course:
    """A course at ``dest`` with this one's configuration and ``source/<assignment>``,
    released there (its own gradebook: the real one is neither read nor written)."""
    dest.mkdir(parents=True)
    shutil.copy(course.root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(course.source / assignment, dest / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    scratch = Course.at(dest)
    generate(scratch, assignment)
    return scratch


def pipeline_problems(scratch: Course, assignment: str) -> list[str]:
    """Why the graded solution of ``scratch`` lacks auto-graded marks ([]: full marks)."""
    from autograder.results import load_results

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


def check_pipeline(course: Course, assignment: str, keep: Path | None = None) -> None:
    """Step 4: the solution, submitted as a student, earns full auto-graded marks through
    ``course grade`` (sandboxed when bubblewrap can be used here).

    ``keep``: copy the scratch course there (its ``autograded/`` notebook and
    ``grading.json`` show what happened), whatever the outcome.
    """
    from autograder.grade import grade
    from autograder.simulate import solved

    tmp = Path(tempfile.mkdtemp(prefix="course-release-check-"))
    try:
        scratch = scratch_course(course, assignment, tmp / "course")
        nb = solved(nbk.read(scratch.source_notebook(assignment)),
                    nbk.read(scratch.release_notebook(assignment)))
        path = scratch.submitted / CHECK_STUDENT / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
        sandboxed = sandbox.available(str(scratch.root))
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


SOURCE_STEPS = [check_source, generate, scan_release]  # no grading run (fast)
STEPS = [*SOURCE_STEPS, check_pipeline]


def release(course: Course, assignment: str, steps=STEPS, keep_check: Path | None = None) -> Path:
    """Run the release steps; the student notebook's path.

    If a step after :func:`generate` fails, ``release/<assignment>/`` is removed again.
    ``keep_check``: where :func:`check_pipeline` leaves its graded scratch course.
    """
    for step in steps:
        try:
            if step is check_pipeline:
                step(course, assignment, keep=keep_check)
            else:
                step(course, assignment)
        except ReleaseError:
            if step in (scan_release, check_pipeline):
                shutil.rmtree(course.release / assignment, ignore_errors=True)
            raise
    return course.release_notebook(assignment)
