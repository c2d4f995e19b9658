"""Reading what a student handed in, defensively: the submissions of an assignment, their
registration in the gradebook, and each notebook read and repaired where it can be.

Nothing in a student-controlled place is followed if it is a symbolic link (the submission
folders, the notebook, ``timestamp.txt``): it is rejected with a reason. An unparsable
``timestamp.txt`` is noted and the submission graded without a late penalty. A notebook
that cannot be used gets zero on every grade cell, as nbgrader does for a missing one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
from nbformat.reader import NotJSONError
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import parse_utc

from autograder.core import notebooks as nbk
from autograder.core.course import Course
from autograder.core.formats import RESULT_FILE
from autograder.grade.jobs import Job, NotebookResult, fail, resources_for
from autograder.sandbox.limits import MAX_NOTEBOOK_MB


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


def already_graded(course: Course, assignment: str, students: list[str]) -> list[str]:
    """Those of ``students`` whose submission is graded and unchanged since, as ``nbgrader
    autograde`` decides: its ``autograded/<student>/<assignment>/grading.json`` exists (it
    is written once every notebook of the submission is saved), the gradebook has the
    submission, and nothing in ``submitted/<student>/<assignment>/`` is newer than it."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        try:
            recorded = {sub.student_id for sub in gb.find_assignment(assignment).submissions}
        except MissingEntry:
            recorded = set()
    done = []
    for student in students:
        marker = course.autograded / student / assignment / RESULT_FILE
        if student not in recorded or marker.is_symlink() or not marker.is_file():
            continue
        if newest_change(course, course.submitted / student / assignment) \
                <= marker.stat().st_mtime_ns:
            done.append(student)
    return done


def newest_change(course: Course, folder: Path) -> int:
    """The latest modification time (ns) of ``folder`` and of everything in it; symbolic
    links are not followed (a linked folder counts as the link)."""
    link = linked(course, folder)
    if link is not None:
        return link.lstat().st_mtime_ns
    newest = folder.lstat().st_mtime_ns
    for root, dirs, files in os.walk(folder):  # does not descend into linked folders
        for name in dirs + files:
            newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime_ns)
    return newest


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
    for rel, path in assignment_files(course, assignment).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    if timestamp is not None:
        shutil.copy(folder / "timestamp.txt", dest / "timestamp.txt")
    return [reason] if reason else []


def assignment_files(course: Course, assignment: str) -> dict[Path, Path]:
    """The files of ``source/<assignment>/`` that every submission's folder gets (its data
    files: not notebooks, nor what ``CourseDirectory.ignore`` names), by relative path."""
    ignore = [*course.coursedir().ignore, "*.ipynb"]
    src = course.source / assignment
    return {path.relative_to(src): path for path in sorted(src.rglob("*"))
            if path.is_file() and not any(path.match(p) for p in ignore)}


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


BOM = b"\xef\xbb\xbf"


MAX_NOTEBOOK = MAX_NOTEBOOK_MB << 20  # bytes of a submitted notebook that are read at all


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
    text = _submission_text(data, notes)
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
        _source_as_text(i, cell)
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    nbk.normalize_outputs(nb)
    return nb, notes


def _submission_text(data: bytes, notes: list[str]) -> str:
    """The notebook's bytes as text: a UTF-8 byte-order mark dropped, bytes that are not
    UTF-8 replaced by U+FFFD (each repair added to ``notes``)."""
    if data.startswith(BOM):
        data = data[len(BOM):]
        notes.append("repaired: a UTF-8 byte-order mark was removed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        bad = text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")
        notes.append(f"repaired: {bad} invalid UTF-8 sequence(s) replaced by U+FFFD")
        return text


def _source_as_text(i: int, cell) -> None:
    """Cell ``i``'s ``source`` as one string, in place (a list of strings is joined);
    ``ValueError`` if the cell is not an object or its source is not text."""
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


def failed_jobs(course: Course, assignment: str, student: str, err: Exception) -> list[Job]:
    """Unusable jobs for a submission whose registration failed (zero, with the reason)."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
    dest = course.autograded / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    (dest / RESULT_FILE).unlink(missing_ok=True)  # not graded until its notebooks are saved
    jobs = []
    for notebook in notebook_names(course, assignment):
        job = Job(NotebookResult(student, assignment, notebook), "",
                  resources_for(course, assignment, student, notebook), usable=False)
        fail(job, "registering the submission", err)
        jobs.append(job)
    return jobs
