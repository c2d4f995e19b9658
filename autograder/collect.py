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

Nothing in SOURCE is trusted: zip members are decompressed in chunks and a member beyond
``MAX_ENTRY_BYTES`` (a "zip bomb") or one that cannot be decompressed (damaged, encrypted)
is skipped with a reason; a symbolic link in a SOURCE folder is never followed, nor one
already under ``submitted/``; the other entries are placed.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nbgrader.api import Gradebook

from autograder.core.course import Course

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
SKIP = ("__MACOSX", ".ipynb_checkpoints", ".DS_Store")
MAX_ENTRY_BYTES = 32 << 20  # a notebook, outputs included, is far smaller
CHUNK = 1 << 20


@dataclass
class CollectReport:
    placed: dict[str, str] = field(default_factory=dict)  # name in SOURCE -> destination
    rejected: dict[str, str] = field(default_factory=dict)  # name in SOURCE -> reason


class Unreadable(Exception):
    """An entry of SOURCE that is skipped; the message is the reason."""


def read_limited(handle, limit: int) -> bytes:
    """At most ``limit`` bytes from ``handle``, read in chunks; Unreadable beyond."""
    parts, size = [], 0
    while chunk := handle.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise Unreadable(f"larger than {limit >> 20} MiB once decompressed: not read")
        parts.append(chunk)
    return b"".join(parts)


def zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise Unreadable(f"larger than {limit >> 20} MiB once decompressed: not read")
    try:
        with zf.open(info) as handle:
            return read_limited(handle, limit)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            ValueError, OSError) as err:
        raise Unreadable(f"damaged or unreadable in the zip ({type(err).__name__}: "
                         f"{str(err)[:120]})") from None


def folder_entries(source: Path):
    """(relative name, path or None, reason) for every file of a folder; links not followed."""
    for root, dirs, files in os.walk(source, followlinks=False):
        for name in sorted(dirs):
            if os.path.islink(os.path.join(root, name)):
                rel = Path(root, name).relative_to(source).as_posix()
                yield rel, None, "symbolic link to a folder: not followed"
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            path = Path(root, name)
            rel = path.relative_to(source).as_posix()
            if path.is_symlink():
                yield rel, None, "symbolic link: not followed"
            elif path.is_file():
                yield rel, path, None


def read_entries(source: Path, limit: int = MAX_ENTRY_BYTES):
    """(relative path, bytes or None, reason) for every file in a folder or a zip; an entry
    that cannot be read safely has no bytes and the reason."""
    if source.is_file() and not source.is_symlink() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                try:
                    yield info.filename, zip_member(zf, info, limit), None
                except Unreadable as err:
                    yield info.filename, None, str(err)
        return
    if source.is_dir() and not source.is_symlink():
        for rel, path, reason in folder_entries(source):
            if path is None:
                yield rel, None, reason
                continue
            try:
                with path.open("rb") as handle:
                    yield rel, read_limited(handle, limit), None
            except (Unreadable, OSError) as err:
                yield rel, None, str(err)
        return
    if source.is_symlink():
        raise ValueError(f"Invalid source: {source} is a symbolic link (not followed)")
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


def collect(course: Course, source: str | Path, assignment: str | None = None,
            limit: int = MAX_ENTRY_BYTES) -> CollectReport:
    """Place every notebook of SOURCE; register students; report what was not placed."""
    known = course.assignments() or sorted(p.name for p in course.release.glob("*"))
    if assignment is not None and assignment not in known:
        raise ValueError(f"Invalid assignment: {assignment!r} (known: {known})")
    report, seen = CollectReport(), {}
    for name, data, problem in read_entries(Path(source), limit):
        if any(part in SKIP for part in PurePosixPath(name).parts):
            continue
        ident, reason = (None, problem) if data is None else identify(name, known, assignment)
        if ident is None:
            report.rejected[name] = reason
            continue
        if ident in seen:
            report.rejected[name] = f"duplicate submission of {ident[1]} by {ident[0]} " \
                                    f"(kept {seen[ident]})"
            continue
        student, assign = ident
        dest = course.submitted / student / assign / f"{assign}.ipynb"
        link = next((p for p in [course.submitted / student, dest.parent, dest]
                     if p.is_symlink()), None)
        if link is not None:
            report.rejected[name] = f"{link.relative_to(course.root)} is a symbolic link: " \
                                    "not followed, not written"
            continue
        seen[ident] = name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        report.placed[name] = str(dest.relative_to(course.root))
    with Gradebook(course.db_url, course.course_id()) as gb:
        for student, _ in seen:
            gb.update_or_create_student(student)
    return report
