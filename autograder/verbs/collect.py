"""``course collect SOURCE``: place submissions from a folder or a zip into ``submitted/``
(:mod:`autograder.collect`)."""

from __future__ import annotations

HELP = "place submissions from a folder or zip"


def add_arguments(p) -> None:
    p.add_argument("source")
    p.add_argument("--assignment", default=None)


def run(course, args) -> int:
    from autograder.collect import collect

    report = collect(course, args.source, args.assignment)
    for name, dest in report.placed.items():
        print(f"placed   {name} -> {dest}")
    for name, reason in report.rejected.items():
        print(f"NOT placed {name}: {reason}")
    print(f"{len(report.placed)} placed, {len(report.rejected)} not placed")
    return 0
