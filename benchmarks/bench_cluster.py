"""Throughput of `course grade --scheduler` on a local Dask cluster of 1, 2, ... workers.

    python benchmarks/bench_cluster.py [--students 40] [--workers 1 2] [--assignment NAME]

Builds a seeded simulated class (autograder.demo.simulate) in a temporary copy of the course,
as benchmarks/bench_grading.py does. For each worker count it starts `dask scheduler` and
that many `dask worker --nworkers 1 --nthreads 1` processes on 127.0.0.1 (ports chosen by
the operating system), grades a fresh copy of the class with
`autograder.grade.coordinator.grade(..., scheduler=ADDRESS)` (what `course grade
--scheduler` runs), and stops the cluster. It also grades a copy on the local process pool
with `--jobs 2` for reference. The time is that of the grading call alone (connecting,
checking every worker, sending the assignment, grading, saving), not the cluster's start.
Prints submissions per minute per configuration, the per-worker scaling efficiency
(rate with 2 workers / rate with 1 worker) / 2 when both were run, and checks that every run
gives every student the same score. Needs the `cluster` extra and bubblewrap.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_grading import build  # the same seeded class

from autograder.core.course import Course
from autograder.demo.compare import copy_course, scores
from autograder.demo.local_cluster import running
from autograder.grade.coordinator import grade

LOCAL_JOBS = 2


# ------------------------------------------------------------------ the runs


def timed(course: Course, assignment: str, **how) -> float:
    start = time.monotonic()
    grade(course, assignment, progress=False, **how)
    return time.monotonic() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--assignment", default=None)
    args = p.parse_args(argv)
    runs: list[tuple[str, int | None, float, dict]] = []  # (label, workers, seconds, scores)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(tmp)
        course, assignment = build(work, args.assignment, args.students,
                                   nbgrader_stderr_rule=False)
        copy = copy_course(course, work / "local")
        seconds = timed(copy, assignment, jobs=LOCAL_JOBS)
        runs.append((f"local pool, --jobs {LOCAL_JOBS}", None, seconds,
                     scores(copy, assignment)))
        for n in args.workers:
            copy = copy_course(course, work / f"cluster-{n}")
            with running(n) as local:
                seconds = timed(copy, assignment, scheduler=local.address)
            runs.append((f"cluster, {n} worker{'s' if n != 1 else ''}", n, seconds,
                         scores(copy, assignment)))
    print(f"assignment {assignment}, {args.students} submissions, {os.cpu_count()} cores")
    rate = {}
    for label, n, seconds, _ in runs:
        per_min = 60 * args.students / seconds
        if n is not None:
            rate[n] = per_min
        print(f"{label:24s} {seconds:7.1f} s  {per_min:7.1f} submissions/min")
    if 1 in rate and 2 in rate:
        print(f"per-worker scaling efficiency (2 workers vs 1): "
              f"{rate[2] / rate[1] / 2:.2f}")
    reference = runs[0][3]
    differ = {label: {s: (reference.get(s), got.get(s))
                      for s in sorted(set(reference) | set(got))
                      if reference.get(s) != got.get(s)}
              for label, _, _, got in runs[1:]}
    differ = {label: d for label, d in differ.items() if d}
    complete = all(len(got) == args.students for *_, got in runs)
    print("scores identical in every run" if not differ else
          f"scores DIFFER from the local pool (local, cluster): {differ}")
    if not complete:
        print("some run did not grade every submission: "
              + ", ".join(f"{label}: {len(got)}" for label, _, _, got in runs))
    return 0 if not differ and complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
