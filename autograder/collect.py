"""``course collect SOURCE``: place submitted notebooks into ``submitted/``.

SOURCE is a folder or a zip (as an LMS exports it). A notebook is placed at
``submitted/<student>/<assignment>/<assignment>.ipynb`` when its student and assignment are
known:

* student: the first folder of its path inside SOURCE, or else the part of the file name
  before the first ``_`` (``s042_ps1.ipynb``, ``s042.ipynb``);
* assignment: ``--assignment``, or else the released assignment whose name occurs in the
  path.

The students are registered in the gradebook. Every file that could not be placed is
reported with the reason (not a notebook, no student id, unknown assignment, duplicate).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nbgrader.api import Gradebook

from autograder.course import Course

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
SKIP = ("__MACOSX", ".ipynb_checkpoints", ".DS_Store")


@dataclass
class CollectReport:
    placed: dict[str, str] = field(default_factory=dict)  # name in SOURCE -> destination
    rejected: dict[str, str] = field(default_factory=dict)  # name in SOURCE -> reason


def read_entries(source: Path) -> dict[str, bytes]:
    """Relative path -> bytes, for every file in a folder or a zip."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    if source.is_dir():
        return {p.relative_to(source).as_posix(): p.read_bytes()
                for p in sorted(source.rglob("*")) if p.is_file()}
    raise ValueError(f"Invalid source: {source} is neither a folder nor a zip file")


def identify(name: str, assignments: list[str], assignment: str | None):
    """(student, assignment) for a path inside SOURCE, or (None, reason)."""
    path = PurePosixPath(name)
    if path.suffix != ".ipynb":
        return None, "not a notebook (.ipynb)"
    student = path.parts[0] if len(path.parts) > 1 else path.stem.split("_")[0]
    if not STUDENT_ID.match(student):
        return None, f"no student id in the name (got {student!r})"
    if assignment is None:
        found = [a for a in assignments if a in name]
        if len(found) != 1:
            return None, ("no known assignment in the name" if not found
                          else f"ambiguous assignment {found}")
        assignment = found[0]
    return (student, assignment), None


def collect(course: Course, source: str | Path, assignment: str | None = None) -> CollectReport:
    """Place every notebook of SOURCE; register students; report what was not placed."""
    known = course.assignments() or sorted(p.name for p in course.release.glob("*"))
    if assignment is not None and assignment not in known:
        raise ValueError(f"Invalid assignment: {assignment!r} (known: {known})")
    report, seen = CollectReport(), {}
    for name, data in read_entries(Path(source)).items():
        if any(part in SKIP for part in PurePosixPath(name).parts):
            continue
        ident, reason = identify(name, known, assignment)
        if ident is None:
            report.rejected[name] = reason
            continue
        if ident in seen:
            report.rejected[name] = f"duplicate submission of {ident[1]} by {ident[0]} " \
                                    f"(kept {seen[ident]})"
            continue
        seen[ident] = name
        student, assign = ident
        dest = course.submitted / student / assign / f"{assign}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        report.placed[name] = str(dest.relative_to(course.root))
    with Gradebook(course.db_url, course.course_id()) as gb:
        for student, _ in seen:
            gb.update_or_create_student(student)
    return report
