"""``course export``: ``grades.csv`` and ``questions.csv`` (:mod:`autograder.results.export`)."""

from __future__ import annotations

from pathlib import Path

HELP = "grades.csv and questions.csv"


def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, default=None, help="folder (default: course root)")


def run(course, args) -> int:
    from autograder.grade.database import check
    from autograder.results.export import export

    check(course.db_url)  # a clear error if the gradebook cannot be reached
    for path in export(course, args.out):
        print(f"wrote {path}")
    return 0
