"""``course grade``: nbgrader's autograde, with execution fanned out to worker processes.

The steps per submission are nbgrader's own, in nbgrader's order:

1. register (main process): the student and the submission in the gradebook, with the
   timestamp from ``timestamp.txt``; copy the assignment's non-notebook files.
2. sanitize (main): ``ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
   CheckCellMetadata`` -- the locked test cells, hidden tests included, come back from the
   gradebook's source version.
3. execute (worker process, one per core): :func:`autograder.execute.execute_submission`
   runs the student's cells in a sandboxed kernel and every test cell in the trusted
   process (:mod:`autograder.trusted`), then ``IgnoreWarnings`` (ours), ``IgnorePattern,
   ClearMetadataPreprocessor, LimitOutput``. ``CheckCellMetadata`` runs here too (sanitize
   and after executing), in the worker.
4. save (main, the only process that writes the gradebook): ``SaveAutoGrades,
   AssignLatePenalties, CheckCellMetadata``; write ``autograded/<student>/<assignment>/``
   and ``grading.json`` (run time and the reasons for anything that went wrong).

A notebook that cannot be used (malformed JSON, missing) gets zero on every grade cell, as
nbgrader does for a missing notebook, and the reason is recorded; it never stops the others.
An exception in any per-submission step is that submission's failure, with the reason.
What can be read is read (:func:`read_submission`: a byte-order mark, bytes that are not
UTF-8 and a missing top-level ``metadata`` are repaired, and noted). Nothing in a
student-controlled place is followed if it is a symbolic link (the submission folders, the
notebook, ``timestamp.txt``): it is rejected with a reason. An unparsable ``timestamp.txt``
is noted and the submission graded without a late penalty.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.reader import NotJSONError
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from tqdm import tqdm
from traitlets import Bool

from autograder import notebooks as nbk
from autograder import plan, sandbox, trusted, withhold
from autograder.course import Course
from autograder.execute import Limits, execute_submission, kernel_pool
from autograder.gradebook import shared_engines
from autograder.schema import cached_schema_validation

SAVE = [SaveAutoGrades, AssignLatePenalties]  # CheckCellMetadata runs in the worker
RESULT_FILE = "grading.json"
# A Python warning as printed on stderr: "file:line: SomeWarning: message" + its source line.
WARNING_BLOCK = re.compile(r"^[^\n]*:\d+: \w*Warning: [^\n]*\n(?:[ \t]+[^\n]*(?:\n|$))?", re.M)


class IgnoreWarnings(NbGraderPreprocessor):
    """Drop Python warnings (e.g. numpy's RuntimeWarning) from stderr before grading.

    nbgrader gives zero to a test cell with any stderr output; only real errors should
    cost points. Other stderr text is kept (and still costs the cell its points).
    """

    enabled = Bool(True, help="Remove warnings from stderr before grading").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            kept = []
            for out in cell.outputs:
                if out.output_type == "stream" and out.name == "stderr":
                    out.text = WARNING_BLOCK.sub("", nbk.as_text(out.text))
                    if not out.text.strip():
                        continue
                kept.append(out)
            cell.outputs = kept
        return cell, resources


class DropEmptyMetadata(NbGraderPreprocessor):
    """Make the copies that ``DeduplicateIds`` emptied plain cells again.

    nbgrader keeps the last cell of a duplicated grade id and empties the ``nbgrader``
    metadata of the others, which ``CheckCellMetadata`` then rejects, so the whole notebook
    fails (nbgrader issues #1083, #1682). Without the empty dict they are ordinary cells.
    """

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.get("metadata", {}) and not cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources


SANITIZE = [ClearOutput, DeduplicateIds, DropEmptyMetadata, OverwriteKernelspec, OverwriteCells,
            CheckCellMetadata]
POSTPROCESS = [IgnoreWarnings, IgnorePattern, ClearMetadataPreprocessor, LimitOutput]


@dataclass
class NotebookResult:
    """The grading of one notebook of one submission."""

    student: str
    assignment: str
    notebook: str
    runtime: float = 0.0
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0


@dataclass
class Job:
    """One submitted notebook on its way through the steps (sent to a worker and back)."""

    result: NotebookResult
    path: str
    resources: dict
    nb_json: str = ""
    usable: bool = True
    source: str = ""
    course_lib: str = ""  # the restricted copy of course_lib the kernel imports


def resources_for(course: Course, assignment: str, student: str, notebook: str) -> dict:
    """The resources dict nbgrader's converters give their preprocessors."""
    return {
        "unique_key": notebook,
        "output_files_dir": f"{notebook}_files",
        "nbgrader": {
            "student": student, "assignment": assignment, "notebook": notebook,
            "db_url": course.db_url,
        },
        "metadata": {"path": str(course.autograded / student / assignment)},
    }


def run_preprocessors(classes, nb, resources, config):
    """Apply nbgrader/nbconvert preprocessors in order (each honours its ``enabled``)."""
    for cls in classes:
        nb, resources = cls(config=config)(nb, resources)
    return nb, resources


def find_submissions(course: Course, assignment: str, students=None) -> list[str]:
    """Students with a ``submitted/<student>/<assignment>/`` folder (optionally filtered)."""
    found = sorted(
        p.parent.name for p in course.submitted.glob(f"*/{assignment}") if p.is_dir()
    )
    if students:
        missing = sorted(set(students) - set(found))
        if missing:
            raise ValueError(f"Invalid student: no submission of {assignment} from {missing}")
        found = [s for s in found if s in set(students)]
    return found


def notebook_names(course: Course, assignment: str) -> list[str]:
    """The assignment's notebooks as recorded in the gradebook by ``course release``."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        try:
            return [nb.name for nb in gb.find_assignment(assignment).notebooks]
        except MissingEntry:
            raise ValueError(
                f"Invalid assignment: {assignment!r} is not in the gradebook; "
                f"run `course release {assignment}` first"
            ) from None


def linked(course: Course, path: Path) -> Path | None:
    """The first symbolic link on ``path`` below ``submitted/`` (None if there is none)."""
    rel = path.relative_to(course.submitted)
    for i in range(1, len(rel.parts) + 1):
        part = course.submitted.joinpath(*rel.parts[:i])
        if part.is_symlink():
            return part
    return None


def read_timestamp(folder: Path) -> tuple[object, str | None]:
    """(timestamp, None) from ``timestamp.txt`` (None if absent), or (None, reason)."""
    path = folder / "timestamp.txt"
    if path.is_symlink():
        return None, "timestamp.txt is a symbolic link: not followed; graded without a " \
                     "late penalty"
    if not path.is_file():
        return None, None
    with open(path, "rb") as handle:
        text = handle.read(200).decode("utf-8", "replace").strip()
    try:
        if not text:
            raise ValueError("empty")
        return parse_utc(text), None
    except Exception:  # noqa: BLE001  (dateutil raises several kinds)
        return None, f"timestamp.txt could not be read as a date ({text[:40]!r}): graded " \
                     "without a late penalty"


def register(course: Course, assignment: str, student: str) -> list[str]:
    """Student and submission in the gradebook; fresh ``autograded/`` folder with extra files.

    Returns notes: an unreadable or linked ``timestamp.txt`` (then no late penalty)."""
    coursedir = course.coursedir()
    folder = course.submitted / student / assignment
    timestamp, reason = (None, None) if linked(course, folder) else read_timestamp(folder)
    with Gradebook(course.db_url, course.course_id()) as gb:
        gb.update_or_create_student(student)
        extra = {"timestamp": timestamp} if timestamp else {}
        gb.update_or_create_submission(assignment, student, **extra)
    dest = course.autograded / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    src = course.source / assignment
    for path in src.rglob("*"):
        ignored = any(path.match(p) for p in [*coursedir.ignore, "*.ipynb"])
        if path.is_file() and not ignored:
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    if timestamp is not None:
        shutil.copy(folder / "timestamp.txt", dest / "timestamp.txt")
    return [reason] if reason else []


def locate(folder: Path, notebook: str, known: list[str]) -> tuple[Path | None, str | None]:
    """The submitted file for ``notebook``; a lone renamed notebook is used, with a reason."""
    path = folder / f"{notebook}.ipynb"
    if path.is_symlink():
        return None, f"{notebook}.ipynb is a symbolic link: not followed, not graded"
    if path.is_file():
        return path, None
    others = [p for p in sorted(folder.glob("*.ipynb")) if p.stem not in known]
    if len(others) == 1 and len(known) == 1:
        if others[0].is_symlink():
            return None, f"{others[0].name} is a symbolic link: not followed, not graded"
        return others[0], f"notebook renamed: {others[0].name} graded as {notebook}.ipynb"
    return None, f"no submitted file {notebook}.ipynb"


def zero(course: Course, result: NotebookResult) -> None:
    """Zero on every grade cell of the notebook, as nbgrader does for a missing notebook."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        sub = gb.find_submission_notebook(result.notebook, result.assignment, result.student)
        for grade in sub.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()


def prepare(course: Course, assignment: str, student: str) -> list[Job]:
    """Main process: register the submission; one job per notebook of the assignment."""
    notes = register(course, assignment, student)
    known = notebook_names(course, assignment)
    folder = course.submitted / student / assignment
    link = linked(course, folder)
    jobs = []
    for notebook in known:
        result = NotebookResult(student, assignment, notebook, reasons=list(notes))
        if link is not None:
            path, reason = None, (f"submission folder {link.relative_to(course.submitted)} "
                                  "is a symbolic link: not followed, not graded")
        else:
            path, reason = locate(folder, notebook, known)
        result.reasons += [reason] if reason else []
        resources = resources_for(course, assignment, student, notebook)
        jobs.append(Job(result, str(path or ""), resources, usable=path is not None,
                        source=str(course.source / assignment / f"{notebook}.ipynb")))
    return jobs


# --- worker process -------------------------------------------------------------------
_WORKER_CONFIG = None
_WORKER_CONTEXT = contextlib.ExitStack()


def _init_worker(root: str) -> None:
    global _WORKER_CONFIG
    _WORKER_CONFIG = Course.at(root).config()
    from multiprocessing import util

    util.Finalize(None, trusted.close_server, exitpriority=10)  # atexit does not run here
    # for the life of the worker (kept referenced: a collected context would end at once)
    _WORKER_CONTEXT.enter_context(shared_engines())
    _WORKER_CONTEXT.enter_context(cached_schema_validation())
    warnings.simplefilter("ignore", SAWarning)


def warm_up(limits: Limits, course_lib: str = "") -> None:
    """Worker: start the kernels ahead of the first submission."""
    kernel_pool(limits, ahead=1, course_lib=course_lib).fill()
    time.sleep(0.05)  # one warm-up task per worker, not all on the first one


BOM = b"\xef\xbb\xbf"
MAX_NOTEBOOK = 64 << 20  # bytes of a submitted notebook that are read at all


def read_submission(path: str) -> tuple[object, list[str]]:
    """The submitted notebook as version 4, and what had to be repaired to read it.

    A UTF-8 byte-order mark is dropped; bytes that are not UTF-8 are replaced by U+FFFD (in
    a comment they are harmless; elsewhere the cell fails as it would have); a missing or
    non-object top-level ``metadata`` becomes ``{}``; text fields given as lists are joined.
    Invalid JSON, a file beyond ``MAX_NOTEBOOK`` and a cell whose ``source`` is not text
    raise ``ValueError`` with the reason.
    """
    with open(path, "rb") as handle:
        data = handle.read(MAX_NOTEBOOK + 1)
    if len(data) > MAX_NOTEBOOK:
        raise ValueError(f"larger than {MAX_NOTEBOOK >> 20} MiB")
    notes = []
    if data.startswith(BOM):
        data = data[len(BOM):]
        notes.append("repaired: a UTF-8 byte-order mark was removed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        bad = text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")
        notes.append(f"repaired: {bad} invalid UTF-8 sequence(s) replaced by U+FFFD")
    try:
        raw = json.loads(text)
    except ValueError:
        raise NotJSONError("not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise ValueError("not a notebook (no list of cells)")
    if not isinstance(raw.get("metadata"), dict):
        raw["metadata"] = {}
        notes.append("repaired: the notebook had no top-level metadata")
    for i, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict):
            raise ValueError(f"cell {i + 1} is not an object")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = cell["source"] = "".join(source)
        if not isinstance(source, str):
            gid = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id") \
                if isinstance(cell.get("metadata"), dict) else None
            name = f"cell {i + 1}" + (f" ({gid})" if isinstance(gid, str) else "")
            raise ValueError(f"the source of {name} is {type(source).__name__}, not text")
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    nbk.normalize_outputs(nb)
    return nb, notes


def missing_grade_cells(nb, source_path: str) -> list[str]:
    """Grade ids of the source notebook that the submission no longer has."""
    if not Path(source_path).is_file():
        return []
    source = nbformat.read(source_path, as_version=4)
    present = {nbk.grade_id(c) for c in nb.cells}
    return [nbk.grade_id(c) for c in nbk.grade_cells(source) if nbk.grade_id(c) not in present]


def sanitize(job: Job, config):
    """nbgrader's sanitizing preprocessors (gradebook reads only); None if unusable."""
    try:
        nb, notes = read_submission(job.path)
        job.result.reasons += notes
        missing = missing_grade_cells(nb, job.source)
        if missing:
            job.result.reasons.append(
                f"grade cells missing from the submission (deleted or their metadata "
                f"removed): {', '.join(missing)}; they earn no points")
        nb, _ = run_preprocessors(SANITIZE, nb, job.resources, config)
        return nb
    except Exception as err:  # noqa: BLE001  (the notebook is unusable: zero, with reason)
        detail = "not valid JSON" if isinstance(err, NotJSONError) else str(err)[:300]
        job.result.reasons.append(f"unusable notebook: {type(err).__name__}: {detail}")
        job.usable = False
        return None


def execute_job(job: Job, limits: Limits, config=None) -> Job:
    """Worker: sanitize, execute, post-process and check one notebook. Any exception is
    this notebook's failure (zero, with the reason), never the run's."""
    try:
        return _execute_job(job, limits, config)
    except Exception as err:  # noqa: BLE001
        fail(job, "grading", err)
        return job


def fail(job: Job, step: str, err: BaseException) -> None:
    """Mark ``job`` unusable (zero on every grade cell) with the reason (first line only:
    some messages quote the cell)."""
    first = (str(err).strip().splitlines() or [""])[0]
    job.result.reasons.append(f"{step} failed: {type(err).__name__}: {first}"[:300])
    job.usable = False


def _execute_job(job: Job, limits: Limits, config=None) -> Job:
    config = config if config is not None else _WORKER_CONFIG
    start = time.monotonic()
    nb = sanitize(job, config) if job.usable else None
    if nb is None:
        return job
    tests = test_plan(job.source)
    res = execute_submission(nb, limits, job.resources["metadata"]["path"], config,
                             plan=tests, course_lib=job.course_lib)
    nbk.normalize_outputs(res.nb)
    nb, _ = run_preprocessors(POSTPROCESS, res.nb, dict(job.resources), config)
    job.result.reasons += res.reasons
    job.result.runtime = time.monotonic() - start
    try:  # nbgrader runs this check after saving; its failure is recorded, not fatal
        run_preprocessors([CheckCellMetadata], nb, dict(job.resources), config)
    except Exception as err:  # noqa: BLE001
        job.result.reasons.append(f"cell metadata: {type(err).__name__}: {err}"[:500])
    job.nb_json = nbformat.writes(nb)
    return job


@functools.lru_cache(maxsize=8)
def _preload(source_dir: str) -> tuple[str, ...]:
    """What the instructor's cells of every notebook of the assignment import."""
    names = set()
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        with contextlib.suppress(Exception):  # an unreadable notebook preloads nothing
            names.update(plan.imported_modules(nbformat.read(str(path), as_version=4)))
    return tuple(sorted(names))


def test_plan(source: str) -> plan.TestPlan:
    """How the tests of the source notebook ``source`` run (ValueError if it is missing:
    without the instructor's cells, nothing can be graded). Read again when it changes."""
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"no source notebook {path.name}: its tests cannot run")
    return _test_plan(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _test_plan(source: str, mtime_ns: int) -> plan.TestPlan:
    path = Path(source)
    return plan.TestPlan.of(nbformat.read(str(path), as_version=4), _preload(str(path.parent)))


def restricted_course_lib(course: Course, assignment: str, dest: Path) -> str:
    """A copy of course_lib without the names the assignment withholds (its notebooks' first
    cells declare them, :mod:`autograder.withhold`); "" when it withholds nothing."""
    names = set()
    for path in sorted((course.source / assignment).glob("*.ipynb")):
        names.update(withhold.declared(nbformat.read(str(path), as_version=4)))
    if not names:
        return ""
    return str(withhold.restricted_copy(sorted(names), dest))


# --- main process ----------------------------------------------------------------------
def save(course: Course, job: Job, config) -> None:
    """Record the grades (the only gradebook writes) and write the autograded notebook."""
    r = job.result
    if not job.usable:
        zero(course, r)
        return
    nb = nbformat.reads(job.nb_json, as_version=4)
    nb, _ = run_preprocessors(SAVE, nb, job.resources, config)
    nbformat.write(nb, str(course.autograded / r.student / r.assignment / f"{r.notebook}.ipynb"))


def record(course: Course, results: list[NotebookResult], sandboxed: bool = True) -> None:
    """Scores from the gradebook into each result, and ``grading.json`` per submission."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        for r in results:
            sub = gb.find_submission_notebook(r.notebook, r.assignment, r.student)
            r.score, r.max_score = float(sub.score), float(sub.max_score)
    by_student: dict[tuple, list] = {}
    for r in results:
        by_student.setdefault((r.student, r.assignment), []).append(asdict(r))
    for (student, assignment), rows in by_student.items():
        path = course.autograded / student / assignment / RESULT_FILE
        path.write_text(json.dumps({"notebooks": rows, "sandboxed": sandboxed}, indent=1))


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def grade(
    course: Course, assignment: str, students=None, jobs: int | None = None,
    limits: Limits | None = None, progress: bool = True, sandboxed: bool = True,
) -> list[NotebookResult]:
    """Grade every submission of ``assignment``; returns one result per notebook.

    Kernels run in the sandbox (:mod:`autograder.sandbox`) unless ``sandboxed=False``; a
    missing bubblewrap is an error, never a silent fallback. The tests run in the trusted
    process (:mod:`autograder.trusted`), and the kernel imports a ``course_lib`` without the
    names the assignment withholds.
    """
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise ValueError(f"Invalid jobs: {jobs} (must be >= 1)")
    if sandboxed and not sandbox.available(str(course.root)):
        raise ValueError(
            "Invalid setup: the sandbox is not usable here (bubblewrap missing or user/pid/"
            "net namespaces unavailable; see `course doctor`). Install bubblewrap, or pass "
            "--no-sandbox to grade with the instructor's rights (not recommended)")
    limits = replace(limits or Limits(cell_timeout=course.cell_timeout()), sandbox=sandboxed)
    config = course.config()
    notebook_names(course, assignment)
    students = find_submissions(course, assignment, students)
    results: list[NotebookResult] = []
    # Spawned, not forked: this process may hold ZMQ sockets and an event loop from an
    # earlier step (release runs the source notebook), which a forked child must not
    # inherit. Each worker starts its first kernel right away (``warm_up``).
    ctx = get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="course-lib-") as scratch, \
            ProcessPoolExecutor(jobs, ctx, _init_worker, (str(course.root),)) as pool, \
            warnings.catch_warnings(), shared_engines(), cached_schema_validation():
        lib = restricted_course_lib(course, assignment, Path(scratch))
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own gradebook code warns
        for future in [pool.submit(warm_up, limits, lib) for _ in range(jobs)]:
            future.result()
        futures = {}
        for student in students:
            try:
                prepared = prepare(course, assignment, student)
            except Exception as err:  # noqa: BLE001  (this submission only)
                prepared = failed_jobs(course, assignment, student, err)
            for job in prepared:
                job.course_lib = lib
                futures[pool.submit(execute_job, job, limits)] = job
        bar = tqdm(total=len(futures), desc=f"grade {assignment}", unit="nb", disable=not progress)
        for future in as_completed(futures):
            try:
                job = future.result()
            except Exception as err:  # noqa: BLE001  (the worker itself failed)
                job = futures[future]
                fail(job, "grading", err)
            try:
                save(course, job, config)
            except Exception as err:  # noqa: BLE001
                job.result.reasons.append(f"could not save grades: {type(err).__name__}: {err}")
                with contextlib.suppress(Exception):
                    zero(course, job.result)
            results.append(job.result)
            bar.update()
        bar.close()
    record(course, results, sandboxed)
    return sorted(results, key=lambda r: (r.student, r.notebook))


def failed_jobs(course: Course, assignment: str, student: str, err: Exception) -> list[Job]:
    """Unusable jobs for a submission whose registration failed (zero, with the reason)."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
    (course.autograded / student / assignment).mkdir(parents=True, exist_ok=True)
    jobs = []
    for notebook in notebook_names(course, assignment):
        job = Job(NotebookResult(student, assignment, notebook), "",
                  resources_for(course, assignment, student, notebook), usable=False)
        fail(job, "registering the submission", err)
        jobs.append(job)
    return jobs


def summary_rows(results: list[NotebookResult]) -> list[tuple]:
    """(student, score, max, seconds, reasons) per submission, for printing."""
    return [
        (r.student, r.score, r.max_score, round(r.runtime, 2), "; ".join(r.reasons))
        for r in results
    ]

