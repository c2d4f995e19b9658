"""A worker process: sanitize, execute and post-process one notebook at a time.

Workers never write the gradebook (they read it to sanitize); the coordinator does. A Dask
worker (:mod:`autograder.grade.tasks`) gets the notebook already sanitized and runs the
same :func:`execute_and_postprocess`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings

from sqlalchemy.exc import SAWarning

from autograder.core.course import Course
from autograder.grade.gradebook import shared_engines
from autograder.grade.jobs import Job, fail
from autograder.grade.schema import cached_schema_validation
from autograder.grade.steps import postprocess, sanitize
from autograder.run import trusted
from autograder.run.execute import execute_submission
from autograder.run.kernels import close_pool, kernel_pool
from autograder.run.plan import TestPlan, test_plan
from autograder.sandbox.limits import Limits

WORKER_CONFIG = None  # this worker's nbgrader configuration (set by init_worker)
WORKER_CONTEXT = contextlib.ExitStack()  # what init_worker keeps open for the worker's life


def init_worker(root: str, coordinator: int | None = None) -> None:
    """Once per worker: the course configuration, and what is shared across its jobs;
    with ``coordinator`` (its process id), the worker ends when that process is gone."""
    global WORKER_CONFIG
    WORKER_CONFIG = Course.at(root).config()
    from multiprocessing import util

    util.Finalize(None, trusted.close_server, exitpriority=10)  # atexit does not run here
    # for the life of the worker (kept referenced: a collected context would end at once)
    WORKER_CONTEXT.enter_context(shared_engines())
    WORKER_CONTEXT.enter_context(cached_schema_validation())
    warnings.simplefilter("ignore", SAWarning)
    if coordinator is not None:
        end_with_coordinator(coordinator)


def end_with_coordinator(coordinator: int, interval: float = 1.0) -> None:
    """A thread that ends this worker, its spare kernels and its trusted process once the
    coordinator that started it is gone (killed: SIGKILL, the out-of-memory killer, a
    closed terminal). Nothing would save what the worker grades, and it would slow down
    the next run on the machine: a pool's workers outlive a coordinator that is killed."""

    def watch() -> None:
        while os.getppid() == coordinator:
            time.sleep(interval)
        with contextlib.suppress(Exception):
            trusted.close_server()
            close_pool()
        os._exit(1)

    threading.Thread(target=watch, name="end-with-coordinator", daemon=True).start()


def warm_up(limits: Limits, course_lib: str = "") -> None:
    """Worker: start the kernels ahead of the first submission."""
    kernel_pool(limits, ahead=1, course_lib=course_lib).fill()
    time.sleep(0.05)  # one warm-up task per worker, not all on the first one


def execute_job(job: Job, limits: Limits, config=None) -> Job:
    """Worker: sanitize, execute, post-process and check one notebook. Any exception is
    this notebook's failure (zero, with the reason), never the run's."""
    try:
        return grade_notebook(job, limits, config)
    except Exception as err:  # noqa: BLE001
        fail(job, "grading", err)
        return job


def grade_notebook(job: Job, limits: Limits, config=None) -> Job:
    """The steps of :mod:`autograder.grade.steps` that run in a worker, in order."""
    config = config if config is not None else WORKER_CONFIG
    start = time.monotonic()
    nb = sanitize(job, config) if job.usable else None
    if nb is None:
        return job
    return execute_and_postprocess(job, nb, test_plan(job.source), limits, config, start)


def execute_and_postprocess(job: Job, nb, plan: TestPlan, limits: Limits, config,
                            start: float) -> Job:
    """Steps 2 and 3 on the sanitized notebook ``nb``, in the submission's folder
    ``job.resources["metadata"]["path"]`` (its data files); the same for a local worker and
    a Dask worker (:mod:`autograder.grade.tasks`). ``start``: when grading it began."""
    res = execute_submission(nb, limits, job.resources["metadata"]["path"], config,
                             plan=plan, course_lib=job.course_lib)
    job.result.reasons += res.reasons
    job.result.runtime = time.monotonic() - start
    postprocess(job, res.nb, config)
    return job
