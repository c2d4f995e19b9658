"""``course grade`` gives the scores of plain ``nbgrader autograde`` on the same class,
except for the documented, deliberate differences (docs/autograder.md)."""

from __future__ import annotations

import nbformat
import pytest
from fixture_course import ASSIGNMENT, TEST_LIMITS, copy_fixture, special_submissions

from autograder.core import notebooks as nbk
from autograder.demo.compare import copy_course, nbgrader_autograde, scores
from autograder.demo.simulate import simulate, solved
from autograder.grade.coordinator import grade
from autograder.release.steps import release

pytestmark = pytest.mark.slow

SAME = ["x-deleted-test", "x-wrong-kernel", "x-sys-exit", "x-huge-output", "x-malformed-json"]
# student -> (course grade, nbgrader autograde): what each does, and why they differ.
DIFFERENT = {
    "x-warning": (10.0, 7.0),  # nbgrader: stderr from a RuntimeWarning zeroes the test
    # nbgrader: CheckCellMetadata fails the notebook, and stops grading the whole class
    "x-duplicated-test": (10.0, 0.0),
    "x-os-exit": (3.0, 0.0),  # nbgrader: a dead kernel fails the whole notebook
    "x-renamed": (10.0, 0.0),  # nbgrader: the expected notebook is missing
}


def test_scores_equal_plain_nbgrader(tmp_path, bank, source_nb):
    course = copy_fixture(tmp_path / "src")
    release(course, ASSIGNMENT)  # the gate is not run: the solution is graded below anyway
    students = simulate(course, ASSIGNMENT, n=10, seed=2, bank=bank)
    release_nb = nbk.read(course.release_notebook(ASSIGNMENT))
    wrong = [m for m in bank if m.name != "in-place-update"]
    texts = special_submissions(source_nb, release_nb)
    texts["x-all-wrong"] = nbformat.writes(solved(source_nb, release_nb, wrong))
    for student in [*SAME, *DIFFERENT, "x-all-wrong"]:
        name = "my_homework" if student == "x-renamed" else ASSIGNMENT
        path = course.submitted / student / ASSIGNMENT / f"{name}.ipynb"
        path.parent.mkdir(parents=True)
        text = texts.get(student) or nbformat.writes(solved(source_nb, release_nb))
        path.write_text(text)
    ours, theirs = copy_course(course, tmp_path / "ours"), copy_course(course, tmp_path / "nb")

    grade(ours, ASSIGNMENT, jobs=2, limits=TEST_LIMITS, progress=False)
    nbgrader_autograde(theirs, ASSIGNMENT,
                       "--CourseDirectory.student_id_exclude=x-duplicated-test")
    nbgrader_autograde(theirs, ASSIGNMENT, "--student=x-duplicated-test")
    a, b = scores(ours, ASSIGNMENT), scores(theirs, ASSIGNMENT)

    kinds = {s.kind for s in students}
    assert {"full", "mistakes", "blank", "syntax-error", "invalid-json"} <= kinds
    same = [s.student for s in students] + SAME + ["x-all-wrong"]
    assert {s: a[s] for s in same} == {s: b.get(s, 0.0) for s in same}
    assert a["x-all-wrong"] == 0.0 and len(set(a.values())) >= 3
    assert {s: (a[s], b.get(s, 0.0)) for s in DIFFERENT} == DIFFERENT
