"""Fixtures for the autograder tests: a copy of the fixture course and a graded class.

The tests sit in one folder per stage of the package (``core/``, ``sandbox/``, ``run/``, ...,
``e2e/``); the helpers they share (``fixture_course.py``, ``fixtures/``) stay here, and this
folder is put on ``sys.path`` so that every subfolder imports them by name. The test folders
have no ``__init__.py``: pytest imports a test module by its file name, so no two test files
below ``tests/`` may share one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixture_course import (  # noqa: E402
    ASSIGNMENT,
    BAD_TIMESTAMP,
    BANK_DIR,
    FIXTURES,
    TEST_LIMITS,
    copy_fixture,
    special_submissions,
)

from autograder.core import notebooks as nbk  # noqa: E402
from autograder.core.course import Course  # noqa: E402
from autograder.demo.mistakes import load_bank  # noqa: E402
from autograder.demo.simulate import solved  # noqa: E402


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
    from autograder.demo.simulate import simulate
    from autograder.grade.coordinator import grade
    from autograder.release.steps import release
    from autograder.results.export import export
    from autograder.results.feedback import feedback
    from autograder.results.report import report

    course = copy_fixture(tmp_path_factory.mktemp("graded") / "course")
    release(course, ASSIGNMENT)  # the gate is not run: the solution is graded below anyway
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
