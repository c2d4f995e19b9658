"""Stage 1, ``source/`` to ``release/``: check the instructor's notebook, generate the
student version, scan it.

Steps, in order (each raises :class:`ReleaseError` with the reason):

1. :func:`check_source` runs the source notebook (solutions, visible and hidden tests) as
   grading does, unsandboxed: the solution cells in a fresh kernel whose ``course_lib`` lacks
   the withheld names, the tests in the trusted process; it fails if any cell raises or a
   test cell writes to stderr.
2. :func:`generate` runs nbgrader's ``GenerateAssignment`` (``release/<assignment>/`` and
   the assignment in the gradebook).
3. :func:`scan_release` fails if any solution code or hidden-test text survived in any
   released file, or an exercise cell does not raise ``NotImplementedError``; the student
   version is then removed again.

``course release`` then runs the release gate, which grades the solution as a student
(:mod:`autograder.verbs.release`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.core import notebooks as nbk
from autograder.sandbox import bwrap
from autograder.core.course import Course
from autograder.run.execute import execute_submission
from autograder.sandbox.limits import Limits
from autograder.run.preprocessors import IgnoreWarnings

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
    from autograder.run.plan import test_plan
    from autograder.sandbox.withhold import restricted_course_lib

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


STEPS = [check_source, generate, scan_release]


def release(course: Course, assignment: str, steps=STEPS) -> Path:
    """Run the release steps; the student notebook's path.

    If :func:`scan_release` fails, ``release/<assignment>/`` is removed again.
    """
    for step in steps:
        try:
            step(course, assignment)
        except ReleaseError:
            if step is scan_release:
                shutil.rmtree(course.release / assignment, ignore_errors=True)
            raise
    return course.release_notebook(assignment)
