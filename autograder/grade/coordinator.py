"""``course grade``: every submission of an assignment, fanned out to worker processes.

The coordinator is the only process that writes the gradebook. Per submission, in order
(:mod:`autograder.grade.steps` says why):

1. register (coordinator): the student and the submission in the gradebook, with the
   timestamp from ``timestamp.txt``; copy the assignment's non-notebook files
   (:mod:`autograder.grade.submissions`).
2. sanitize, execute, post-process (a worker, one per core: :mod:`autograder.grade.workers`).
3. save (coordinator): the grades and the ``autograded/`` notebook; once every notebook of
   the submission is saved, its ``grading.json``.

``grading.json`` marks a submission as graded: a run that is interrupted and started again
grades only the submissions without one, or with a file in ``submitted/`` newer than it
(:func:`autograder.grade.submissions.already_graded`, as ``nbgrader autograde`` decides);
``force=True`` (``course grade --force``) regrades them all.

With a Dask scheduler (``scheduler=``, :mod:`autograder.grade.cluster`) the workers are the
cluster's: the coordinator also sanitizes (it reads the gradebook, which workers cannot
reach) and sends each notebook as a task with what it needs as data (:mod:`.tasks`); steps 1
and 3 are the same, and so is the progress bar.

An exception in any per-submission step is that submission's failure, with the reason; it
never stops the others.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from autograder.core.course import Course
from autograder.core.formats import RESULT_FILE
from autograder.grade.gradebook import shared_engines
from autograder.grade.jobs import Job, NotebookResult, fail
from autograder.grade.schema import cached_schema_validation
from autograder.grade.steps import save
from autograder.grade.submissions import (
    already_graded,
    failed_jobs,
    find_submissions,
    notebook_names,
    prepare,
    zero,
)
from autograder.grade.workers import execute_job, init_worker, warm_up
from autograder.sandbox import bwrap
from autograder.sandbox.limits import Limits
from autograder.sandbox.withhold import restricted_course_lib


def grade(
    course: Course, assignment: str, students=None, jobs: int | None = None,
    limits: Limits | None = None, progress: bool = True, sandboxed: bool = True,
    scheduler: str | None = None, force: bool = False,
) -> list[NotebookResult]:
    """Grade every submission of ``assignment`` not yet graded (all with ``force``);
    returns one result per notebook graded in this run.

    Kernels run in the sandbox (:mod:`autograder.sandbox`) unless ``sandboxed=False``; a
    missing bubblewrap is an error, never a silent fallback. The tests run in the trusted
    process (:mod:`autograder.run.trusted`), and the kernel imports a ``course_lib``
    without the names the assignment withholds. On ``jobs`` local worker processes (default:
    one per core), or with ``scheduler`` (``tcp://HOST:PORT``) on a Dask cluster's workers
    (:mod:`autograder.grade.cluster`; checked first, refused if it does not match).
    A submission already graded and unchanged since (:func:`already_graded`) is skipped
    unless ``force``: an interrupted run, started again, grades only the rest.
    """
    if scheduler and jobs:
        raise ValueError("Invalid jobs: --jobs sizes the local process pool; a Dask "
                         "cluster grades on the workers started for it")
    if not scheduler:
        jobs = jobs or default_jobs()
        check_setup(course, jobs, sandboxed)
    limits = replace(limits or Limits(cell_timeout=course.cell_timeout()), sandbox=sandboxed)
    notebook_names(course, assignment)  # a clear error if it was never released
    students = find_submissions(course, assignment, students)
    desc = f"grade {assignment}"
    with warnings.catch_warnings(), shared_engines(), cached_schema_validation(), \
            Interrupted() as stop:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own gradebook code warns
        if not force:
            done = set(already_graded(course, assignment, students))
            students = [s for s in students if s not in done]
        if not students:
            return []
        if scheduler:
            results = grade_on_cluster(course, assignment, students, limits, scheduler,
                                       desc, progress, stop)
        else:
            results = grade_locally(course, assignment, students, limits, jobs, desc,
                                    progress, stop)
    return sorted(results, key=lambda r: (r.student, r.notebook))


def grade_locally(course: Course, assignment: str, students: list[str], limits: Limits,
                  jobs: int, desc: str, progress: bool,
                  stop: Interrupted | None = None) -> list[NotebookResult]:
    """Step 2 on ``jobs`` worker processes of this machine."""
    # Spawned, not forked: this process may hold ZMQ sockets and an event loop from an
    # earlier step (release runs the source notebook), which a forked child must not
    # inherit.
    with tempfile.TemporaryDirectory(prefix="course-lib-") as scratch, \
            ProcessPoolExecutor(jobs, get_context("spawn"), init_worker,
                                (str(course.root), os.getpid())) as pool:
        lib = restricted_course_lib(course, assignment, Path(scratch))
        for future in [pool.submit(warm_up, limits, lib) for _ in range(jobs)]:
            future.result()  # each worker starts its first kernel now
        run = LocalRun(pool, lib, limits)
        try:
            return collect_results(course, assignment, len(students),
                                   interleave(run, all_jobs(course, assignment, students), stop),
                                   desc, progress, limits.sandbox)
        except BaseException:  # interrupted: what is queued is not graded (nor waited for)
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def grade_on_cluster(course: Course, assignment: str, students: list[str], limits: Limits,
                     scheduler: str, desc: str, progress: bool,
                     stop: Interrupted | None = None) -> list[NotebookResult]:
    """Step 2 on the workers of the Dask cluster at ``scheduler``; this process sanitizes."""
    from autograder.grade.cluster import ClusterRun

    with ClusterRun(scheduler, course, assignment, limits, course.config()) as run:
        return collect_results(course, assignment, len(students),
                               interleave(run, all_jobs(course, assignment, students), stop),
                               desc, progress, limits.sandbox)


POLL = 0.2  # seconds: the longest a run waits for results before it looks for a Ctrl-C


class Interrupted:
    """Ctrl-C (SIGINT) while grading, as a flag the run checks (:meth:`check`) between two
    results and at least every ``POLL`` seconds, where it raises KeyboardInterrupt: never
    half-way through saving a result, and never inside a finalizer (a Dask future or a
    socket being released), where Python prints a KeyboardInterrupt and drops it. A second
    Ctrl-C raises at once. Outside the main thread, or when SIGINT has another handler than
    Python's (or is ignored, as in a job a script started with ``&``), nothing changes."""

    def __init__(self):
        self.flag, self.previous = False, None

    def __enter__(self) -> Interrupted:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def _handler(self, signum, frame) -> None:
        self.flag = True
        signal.signal(signal.SIGINT, self.previous)  # a second Ctrl-C raises at once

    def check(self) -> None:
        if self.flag:
            raise KeyboardInterrupt


class LocalRun:
    """The local pool seen as :func:`interleave` sees a cluster run: :meth:`submit` a job,
    take what is back (:meth:`finished`), and how many are still out (``waiting``)."""

    def __init__(self, pool: ProcessPoolExecutor, lib: str, limits: Limits):
        self.pool, self.lib, self.limits = pool, lib, limits
        self.arrived: queue.SimpleQueue = queue.SimpleQueue()  # (job, its future), when done
        self.waiting = 0  # submitted and not yet handed back

    def submit(self, job: Job) -> None:
        job.course_lib = self.lib
        future = self.pool.submit(execute_job, job, self.limits)
        future.add_done_callback(lambda done, job=job: self.arrived.put((job, done)))
        self.waiting += 1

    def finished(self, wait: float = 0):
        """(job, the worker's job or the exception that failed it) for each job done since
        the last call; if none is, waits up to ``wait`` seconds for one."""
        block = wait > 0
        while self.waiting:
            try:
                job, future = self.arrived.get(block, wait if block else None)
            except queue.Empty:
                return
            block = False
            self.waiting -= 1
            yield job, outcome_of(future)


def interleave(run, jobs, stop: Interrupted | None = None):
    """Submit each job to ``run`` as soon as its submission is registered, handing back
    between two submissions what the workers have finished so far; then the rest, as it
    finishes. So the first results are saved (and an interrupted run keeps them) while
    later submissions are still being registered. ``stop``: a Ctrl-C is raised here."""
    check = stop.check if stop is not None else lambda: None

    def handed_back(wait: float):
        for outcome in run.finished(wait):
            yield outcome
            check()

    for job in jobs:
        check()
        run.submit(job)
        yield from handed_back(0)
    while run.waiting:
        check()
        yield from handed_back(POLL)


def default_jobs() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def check_setup(course: Course, jobs: int, sandboxed: bool) -> None:
    """ValueError for a number of workers below one, or a sandbox that cannot be used."""
    if jobs < 1:
        raise ValueError(f"Invalid jobs: {jobs} (must be >= 1)")
    if sandboxed and not bwrap.available(str(course.root)):
        raise ValueError(
            "Invalid setup: the sandbox is not usable here (bubblewrap missing or user/pid/"
            "net namespaces unavailable; see `course doctor`). Install bubblewrap, or pass "
            "--no-sandbox to grade with the instructor's rights (not recommended)")


def all_jobs(course: Course, assignment: str, students: list[str]):
    """Register each submission (step 1) and yield its notebooks' jobs; a submission that
    cannot be registered yields unusable jobs (zero, with the reason)."""
    for student in students:
        try:
            prepared = prepare(course, assignment, student)
        except Exception as err:  # noqa: BLE001  (this submission only)
            prepared = failed_jobs(course, assignment, student, err)
        yield from prepared


def outcome_of(future) -> Job | BaseException:
    """A local worker's job, or the exception that made the worker itself fail."""
    try:
        return future.result()
    except Exception as err:  # noqa: BLE001  (the worker itself failed)
        return err


def collect_results(course: Course, assignment: str, submissions: int, outcomes, desc: str,
                    progress: bool, sandboxed: bool = True) -> list[NotebookResult]:
    """Save each job's grades as its worker finishes it (the only gradebook writes), and a
    submission's ``grading.json`` (:func:`record`) as soon as all its notebooks are saved:
    an interrupted run leaves exactly the finished submissions marked as graded.
    ``outcomes``: (job, the worker's job or the exception that failed it), one per notebook
    of each of the run's ``submissions`` (registering yields a job for every notebook of
    the assignment, usable or not)."""
    config = course.config()
    per_submission = len(notebook_names(course, assignment))
    saved: dict[tuple[str, str], list[NotebookResult]] = {}
    results = []
    with tqdm(total=submissions * per_submission, desc=desc, unit="nb",
              disable=not progress) as bar:
        for job, back in outcomes:
            if isinstance(back, BaseException):
                fail(job, "grading", back)
            else:
                job = back
            save_or_zero(course, job, config)
            key = submission_of(job.result)
            saved.setdefault(key, []).append(job.result)
            if len(saved[key]) == per_submission:
                record(course, saved.pop(key), sandboxed)
            results.append(job.result)
            bar.update()
    return results


def submission_of(result: NotebookResult) -> tuple[str, str]:
    return result.student, result.assignment


#: Errors of a database that is busy for a moment, not of the submission: the save is tried
#: again after each pause (seconds) before the submission is zeroed with the reason.
BUSY_DATABASE = ("database is locked", "deadlock detected", "could not serialize access")
SAVE_PAUSES = (0.5, 1, 2, 4, 8)


def save_or_zero(course: Course, job: Job, config) -> None:
    """Save the job's grades; if that fails, zero with the reason. A busy database (SQLite
    locked by a reader, a PostgreSQL deadlock) is waited for, up to 15.5 s in all."""
    for pause in (*SAVE_PAUSES, None):
        try:
            save(course, job, config)
            return
        except Exception as err:  # noqa: BLE001
            if pause is not None and any(text in str(err) for text in BUSY_DATABASE):
                time.sleep(pause)
                continue
            first = (str(err).strip().splitlines() or [""])[0]
            job.result.reasons.append(f"could not save grades: {type(err).__name__}: {first}")
            with contextlib.suppress(Exception):
                zero(course, job.result)
            return


def record(course: Course, results: list[NotebookResult], sandboxed: bool = True) -> None:
    """Scores from the gradebook into each result, and ``grading.json`` per submission
    (its notebooks in order of name; written whole or not at all: it marks the submission
    as graded)."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        for r in results:
            sub = gb.find_submission_notebook(r.notebook, r.assignment, r.student)
            r.score, r.max_score = float(sub.score), float(sub.max_score)
    by_student: dict[tuple, list] = {}
    for r in sorted(results, key=lambda r: r.notebook):
        by_student.setdefault((r.student, r.assignment), []).append(asdict(r))
    for (student, assignment), rows in by_student.items():
        path = course.autograded / student / assignment / RESULT_FILE
        partial = path.with_name(f".{RESULT_FILE}.partial")
        partial.write_text(json.dumps({"notebooks": rows, "sandboxed": sandboxed}, indent=1))
        os.replace(partial, path)
