"""What travels between the coordinator and a worker: one job per submitted notebook, and
its result."""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.core.course import Course


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


def fail(job: Job, step: str, err: BaseException) -> None:
    """Mark ``job`` unusable (zero on every grade cell) with the reason (first line only:
    some messages quote the cell)."""
    first = (str(err).strip().splitlines() or [""])[0]
    job.result.reasons.append(f"{step} failed: {type(err).__name__}: {first}"[:300])
    job.usable = False
