"""Plain ``nbgrader autograde`` on a copy of a course, to compare scores with ``course grade``.

Used by the end-to-end test and ``benchmarks/bench_grading.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.course import Course


def copy_course(course: Course, dest: Path) -> Course:
    """A copy of the course directory (sources, releases, submissions, gradebook)."""
    if dest.exists():
        shutil.rmtree(dest)
    keep = ("nbgrader_config.py", "source", "release", "submitted", "gradebook.db")
    dest.mkdir(parents=True)
    for name in keep:
        src = course.root / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.is_file():
            shutil.copy(src, dest / name)
    return Course.at(dest)


def nbgrader_autograde(course: Course, assignment: str, *extra: str) -> float:
    """Run ``nbgrader autograde ASSIGNMENT --force [extra...]`` in the course root.

    Returns the seconds taken. ``extra`` e.g. ``--student=ID`` or
    ``--CourseDirectory.student_id_exclude=ID,...``. nbgrader runs the hidden tests in the
    student's kernel, so that kernel keeps the whole ``course_lib`` (``COURSE_LIB_COMPLETE``:
    an assignment's first cell withholds nothing there).
    """
    exe = Path(sys.executable).parent / "nbgrader"
    start = time.monotonic()
    subprocess.run(
        [str(exe), "autograde", assignment, "--force", "--log-level=ERROR", *extra],
        cwd=course.root, check=False, capture_output=True, text=True,
        env={**os.environ, "COURSE_LIB_COMPLETE": "1"},
    )
    return time.monotonic() - start


def scores(course: Course, assignment: str) -> dict[str, float]:
    """Total score per student in the gradebook (0 for a submission without grades)."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        return {
            sub.student.id: float(sub.score)
            for sub in gb.find_assignment(assignment).submissions
        }
