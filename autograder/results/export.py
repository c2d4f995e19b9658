"""``course export``: nbgrader's ``grades.csv`` and a per-question CSV.

``grades.csv`` comes from nbgrader's own ``CsvExportPlugin`` (the same file
``nbgrader export`` writes); ``questions.csv`` has one row per student and grade cell:
points, status and the known mistakes named in the failure messages.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula; every text cell of both files that begins so (and is not a number) is
written with a leading ``'`` (OWASP's rule against CSV injection), nbgrader's file included.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from autograder.core.course import Course
from autograder.results.load import load_results

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a spreadsheet shows it, never as a formula (numbers unchanged)."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    try:
        float(value)
        return value  # "-1.5" is a number, not a formula
    except ValueError:
        return "'" + value


def escape_csv(path: Path) -> None:
    """Rewrite the CSV file at ``path`` with every cell passed through :func:`safe_cell`."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([[safe_cell(c) for c in row] for row in rows])


QUESTION_FIELDS = [
    "assignment", "student", "notebook", "question", "score", "max_score", "status",
    "known_mistakes",
]


def export_grades(course: Course, dest: Path) -> Path:
    """nbgrader's grades.csv for every assignment and student in the gradebook."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(config=course.config())
    plugin.to = str(dest)
    with Gradebook(course.db_url, course.course_id()) as gb:
        plugin.export(gb)
    escape_csv(dest)
    return dest


def graded_assignments(course: Course) -> list[str]:
    with Gradebook(course.db_url, course.course_id()) as gb:
        return sorted(a.name for a in gb.assignments)


def export_questions(course: Course, dest: Path, assignments: list[str]) -> Path:
    """One row per (assignment, student, grade cell)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, QUESTION_FIELDS)
        writer.writeheader()
        for assignment in assignments:
            for sub in load_results(course, assignment):
                for q in sub.questions:
                    row = {
                        "assignment": assignment, "student": sub.student,
                        "notebook": q.notebook, "question": q.grade_id, "score": q.score,
                        "max_score": q.max_score, "status": q.status,
                        "known_mistakes": "; ".join(q.mistakes),
                    }
                    writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return dest


def export(course: Course, out: Path | None = None) -> tuple[Path, Path]:
    """Write ``grades.csv`` and ``questions.csv`` (into the course root by default)."""
    out = Path(out) if out else course.root
    grades = export_grades(course, out / "grades.csv")
    return grades, export_questions(course, out / "questions.csv", graded_assignments(course))
