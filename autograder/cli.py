"""The ``course`` command line (also ``python -m autograder``).

Each verb is a thin wrapper around one module of this package; ``--root`` (default: the
current directory) is the nbgrader course directory to work on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.course import Course

VERBS = "release validate collect grade feedback export report bundle demo doctor".split()


def cmd_release(course: Course, args) -> int:
    from autograder.release import ReleaseError, release

    names = course.assignments() if args.all else args.assignments
    if not names:
        print("nothing to release: give assignment names or --all (source/ has none)")
        return 1
    failed = 0
    for name in names:
        try:
            keep = args.keep_check / name if args.keep_check else None
            print(f"released {name}: {release(course, name, keep_check=keep)}")
        except ReleaseError as err:
            print(f"NOT released: {err}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def cmd_validate(course: Course, args) -> int:
    from autograder.validate import validate

    ok, rows = validate(args.notebook, timeout=args.timeout)
    width = max((len(name) for name, _ in rows), default=8)
    for name, status in rows:
        print(f"{name:{width}}  {status}")
    print("all tests passed" if ok else "some tests FAILED")
    return 0 if ok else 1


def cmd_collect(course: Course, args) -> int:
    from autograder.collect import collect

    report = collect(course, args.source, args.assignment)
    for name, dest in report.placed.items():
        print(f"placed   {name} -> {dest}")
    for name, reason in report.rejected.items():
        print(f"NOT placed {name}: {reason}")
    print(f"{len(report.placed)} placed, {len(report.rejected)} not placed")
    return 0


def cmd_grade(course: Course, args) -> int:
    from autograder.execute import Limits
    from autograder.grade import grade

    limits = Limits(
        cell_timeout=args.cell_timeout or course.cell_timeout(),
        wall_clock=args.wall_clock, memory_mb=args.memory_mb,
    )
    if args.no_sandbox:
        print("WARNING: grading WITHOUT the sandbox (--no-sandbox): student code runs with "
              "your rights and can read and write your files.", file=sys.stderr)
    results = grade(course, args.assignment, args.student, args.jobs, limits,
                    progress=not args.no_progress, sandboxed=not args.no_sandbox)
    for r in results:
        note = f"  ({'; '.join(r.reasons)})" if r.reasons else ""
        print(f"{r.student:12} {r.notebook:24} {r.score:6g} / {r.max_score:g}  "
              f"{r.runtime:5.1f}s{note}")
    return 0


def cmd_feedback(course: Course, args) -> int:
    from autograder.feedback import LeakError, feedback

    try:
        paths = feedback(course, args.assignment)
    except LeakError as err:
        print(f"course feedback: LEAK: {err}", file=sys.stderr)
        print(f"wrote {len(err.written)} feedback pages under {course.feedback}; "
              f"{len(err.withheld)} withheld", file=sys.stderr)
        return 3
    print(f"wrote {len(paths)} feedback pages under {course.feedback}")
    return 0


def cmd_export(course: Course, args) -> int:
    from autograder.export import export

    for path in export(course, args.out):
        print(f"wrote {path}")
    return 0


def cmd_report(course: Course, args) -> int:
    from autograder.report import report

    print(f"wrote {report(course, args.assignment, args.out)}")
    return 0


def cmd_bundle(course: Course, args) -> int:
    from autograder.bundle import BundleError, bundle

    try:
        out = bundle(course, args.out)
    except BundleError as err:
        print(f"course bundle: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out} and {out}.zip")
    return 0


def cmd_demo(course: Course, args) -> int:
    from autograder.demo import demo, format_table

    rows, report = demo(course, args.out, args.students, args.seed, args.jobs,
                        progress=not args.no_progress, bank_dir=args.bank_dir)
    if not rows:
        print(f"course demo: there are no assignments in {course.source} "
              "(expected source/<name>/<name>.ipynb); nothing to demonstrate.")
        return 1
    print(format_table(rows))
    print(f"report: {report}")
    return 1 if any(r.error for r in rows) else 0


def cmd_doctor(course: Course, args) -> int:
    from autograder.doctor import doctor

    ok, lines = doctor(course)
    print("\n".join(lines))
    return 0 if ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="Release, grade and report an "
                                "nbgrader course (see docs/autograder.md).")
    p.add_argument("--root", default=None, help="course directory (default: current)")
    sub = p.add_subparsers(dest="verb", required=True)
    r = sub.add_parser("release", help="check, generate and scan student versions")
    r.add_argument("assignments", nargs="*")
    r.add_argument("--all", action="store_true", help="every assignment in source/")
    r.add_argument("--keep-check", type=Path, default=None, metavar="DIR",
                   help="keep the course copy in which the solution was graded as a student "
                   "(DIR/<assignment>: autograded notebook and grading.json)")
    v = sub.add_parser("validate", help="run a notebook's visible tests (exit 1 on failure)")
    v.add_argument("notebook")
    v.add_argument("--timeout", type=int, default=60, help="seconds per cell")
    c = sub.add_parser("collect", help="place submissions from a folder or zip")
    c.add_argument("source")
    c.add_argument("--assignment", default=None)
    g = sub.add_parser("grade", help="autograde every submission in parallel")
    g.add_argument("assignment")
    g.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    g.add_argument("--student", nargs="+", default=None, help="only these students")
    g.add_argument("--cell-timeout", type=int, default=None,
                   help="seconds per cell (default: Execute.timeout from nbgrader_config.py)")
    g.add_argument("--wall-clock", type=float, default=600.0, help="seconds per submission")
    g.add_argument("--memory-mb", type=int, default=2048, help="kernel memory limit (MiB)")
    g.add_argument("--no-progress", action="store_true")
    g.add_argument("--no-sandbox", action="store_true",
                   help="run submissions unsandboxed (only if bubblewrap cannot be used)")
    f = sub.add_parser("feedback", help="one HTML page per student")
    f.add_argument("assignment")
    e = sub.add_parser("export", help="grades.csv and questions.csv")
    e.add_argument("--out", type=Path, default=None, help="folder (default: course root)")
    rp = sub.add_parser("report", help="one self-contained HTML report")
    rp.add_argument("assignment")
    rp.add_argument("--out", type=Path, default=None)
    b = sub.add_parser("bundle", help="the student distribution (folder and zip)")
    b.add_argument("--out", type=Path, default=None)
    d = sub.add_parser("demo", help="release, simulate, grade and report every assignment")
    d.add_argument("--out", type=Path, default=None, help="default: out/demo")
    d.add_argument("--students", type=int, default=40)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--jobs", type=int, default=None)
    d.add_argument("--no-progress", action="store_true")
    d.add_argument("--bank-dir", type=Path, default=None,
                   help="mistake bank folder (default: autograder/mistakes)")
    sub.add_parser("doctor", help="check that grading is sandboxed here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    course = Course.at(args.root)
    handler = globals()[f"cmd_{args.verb}"]
    try:
        return handler(course, args)
    except ValueError as err:
        print(f"course {args.verb}: {err}", file=sys.stderr)
        return 2
