"""Soak test of grading on a Dask cluster: a worker killed, the coordinator interrupted.

    python benchmarks/soak.py [--students 1000] [--seed 0]     (make soak SOAK_ARGS=...)

Builds the test fixture course (``ps1``) with a seeded simulated class of ``--students``
(autograder.demo.simulate, as benchmarks/bench_grading.py does; one mistake of the bank per
cell, so that no simulated student combines two that edit the same line), keeps a copy, and
starts a local Dask cluster of real processes on loopback (a scheduler and two ``dask
worker --nthreads 1`` processes, each in a session of its own). Then ``course grade ps1
--scheduler`` runs as a subprocess. About a third of the way (counted by the
``grading.json`` files the coordinator writes per finished submission) the whole process
group of a worker that is grading is killed with SIGKILL and a new worker started; about
two thirds of the way the coordinator gets SIGINT and is started again, and resumes. The
copy is graded by ``course grade`` on the local process pool, and every student's per-cell
scores in the two gradebooks must be equal. On FAIL the folder is kept (its path printed)
and each differing cell is shown with both runs' reasons and the error its test cell
printed; ``--keep`` keeps it on PASS too.

Prints submissions per minute of the cluster run (submissions / wall time from the first
start to the end of the resumed run), the retries (grading tasks the scheduler ran again
after their worker died, counted from its transition log), and PASS or FAIL; exit status 1
on FAIL.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.core.course import Course
from autograder.demo.compare import copy_course
from autograder.demo.local_cluster import LocalCluster
from autograder.demo.mistakes import load_bank
from autograder.demo.simulate import simulate
from autograder.release.steps import release
from autograder.results.load import load_submission

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "autograder" / "fixtures"
ASSIGNMENT = "ps1"
# One task at a time per worker (a dead worker takes no queued notebook with it), and a
# transition log long enough to count every retry of the run.
SCHEDULER_CONFIG = {"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
                    "DASK_DISTRIBUTED__ADMIN__LOW_LEVEL_LOG_LENGTH": "1000000"}


def build(work: Path, n: int, seed: int) -> Course:
    """The fixture course, released, with ``n`` simulated submissions."""
    shutil.copytree(FIXTURE / "course", work / "course")
    course = Course.at(work / "course")
    release(course, ASSIGNMENT)  # no gate: the class's own solutions are graded
    bank, cells = [], set()
    for mistake in load_bank(ASSIGNMENT, FIXTURE / "mistakes"):
        if mistake.cell not in cells:  # two mistakes of one cell may edit the same line
            bank.append(mistake)
            cells.add(mistake.cell)
    simulate(course, ASSIGNMENT, n=n, seed=seed, bank=bank)
    return course


def grading_runs(dask_scheduler) -> dict:
    """On the scheduler: grading task -> how many times it started processing."""
    runs: dict = collections.Counter()
    for entry in dask_scheduler.transition_log:
        key, finish = str(entry[0]), entry[2]
        if key.startswith("grade-") and finish == "processing":
            runs[key] += 1
    return dict(runs)


# ------------------------------------------------------------------ the run


def course_cmd(course: Course, *args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "course"), "--root", str(course.root), *args]


def graded_count(course: Course) -> int:
    return sum(1 for _ in course.autograded.glob(f"*/{ASSIGNMENT}/grading.json"))


def interruptible() -> None:
    """In the child: SIGINT back to its default, as at a terminal. A soak started in the
    background by a non-interactive shell (``make soak &``) ignores SIGINT, and so would the
    coordinator it starts: the interrupt would be no test at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_grading(course: Course, address: str, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(course_cmd(course, "grade", ASSIGNMENT, "--scheduler", address,
                                           "--no-progress"),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=interruptible)


def wait_until(proc: subprocess.Popen, course: Course, count: int) -> None:
    """Until ``count`` submissions are graded (or the coordinator ends)."""
    while proc.poll() is None and graded_count(course) < count:
        time.sleep(0.2)


def cluster_run(course: Course, cluster: LocalCluster, n: int, log: Path) -> dict:
    """Grade on the cluster: a worker killed at n/3, the coordinator interrupted at 2n/3
    and started again. What happened, as a dict."""
    facts: dict = {"killed": [], "interrupted_at": None}
    start = time.monotonic()
    proc = start_grading(course, cluster.address, log)
    wait_until(proc, course, max(1, n // 3))
    if proc.poll() is None:
        facts["killed"] = cluster.kill_busy_worker()
        facts["killed_at"] = graded_count(course)
        cluster.add_worker()
    wait_until(proc, course, max(2, 2 * n // 3))
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            facts["first_exit"] = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            facts["first_exit"] = f"killed ({proc.wait()}): SIGINT did not stop it in 120 s"
        facts["interrupted_at"] = graded_count(course)
        proc = start_grading(course, cluster.address, log)
    facts["last_exit"] = proc.wait()
    facts["seconds"] = time.monotonic() - start
    facts["runs"] = cluster.client.run_on_scheduler(grading_runs)
    return facts


def scores(course: Course) -> dict:
    """student -> grade cell -> score, from the gradebook."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        return {sub.student_id: {g.name: g.score for nb in sub.notebooks for g in nb.grades}
                for sub in gb.find_assignment(ASSIGNMENT).submissions}


def explain(student: str, runs: dict[str, Course]) -> list[str]:
    """Why ``student``'s scores differ: each run's reasons, then each cell whose score
    differs with its score and failure messages in each run (as feedback reads them:
    :func:`autograder.results.load.load_submission`)."""
    subs = {}
    for name, course in runs.items():
        with Gradebook(course.db_url, course.course_id()) as gb:
            subs[name] = load_submission(course, ASSIGNMENT, student, gb)
    lines = [f"  {student}:"] + [f"    {name} reasons: {sub.reasons}" for name, sub in subs.items()]
    cells = {name: {q.grade_id: q for q in sub.questions} for name, sub in subs.items()}
    for cell in sorted(set().union(*cells.values())):
        got = {name: table.get(cell) for name, table in cells.items()}
        if len({q.score if q else None for q in got.values()}) > 1:
            lines += [f"    {cell} {name}: {q.score if q else '-'} {q.messages if q else ''}"
                      for name, q in got.items()]
    return lines


def main(argv=None) -> int:

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true",
                   help="keep the folder of the run on PASS too (it is always kept on FAIL)")
    args = p.parse_args(argv)
    n = args.students
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        course = build(work, n, args.seed)
        clean = copy_course(course, work / "clean")
        (work / "cluster").mkdir()
        cluster = LocalCluster(work / "cluster", SCHEDULER_CONFIG)
        try:
            facts = cluster_run(course, cluster.start(2), n, work / "grade.log")
        finally:
            cluster.stop()
        log = (work / "grade.log").read_text(errors="replace")
        t0 = time.monotonic()
        local = subprocess.run(course_cmd(clean, "grade", ASSIGNMENT, "--no-progress"),
                               capture_output=True, text=True)
        t_local = time.monotonic() - t0
        ours, theirs = scores(course), scores(clean)
    except BaseException:
        print(f"soak stopped; its folder is kept: {work}")
        raise
    retried = {k: c - 1 for k, c in facts["runs"].items() if c > 1}
    differ = sorted(s for s in set(ours) | set(theirs) if ours.get(s) != theirs.get(s))
    ok = (not differ and len(ours) == n and facts["last_exit"] == 0
          and local.returncode == 0)
    skipped = [line for line in log.splitlines() if "skipped: already graded" in line]
    print(f"soak: {n} submissions of {ASSIGNMENT}, a local Dask cluster of 2 workers")
    print(f"  worker killed (SIGKILL) after {facts.get('killed_at', '-')} graded, holding "
          f"{len(facts['killed'])} grading task(s); a new worker started")
    print(f"  coordinator interrupted (SIGINT) after {facts['interrupted_at']} graded "
          f"(exit {facts.get('first_exit', '-')}), started again: "
          f"{skipped[-1] if skipped else 'nothing skipped'}")
    print(f"  cluster run: {facts['seconds']:.1f} s, {60 * n / facts['seconds']:.1f} "
          "submissions/min (both coordinator runs, the restart included)")
    print(f"  retries: {sum(retried.values())} (grading tasks the scheduler ran again after "
          f"their worker died; {len(facts['runs'])} tasks in all, both runs)")
    print(f"  local pool (clean copy): {t_local:.1f} s, {60 * n / t_local:.1f} submissions/min")
    if facts["last_exit"] != 0:
        print(f"  the resumed coordinator failed (exit {facts['last_exit']}):\n{log[-3000:]}")
    if local.returncode != 0:
        print(f"  the local run failed:\n{local.stderr[-3000:]}")
    print(f"  gradebooks: {len(ours)} and {len(theirs)} students; "
          + ("every per-cell score equal" if not differ else
             f"{len(differ)} differ: {differ[:10]}"))
    for student in differ[:10]:
        print("\n".join(explain(student, {"cluster": course, "local": clean})))
    if ok and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"  folder kept: {work}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
