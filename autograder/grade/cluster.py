"""Grading on a Dask cluster: ``course grade ASSIGNMENT --scheduler tcp://HOST:PORT``.

The same run as on the local process pool (:mod:`.coordinator`), with each submitted
notebook a task of a Dask cluster (``dask.distributed``, the optional extra ``cluster``):

- before anything is sent, every worker is checked (:func:`survey`): one thread per worker
  process (a worker grades one notebook at a time, as a local worker does; start ``dask
  worker --nworkers N --nthreads 1`` for N cores), the sandbox usable there
  (:func:`autograder.sandbox.bwrap.available`), and the same Python, packages and
  autograder and course_lib code as the coordinator (:mod:`.versions`). A cluster that does
  not match is refused (:class:`ClusterUnavailable`), as ``course doctor --scheduler`` says;
- the coordinator registers and sanitizes each submission (both touch the gradebook) and
  sends the assignment once and each notebook as a task, as data (:mod:`.tasks`): workers
  need the course's environment but no copy of the course and no gradebook;
- results are saved as they arrive, by the coordinator alone, with the same progress bar.

A worker that dies while grading (killed, out of memory, its machine lost) costs a retry
elsewhere: the scheduler runs the tasks it held again on other workers. A notebook whose
workers die ``distributed.scheduler.allowed-failures`` + 1 times (the scheduler's setting,
3 by default) ends with Dask's ``KilledWorker``: it is graded zero with the reason
(:class:`WorkersDied`), never retried forever. Each notebook's future completes once, so
each is saved once. If the scheduler itself is lost, the run stops with an error: nothing is
zeroed for it. (A scheduler started with ``distributed.scheduler.worker-saturation: 1.0``
gives each one-thread worker only the notebook it is grading, so a worker that dies takes no
queued notebook's retry budget with it.)

The scheduler is ``--scheduler``, or else ``c.CourseGrade.scheduler`` in
``nbgrader_config.py`` (:func:`scheduler_address`); ``--scheduler local`` grades on the local
pool whatever the setting says. Only this module imports dask, and only when a scheduler is
given: without one, grading does not need it.
"""

from __future__ import annotations

import time
import uuid

from autograder.core.course import Course
from autograder.grade.jobs import Job, fail
from autograder.grade.steps import sanitize
from autograder.grade.tasks import WorkerMismatch, merge, pack_bundle, pack_task, run_task
from autograder.grade.versions import differences, fingerprint
from autograder.sandbox.limits import Limits

SETTING = "CourseGrade.scheduler"  # in nbgrader_config.py: c.CourseGrade.scheduler = "tcp://..."
LOCAL = "local"  # --scheduler local: the local process pool, whatever the setting says
INSTALL = "pip install -c constraints.txt -e '.[cluster]'"
CONNECT_TIMEOUT = 10  # seconds to wait for the scheduler


class ClusterUnavailable(ValueError):
    """The cluster cannot be used (not reachable, no workers, or not matching this
    machine); the message says why."""


class WorkersDied(RuntimeError):
    """Dask's ``KilledWorker``: the workers grading a notebook died too often."""


def scheduler_address(course: Course, flag: str | None = None) -> str | None:
    """The scheduler to grade on: ``flag`` (``--scheduler``), else ``c.CourseGrade.scheduler``
    of ``nbgrader_config.py``; None for the local process pool (unset, empty or ``local``)."""
    section, _, key = SETTING.partition(".")
    value = flag if flag is not None else course.file_config()[section].get(key, "")
    value = str(value or "").strip()
    return None if value in ("", LOCAL) else value


def connect(address: str, timeout: float | None = None):
    """A ``distributed.Client`` of the scheduler at ``address``; ClusterUnavailable if
    dask is not installed or the scheduler does not answer within ``timeout`` seconds
    (default :data:`CONNECT_TIMEOUT`)."""
    try:
        from distributed import Client
    except ImportError as err:
        raise ClusterUnavailable(f"grading on a Dask cluster needs dask.distributed: "
                                 f"{INSTALL}") from err
    try:
        return Client(address, timeout=timeout or CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ClusterUnavailable(f"the Dask scheduler at {address} cannot be reached "
                                 f"({SETTING} or --scheduler): {first}") from err


# ------------------------------------------------------------------ checking the workers


def worker_report(sandboxed: bool) -> dict:
    """Run on each worker (``client.run``): its fingerprint, and whether the sandbox works
    there (the failing checks of :func:`autograder.sandbox.bwrap.probe` if not)."""
    from autograder.sandbox import bwrap

    report = {"fingerprint": fingerprint(), "sandbox": True, "failing": []}
    if sandboxed:
        report["sandbox"] = bwrap.available()
        report["failing"] = [name for name, ok in bwrap.probe().items()
                             if not ok and name != "pids and memory cgroups"]
    return report


def worker_problems(info: dict, report, here: dict, sandboxed: bool) -> list[str]:
    """Why one worker cannot grade for this coordinator ([] when it can). ``info``: the
    scheduler's record of it; ``report``: its :func:`worker_report` (or the exception)."""
    problems = []
    threads = info.get("nthreads", 1)
    if threads != 1:
        problems.append(f"{threads} threads (start workers with --nthreads 1, and "
                        "--nworkers N for N cores)")
    if isinstance(report, BaseException) or not isinstance(report, dict):
        return [*problems, f"did not answer the check: {type(report).__name__}: {report}"]
    problems += differences(here, report.get("fingerprint", {}))
    if sandboxed and not report.get("sandbox"):
        failing = ", ".join(report.get("failing") or []) or "see `course doctor` there"
        problems.append(f"the sandbox is not usable ({failing})")
    return problems


def survey(client, sandboxed: bool = True) -> tuple[bool, list[str]]:
    """(can every worker grade as this machine would?, report lines): one thread each,
    the sandbox usable there, the same versions and code as here."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    lines = [f"cluster: {client.scheduler.address}, {len(workers)} worker(s)"]
    if not workers:
        return False, [*lines, "  [FAIL] no workers: start them with `dask worker "
                       f"{client.scheduler.address} --nworkers N --nthreads 1`"]
    here = fingerprint()
    ok, scheduler_line = scheduler_matches(client, here)
    lines.append(scheduler_line)
    reports = client.run(worker_report, sandboxed, on_error="return")
    for address in sorted(workers):
        problems = worker_problems(workers[address], reports.get(address, "no answer"), here,
                                   sandboxed)
        ok = ok and not problems
        what = "sandbox usable, " if sandboxed else ""
        lines.append(f"  [ok] {address}: one thread, {what}same versions and code"
                     if not problems else f"  [FAIL] {address}: " + "; ".join(problems))
    return ok, lines


def scheduler_matches(client, here: dict) -> tuple[bool, str]:
    """(does the scheduler run this code?, its report line). The scheduler unpickles every
    task, so it needs the course's environment too; one that does not have it would fail
    each task while deserializing it."""
    try:
        there = client.run_on_scheduler(fingerprint)
    except Exception as err:  # noqa: BLE001  (reported: it cannot import this code)
        first = (str(err).strip().splitlines() or [""])[0][:200]
        return False, (f"  [FAIL] scheduler: cannot run the course's code ({type(err).__name__}"
                       f": {first}); start it from the course's environment")
    problems = differences(here, there) if isinstance(there, dict) else ["no fingerprint"]
    if problems:
        return False, "  [FAIL] scheduler: " + "; ".join(problems)
    return True, "  [ok] scheduler: same versions and code"


def check(client, sandboxed: bool = True) -> None:
    """ClusterUnavailable, with the report, unless every worker matches."""
    ok, lines = survey(client, sandboxed)
    if not ok:
        raise ClusterUnavailable("the Dask cluster does not match this machine; nothing "
                                 "was graded (`course doctor --scheduler ...` checks it):\n"
                                 + "\n".join(lines))


# ------------------------------------------------------------------ one run


def outcome(future, result):
    """A finished future's Job, or the exception that is the notebook's failure
    (:class:`WorkersDied` for Dask's ``KilledWorker``). A cancelled future (the scheduler
    or the client is gone), a worker that does not match (:class:`WorkerMismatch`, one that
    joined after the check) or a task that could not be unpickled is ClusterUnavailable: the
    cluster's fault, not the notebook's, so the run stops and nothing is zeroed for it."""
    from distributed import KilledWorker

    if future.status == "finished" or isinstance(result, Job):
        # (a result already gathered stays good when its worker dies afterwards: the
        # future's status then turns to "lost", and Dask would compute it again)
        return result
    if future.status == "error":
        err = result[1] if isinstance(result, tuple) else result
        if isinstance(err, KilledWorker):
            last = getattr(err.last_worker, "address", err.last_worker)
            return WorkersDied(f"the Dask workers grading it died {err.allowed_failures + 1} "
                               f"times (killed, out of memory or lost; last {last}): not "
                               "retried again")
        if isinstance(err, WorkerMismatch) or "deserializ" in str(err):
            # the cluster, not the notebook: stop, zero nothing (a rerun grades the rest)
            first = (str(err).strip().splitlines() or [""])[0][:300]
            raise ClusterUnavailable(
                f"a worker could not grade ({type(err).__name__}: {first}); the run stopped, "
                "what was saved stays saved: check the cluster with `course doctor "
                "--scheduler ...`, then run `course grade` again (it grades the rest)")
        return err if isinstance(err, BaseException) else RuntimeError(str(err))
    raise ClusterUnavailable(f"the Dask scheduler was lost ({future.status}): the run "
                             "stopped; what was saved stays saved, run `course grade` again")


class ClusterRun:
    """One ``course grade`` on a cluster: connect and check the workers, send the
    assignment once, each notebook as it is sanitized (:meth:`submit`), and hand back each
    outcome as it arrives (:meth:`finished`)."""

    def __init__(self, address: str, course: Course, assignment: str, limits: Limits,
                 config):
        self.config, self.token = config, uuid.uuid4().hex[:8]
        self.client = connect(address)
        try:
            check(self.client, limits.sandbox)
            self.bundle = pack_bundle(course, assignment, config, limits)
            # a task, not scattered data: if every worker holding it dies, it is made again
            self.bundle_future = self.client.submit(
                _same, self.bundle, key=f"assignment-{assignment}-{self.token}", pure=False)
        except BaseException:
            self.client.close()
            raise
        from distributed import as_completed

        self.futures: dict = {}  # sent and not yet handed back: cancelled by close()
        self.ready: list[Job] = []  # notebooks no worker needs to see (unusable)
        self.sent = 0  # tasks sent in this run: the last part of each task's key
        self.arrived = as_completed([], loop=self.client.loop, with_results=True,
                                    raise_errors=False)

    def __enter__(self) -> ClusterRun:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def submit(self, job: Job) -> None:
        """Sanitize ``job`` here (it reads the gradebook) and send it as a task; a notebook
        that cannot be used is done at once (zero, with the reason)."""
        nb = sanitize(job, self.config) if job.usable else None
        try:
            task = pack_task(job, nb, self.bundle) if nb is not None else None
        except Exception as err:  # noqa: BLE001  (this notebook only: an unreadable file)
            fail(job, "grading", err)
            task = None
        if task is None:
            self.ready.append(job)
            return
        r = job.result
        self.sent += 1
        key = f"grade-{r.student}-{r.notebook}-{self.token}-{self.sent}"
        future = self.client.submit(run_task, self.bundle_future, task, key=key, pure=False)
        self.futures[future] = job
        self.arrived.add(future)

    @property
    def waiting(self) -> int:
        """Notebooks submitted and not yet handed back."""
        return len(self.ready) + len(self.futures)

    def finished(self, wait: float = 0):
        """(job, its graded Job or the exception that failed it) for each notebook back
        since the last call; if none is, waits up to ``wait`` seconds for one."""
        if self.ready:
            yield from self._take_ready()
            wait = 0  # something was handed back: no need to wait for more
        deadline = time.monotonic() + wait
        while self.futures and not self.arrived.has_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        for future, result in self.arrived.next_batch(block=False):
            yield self._handed_back(future, result)

    def _take_ready(self):
        ready, self.ready = self.ready, []
        for job in ready:
            yield job, job

    def _handed_back(self, future, result):
        job = self.futures.pop(future)
        back = outcome(future, result)
        future.release()
        return job, (merge(job, back) if isinstance(back, Job) else back)

    def close(self) -> None:
        """Cancel what is left (an interrupted run) and disconnect."""
        try:
            if self.futures:
                self.client.cancel(list(self.futures))
        finally:
            self.client.close()


def _same(x):
    return x


__all__ = ["ClusterRun", "ClusterUnavailable", "WorkerMismatch", "WorkersDied", "check",
           "connect", "scheduler_address", "survey"]
