"""Per-question results of a graded assignment, read from the gradebook and ``autograded/``.

Shared by ``feedback``, ``export`` and ``report``. A failure message is the exception's
type and message only (never a traceback, which would quote test code), and any line of a
hidden test that still appears in it is redacted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.core import notebooks as nbk
from autograder.core.course import Course
from autograder.core.formats import RESULT_FILE

REDACTED = "[hidden test code]"


@dataclass
class Question:
    """One grade cell of one student's notebook."""

    student: str
    notebook: str
    grade_id: str
    score: float
    max_score: float
    manual: bool = False
    missing: bool = False  # the grade cell is not in the submitted notebook (deleted)
    pending: bool = False  # graded by hand, and not graded yet
    messages: list[str] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.manual and not self.missing and self.score >= self.max_score

    @property
    def status(self) -> str:
        if self.missing:
            return "missing"
        return "manual" if self.manual else ("passed" if self.passed else "failed")


@dataclass
class Submission:
    """One student's graded assignment."""

    student: str
    assignment: str
    questions: list[Question]
    runtime: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)


def redact(text: str, hidden: set[str]) -> str:
    """``text`` with every line that quotes one of the ``hidden`` lines replaced."""
    lines = text.splitlines() or [text]
    return "\n".join(
        REDACTED if any(h and h in line for h in hidden) else line for line in lines
    )


def failure_messages(cell, hidden: set[str]) -> list[str]:
    """'Type: message' for each error of a cell; a note when it wrote to stderr."""
    messages = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            evalue = (out.get("evalue") or "").strip() or "(no message)"
            messages.append(redact(f"{out.get('ename')}: {evalue}", hidden))
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            messages.append("The cell wrote to stderr, which nbgrader counts as a failure.")
    return messages


MIN_SECRET = 12  # shorter lines (")", "else:", "x = 1") are not distinctive


def hidden_lines(course: Course, assignment: str, notebook: str) -> set[str]:
    """Distinctive hidden-test lines: at least ``MIN_SECRET`` long, and not part of a
    visible line (a fragment such as ``dtype=float)`` that the student can read anyway
    reveals nothing, and would redact a visible message that contains it)."""
    path = course.source / assignment / f"{notebook}.ipynb"
    if not path.exists():
        return set()
    nb = nbk.read(path)
    public = public_lines(course, assignment, notebook)
    return {h for h in nbk.hidden_test_lines(nb)
            if len(h) >= MIN_SECRET and not any(h in line for line in public)}


def public_lines(course: Course, assignment: str, notebook: str) -> set[str]:
    """The lines of the notebook a student sees (outside solutions and hidden tests)."""
    path = course.source / assignment / f"{notebook}.ipynb"
    if not path.exists():
        return set()
    return {ln.strip() for cell in nbk.read(path).cells for ln in nbk.outside(cell.source)}


def load_submission(course: Course, assignment: str, student: str, gb) -> Submission:
    """Scores from the gradebook, messages from the autograded notebooks."""
    folder = course.autograded / student / assignment
    info = json.loads((folder / RESULT_FILE).read_text()) if (folder / RESULT_FILE).exists() \
        else {"notebooks": []}
    sub = Submission(student, assignment, [])
    for row in info["notebooks"]:
        sub.runtime += row["runtime"]
        sub.reasons += row["reasons"]
    for nb_entry in gb.find_assignment(assignment).notebooks:
        hidden = hidden_lines(course, assignment, nb_entry.name)
        path = folder / f"{nb_entry.name}.ipynb"
        cells = None
        if path.exists():
            cells = {nbk.grade_id(c): c for c in nbk.read(path).cells if nbk.grade_id(c)}
        for cell in nb_entry.grade_cells:
            grade = gb.find_grade(cell.name, nb_entry.name, assignment, student)
            missing = cells is not None and cell.name not in cells
            q = Question(student, nb_entry.name, cell.name, float(grade.score or 0),
                         float(grade.max_score), manual=not missing and (
                             cell.cell_type == "markdown" or bool(grade.needs_manual_grade)),
                         missing=missing)
            q.pending = q.manual and bool(grade.needs_manual_grade)
            if cells and cell.name in cells and q.score < q.max_score:
                q.messages = failure_messages(cells[cell.name], hidden)
                q.mistakes = [m for msg in q.messages for m in nbk.known_mistakes(msg)]
            sub.questions.append(q)
    return sub


def load_results(course: Course, assignment: str) -> list[Submission]:
    """Every graded submission of ``assignment``, sorted by student id."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            raise ValueError(f"Invalid assignment: {assignment!r} is not in the gradebook") \
                from None
        students = sorted(s.student.id for s in subs)
        return [load_submission(course, assignment, s, gb) for s in students]


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
