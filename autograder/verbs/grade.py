"""``course grade ASSIGNMENT``: autograde every submission, in parallel and sandboxed
(:mod:`autograder.grade`): on this machine's cores, or with ``--scheduler tcp://HOST:PORT``
(or ``c.CourseGrade.scheduler`` in ``nbgrader_config.py``) on a Dask cluster's workers
(:mod:`autograder.grade.cluster`). A submission already graded, with nothing submitted since,
is skipped (an interrupted run, started again, grades the rest); ``--force`` regrades it."""

from __future__ import annotations

import sys

from autograder.sandbox.limits import DEFAULT

HELP = "autograde every submission in parallel"


def add_arguments(p) -> None:
    p.add_argument("assignment")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--student", nargs="+", default=None, help="only these students")
    p.add_argument("--cell-timeout", type=int, default=None,
                   help="seconds per cell (default: Execute.timeout from nbgrader_config.py)")
    p.add_argument("--wall-clock", type=float, default=DEFAULT.wall_clock,
                   help=f"seconds per submission (default: {DEFAULT.wall_clock:g})")
    p.add_argument("--memory-mb", type=int, default=DEFAULT.memory_mb,
                   help=f"kernel memory limit in MiB (default: {DEFAULT.memory_mb})")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run submissions unsandboxed (only if bubblewrap cannot be used)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="grade on the workers of this Dask scheduler (default: "
                        "CourseGrade.scheduler from nbgrader_config.py, else this machine; "
                        "'local': this machine whatever the setting says)")
    p.add_argument("--force", action="store_true",
                   help="regrade every submission, also those already graded with nothing "
                        "submitted since (default: skip them)")


def run(course, args) -> int:
    from autograder.grade.cluster import scheduler_address
    from autograder.grade.coordinator import grade
    from autograder.grade.database import check
    from autograder.grade.submissions import already_graded, find_submissions
    from autograder.sandbox.limits import Limits

    check(course.db_url)  # a gradebook server that is down: one clear line, nothing graded
    limits = Limits(cell_timeout=args.cell_timeout or course.cell_timeout(),
                    wall_clock=args.wall_clock, memory_mb=args.memory_mb)
    if args.no_sandbox:
        print("WARNING: grading WITHOUT the sandbox (--no-sandbox): student code runs with "
              "your rights and can read and write your files.", file=sys.stderr)
    skipped = [] if args.force else already_graded(
        course, args.assignment, find_submissions(course, args.assignment, args.student))
    if skipped:
        print(f"{len(skipped)} submission(s) skipped: already graded, nothing submitted "
              "since (--force regrades them)", flush=True)
    try:
        results = grade(course, args.assignment, args.student, args.jobs, limits,
                        progress=not args.no_progress, sandboxed=not args.no_sandbox,
                        scheduler=scheduler_address(course, args.scheduler),
                        force=args.force)
    except KeyboardInterrupt:
        print("\ncourse grade: interrupted. Every submission graded so far is saved; run "
              "the same command again to grade the rest.", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports it
    for r in results:
        note = f"  ({'; '.join(r.reasons)})" if r.reasons else ""
        print(f"{r.student:12} {r.notebook:24} {r.score:6g} / {r.max_score:g}  "
              f"{r.runtime:5.1f}s{note}")
    return 0
