"""A submitted notebook as a task for a Dask worker: everything the worker needs, as data.

A worker of a cluster (:mod:`autograder.grade.cluster`) has the course's Python environment
(the same autograder, course_lib, numpy and nbgrader, checked before grading:
:mod:`autograder.grade.versions`) but no copy of the course, no shared filesystem and no
access to the gradebook. So the coordinator sends

- once per run, the assignment (:class:`Bundle`): each source notebook's text (the worker
  takes the tests from it: :func:`autograder.run.plan.plan_from_text`), the assignment's data
  files as bytes, the ``course_lib`` names the assignment withholds (the worker writes its
  own restricted copy of course_lib from them: :func:`restricted_copy`), the configuration of
  the steps a worker runs (never the gradebook's URL), the limits and the coordinator's
  fingerprint;
- per submitted notebook (:class:`Task`): the notebook, already sanitized by the coordinator
  (sanitizing reads the gradebook, :func:`autograder.grade.steps.sanitize`), and the files of
  the submission's folder that are not the assignment's (its ``timestamp.txt``).

The worker (:func:`run_task`) lays the files out in a scratch folder of its own and runs the
same steps as a local worker (:func:`autograder.grade.workers.execute_and_postprocess`): the
student's cells in the bubblewrap sandbox under the same limits, the tests in the trusted
process. It returns the :class:`~autograder.grade.jobs.Job`: the executed and post-processed
notebook's text and the reasons; the coordinator saves it (:func:`merge`).

Nothing here imports dask: this module is the data and the function; :mod:`.cluster` sends
them.
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import nbformat
from nbgrader.preprocessors import CheckCellMetadata
from traitlets.config import Config

from autograder.core.course import Course
from autograder.grade.jobs import Job, fail
from autograder.grade.schema import cached_schema_validation
from autograder.grade.steps import POSTPROCESS
from autograder.grade.submissions import assignment_files
from autograder.grade.versions import differences, fingerprint
from autograder.run.plan import assignment_preload, plan_from_text
from autograder.sandbox.limits import Limits
from autograder.sandbox.withhold import declared, restricted_copy


@dataclass
class Bundle:
    """What every notebook of one assignment needs on a worker (sent once per run)."""

    assignment: str
    sources: dict[str, str]  # notebook name -> the source notebook's text (its tests)
    files: dict[str, bytes]  # the assignment's data files, by relative path (POSIX)
    withheld: tuple[str, ...]  # the course_lib names the assignment withholds
    config: dict  # nbgrader configuration of the worker's steps (no gradebook URL)
    limits: Limits
    coordinator: dict[str, str] = field(default_factory=dict)  # its versions.fingerprint()

    @functools.cached_property
    def preload(self) -> tuple[str, ...]:
        """What the trusted server imports once (what the instructor's cells import)."""
        return assignment_preload(self.sources[name] for name in sorted(self.sources))


@dataclass
class Task:
    """One submitted notebook on its way to a worker and back."""

    job: Job  # no paths of the coordinator's machine, no gradebook URL
    notebook: str  # the sanitized notebook (nbformat JSON)
    files: dict[str, bytes] = field(default_factory=dict)  # the folder's own files, by path


# ------------------------------------------------------------------ the coordinator's side


def worker_config(config: Config) -> dict:
    """The sections of ``config`` that configure what a worker runs (nbgrader's ``Execute``,
    the post-processing preprocessors and their base classes): nothing else of
    ``nbgrader_config.py`` leaves the coordinator, least of all the gradebook's URL."""
    from autograder.run.execute import CourseExecute

    names = {c.__name__ for cls in (CourseExecute, *POSTPROCESS, CheckCellMetadata)
             for c in cls.mro()}
    return {name: copy.deepcopy(dict(section)) for name, section in config.items()
            if name in names}


def withheld_names(sources: dict[str, str]) -> tuple[str, ...]:
    """The course_lib names the notebooks' first cells withhold (ValueError as in
    :func:`autograder.sandbox.withhold.declared`)."""
    names = set()
    for name in sorted(sources):
        names.update(declared(json.loads(sources[name])))
    return tuple(sorted(names))


def pack_bundle(course: Course, assignment: str, config: Config, limits: Limits) -> Bundle:
    """The assignment as data. A withheld name course_lib does not have is a ValueError
    here, before anything is sent (the restricted copy is written once, then discarded)."""
    folder = course.source / assignment
    sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.ipynb"))}
    files = {rel.as_posix(): path.read_bytes()
             for rel, path in assignment_files(course, assignment).items()}
    withheld = withheld_names(sources)
    if withheld:
        with tempfile.TemporaryDirectory(prefix="course-lib-check-") as scratch:
            restricted_copy(withheld, Path(scratch))
    return Bundle(assignment, sources, files, withheld, worker_config(config), limits,
                  fingerprint())


def folder_files(folder: str) -> dict[str, bytes]:
    """The data files of a submission's folder (what the kernel's scratch folder gets: no
    notebooks, no symbolic links), by relative path."""
    root = Path(folder)
    if not folder or not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb"}


def travel_copy(job: Job) -> Job:
    """``job`` as it travels: no paths of this machine, no gradebook URL."""
    resources = copy.deepcopy(job.resources)
    resources.get("nbgrader", {}).pop("db_url", None)
    resources.setdefault("metadata", {})["path"] = ""
    return replace(job, result=copy.deepcopy(job.result), path="", resources=resources,
                   source="", course_lib="")


def pack_task(job: Job, nb, bundle: Bundle) -> Task:
    """The sanitized notebook ``nb`` of ``job`` as a task; the files of its folder that are
    not the assignment's go with it."""
    own = {rel: data for rel, data in folder_files(job.resources["metadata"]["path"]).items()
           if rel not in bundle.files}
    return Task(travel_copy(job), nbformat.writes(nb), own)


def merge(job: Job, back: Job) -> Job:
    """The coordinator's ``job`` with what the worker found (the grading, the notebook)."""
    job.result, job.nb_json, job.usable = back.result, back.nb_json, back.usable
    return job


# ------------------------------------------------------------------ the worker's side


class WorkerMismatch(RuntimeError):
    """This worker's environment is not the coordinator's: it does not grade."""


_ONE_AT_A_TIME = threading.Lock()  # one kernel pool and trusted server per process
_LIBS: dict[tuple[str, ...], str] = {}  # withheld names -> this worker's restricted copy
_STARTED: list[bool] = []


def _once_per_process() -> None:
    """Stop the trusted server when the worker process ends (as a local worker does)."""
    if _STARTED:
        return
    import atexit
    from multiprocessing import util

    from autograder.run import trusted

    util.Finalize(None, trusted.close_server, exitpriority=10)  # a nanny's worker process
    atexit.register(trusted.close_server)
    _STARTED.append(True)


def restricted_lib(withheld: tuple[str, ...]) -> str:
    """This worker's copy of course_lib without ``withheld`` (written once per set of
    names; "" when nothing is withheld)."""
    if not withheld:
        return ""
    if withheld not in _LIBS:
        import atexit
        import shutil

        scratch = tempfile.mkdtemp(prefix="course-lib-")
        atexit.register(shutil.rmtree, scratch, True)
        _LIBS[withheld] = str(restricted_copy(withheld, Path(scratch)))
    return _LIBS[withheld]


def write_files(files: dict[str, bytes], dest: Path) -> None:
    """``files`` (relative POSIX paths, checked) into ``dest``."""
    for rel, data in files.items():
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise ValueError(f"not a relative path inside the submission's folder: {rel!r}")
        target = dest.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def check_worker(bundle: Bundle) -> None:
    """WorkerMismatch when this worker's fingerprint is not the coordinator's (a worker
    that joined after the cluster was checked)."""
    diff = differences(bundle.coordinator, fingerprint()) if bundle.coordinator else []
    if diff:
        raise WorkerMismatch("this worker's environment differs from the coordinator's: "
                             + "; ".join(diff))


def run_task(bundle: Bundle, task: Task) -> Job:
    """Worker: execute and post-process one sanitized notebook; the job comes back with the
    notebook's text and the reasons. Any failure is this notebook's (zero, with the
    reason), never the run's; a mismatched worker raises :class:`WorkerMismatch`."""
    from autograder.grade.workers import execute_and_postprocess
    from autograder.run.kernels import kernel_pool

    check_worker(bundle)
    _once_per_process()
    job, start = task.job, time.monotonic()
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="course-task-") as folder, \
            cached_schema_validation():
        try:
            write_files({**bundle.files, **task.files}, Path(folder))
            job.resources["metadata"]["path"] = folder
            job.course_lib = restricted_lib(bundle.withheld)
            name = job.result.notebook
            if name not in bundle.sources:
                raise ValueError(f"no source notebook {name}.ipynb: its tests cannot run")
            plan = plan_from_text(bundle.sources[name], bundle.preload)
            kernel_pool(bundle.limits, ahead=1, course_lib=job.course_lib)  # one booting ahead
            nb = nbformat.reads(task.notebook, as_version=4)
            execute_and_postprocess(job, nb, plan, bundle.limits, Config(bundle.config), start)
        except Exception as err:  # noqa: BLE001  (this notebook only)
            fail(job, "grading", err)
        finally:
            job.resources["metadata"]["path"] = ""  # a path of this machine
            job.course_lib = ""
    return job
