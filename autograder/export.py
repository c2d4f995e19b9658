"""``course export``: nbgrader's ``grades.csv`` and a per-question CSV.

``grades.csv`` comes from nbgrader's own ``CsvExportPlugin`` (the same file
``nbgrader export`` writes); ``questions.csv`` has one row per student and grade cell:
points, status and the known mistakes named in the failure messages.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from autograder.course import Course
from autograder.results import load_results

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
    return dest


def graded_assignments(course: Course) -> list[str]:
    with Gradebook(course.db_url, course.course_id()) as gb:
        return sorted(a.name for a in gb.assignments)


def export_questions(course: Course, dest: Path, assignments: list[str]) -> Path:
    """One row per (assignment, student, grade cell)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, QUESTION_FIELDS)
        writer.writeheader()
        for assignment in assignments:
            for sub in load_results(course, assignment):
                for q in sub.questions:
                    status = "manual" if q.manual else ("passed" if q.passed else "failed")
                    writer.writerow({
                        "assignment": assignment, "student": sub.student,
                        "notebook": q.notebook, "question": q.grade_id, "score": q.score,
                        "max_score": q.max_score, "status": status,
                        "known_mistakes": "; ".join(q.mistakes),
                    })
    return dest


def export(course: Course, out: Path | None = None) -> tuple[Path, Path]:
    """Write ``grades.csv`` and ``questions.csv`` (into the course root by default)."""
    out = Path(out) if out else course.root
    grades = export_grades(course, out / "grades.csv")
    return grades, export_questions(course, out / "questions.csv", graded_assignments(course))
