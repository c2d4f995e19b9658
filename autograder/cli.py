"""The ``course`` command line (placeholder until the autograder lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:
        print(
            "course demo will release every assignment in source/, simulate a class of 40\n"
            "students per assignment, grade it in parallel, and write feedback, grades and a\n"
            "report to out/demo/. It is not implemented yet.",
            file=sys.stderr,
        )
        return 2
    print("usage: course {release,validate,collect,grade,feedback,export,report,bundle,demo}")
    return 2
