"""``course report ASSIGNMENT``: one self-contained HTML report for the instructor
(:mod:`autograder.results.report`)."""

from __future__ import annotations

from pathlib import Path

HELP = "one self-contained HTML report"


def add_arguments(p) -> None:
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, default=None)


def run(course, args) -> int:
    from autograder.grade.database import check
    from autograder.results.report import report

    check(course.db_url)  # a clear error if the gradebook cannot be reached
    print(f"wrote {report(course, args.assignment, args.out)}")
    return 0
