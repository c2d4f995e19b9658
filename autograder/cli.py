"""The ``course`` command line (also ``python -m autograder``).

Each verb is one module of :mod:`autograder.verbs` (its ``HELP``, ``add_arguments`` and
``run``) and one row of :data:`VERBS`; ``--root`` (default: the current directory) is the
nbgrader course directory to work on. A verb module imports the stages it runs only when
it runs, so ``course --help`` starts at once.
"""

from __future__ import annotations

import argparse
import sys

from autograder.core.course import Course
from autograder.verbs import (
    bundle,
    collect,
    demo,
    doctor,
    export,
    feedback,
    grade,
    release,
    report,
    validate,
)

# In the order of the data path: release, collect, grade, return, then the tools.
VERBS = {
    "release": release,
    "validate": validate,
    "collect": collect,
    "grade": grade,
    "feedback": feedback,
    "export": export,
    "report": report,
    "bundle": bundle,
    "demo": demo,
    "doctor": doctor,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="Release, grade and report an "
                                "nbgrader course (see docs/autograder.md).")
    p.add_argument("--root", default=None, help="course directory (default: current)")
    sub = p.add_subparsers(dest="verb", required=True)
    for name, module in VERBS.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    course = Course.at(args.root)
    try:
        return VERBS[args.verb].run(course, args)
    except ValueError as err:
        print(f"course {args.verb}: {err}", file=sys.stderr)
        return 2
