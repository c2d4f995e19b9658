"""Fixtures for the autograder tests: a copy of the fixture course and a graded class."""

from __future__ import annotations

import nbformat
import pytest
from fixture_course import (
    ASSIGNMENT,
    BAD_TIMESTAMP,
    BANK_DIR,
    FIXTURES,
    TEST_LIMITS,
    copy_fixture,
    special_submissions,
)

from autograder import notebooks as nbk
from autograder.course import Course
from autograder.mistakes import load_bank
from autograder.simulate import solved


@pytest.fixture
def course(tmp_path) -> Course:
    """A fresh copy of the fixture course (not released)."""
    return copy_fixture(tmp_path / "course")


@pytest.fixture(scope="session")
def bank():
    return load_bank(ASSIGNMENT, BANK_DIR)


@pytest.fixture(scope="session")
def source_nb():
    return nbk.read(FIXTURES / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="session")
def graded(tmp_path_factory, bank, source_nb):
    """The fixture course released, a simulated class plus every special case, graded,
    with feedback, export and report written. Starts kernels: use from slow tests only."""
    from autograder.export import export
    from autograder.feedback import feedback
    from autograder.grade import grade
    from autograder.release import SOURCE_STEPS, release
    from autograder.report import report
    from autograder.simulate import simulate

    course = copy_fixture(tmp_path_factory.mktemp("graded") / "course")
    release(course, ASSIGNMENT, steps=SOURCE_STEPS)  # solution graded below anyway
    students = simulate(course, ASSIGNMENT, n=10, seed=1, bank=bank)
    release_nb = nbk.read(course.release_notebook(ASSIGNMENT))
    for student, text in special_submissions(source_nb, release_nb).items():
        path = course.submitted / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    (course.submitted / "x-bad-timestamp" / ASSIGNMENT / "timestamp.txt").write_text(BAD_TIMESTAMP)
    renamed = course.submitted / "x-renamed" / ASSIGNMENT / "my_homework.ipynb"
    renamed.parent.mkdir(parents=True)
    renamed.write_text(nbformat.writes(solved(source_nb, release_nb)))
    results = grade(course, ASSIGNMENT, jobs=2, limits=TEST_LIMITS, progress=False)
    feedback(course, ASSIGNMENT)
    export(course)
    report(course, ASSIGNMENT)
    return course, students, {r.student: r for r in results}
