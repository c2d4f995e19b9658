"""``course feedback ASSIGNMENT``: one HTML page per student, hidden tests never shown
(:mod:`autograder.results.feedback`)."""

from __future__ import annotations

import sys

HELP = "one HTML page per student"


def add_arguments(p) -> None:
    p.add_argument("assignment")


def run(course, args) -> int:
    from autograder.grade.database import check
    from autograder.results.feedback import LeakError, feedback

    check(course.db_url)  # a clear error if the gradebook cannot be reached
    try:
        paths = feedback(course, args.assignment)
    except LeakError as err:
        print(f"course feedback: LEAK: {err}", file=sys.stderr)
        print(f"wrote {len(err.written)} feedback pages under {course.feedback}; "
              f"{len(err.withheld)} withheld", file=sys.stderr)
        return 3
    print(f"wrote {len(paths)} feedback pages under {course.feedback}")
    return 0
