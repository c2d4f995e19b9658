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

from autograder.core.course import SQLITE_FILE, Course, copy_config, sqlite_url


def copy_course(course: Course, dest: Path) -> Course:
    """A copy of the course directory (sources, releases, submissions, gradebook).

    The copy's gradebook is SQLite in the copy (:func:`copy_config`): the course's own
    ``gradebook.db`` copied, or the rows of its configured database (e.g. PostgreSQL)
    copied into a new one. The original gradebook is only read.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copy_config(course.root, dest)
    for name in ("source", "release", "submitted"):
        if (course.root / name).is_dir():
            shutil.copytree(course.root / name, dest / name)
    copy = Course.at(dest)
    if course.db_url == sqlite_url(course.root):
        if (course.root / SQLITE_FILE).is_file():
            shutil.copy(course.root / SQLITE_FILE, dest / SQLITE_FILE)
    else:
        copy_gradebook(course.db_url, copy.db_url)
    return copy


def copy_gradebook(src_url: str, dest_url: str) -> None:
    """Every row of nbgrader's tables (and its schema version) from the database at
    ``src_url`` into a new database at ``dest_url``."""
    from nbgrader.api import Base
    from sqlalchemy import MetaData, create_engine, insert, inspect, select

    src, dest = create_engine(src_url), create_engine(dest_url)
    try:
        with src.connect() as read, dest.begin() as write:
            names = inspect(read).get_table_names()
            if not names:
                return  # nothing was ever written: nbgrader creates the tables on first use
            Base.metadata.create_all(write)
            version = MetaData()
            version.reflect(read, only=[n for n in names if n == "alembic_version"])
            tables = [*version.sorted_tables, *Base.metadata.sorted_tables]
            version.create_all(write)
            for table in tables:
                rows = [dict(r) for r in read.execute(select(table)).mappings()]
                if rows:
                    write.execute(insert(table), rows)
    finally:
        src.dispose()
        dest.dispose()


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
