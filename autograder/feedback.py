"""``course feedback``: one HTML page per student with scores and failure messages.

A page shows, per question, the points, and for a failed test the exception type and
message (a ``course_lib.checks`` message names a known mistake); never the source of a
test cell and never a traceback. Pages go to ``feedback/<student>/<assignment>/``.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from autograder.course import Course
from autograder.results import Submission, load_results, write_text

STYLE = """body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;
text-align:left;vertical-align:top}.ok{color:#0072B2}.bad{color:#D55E00}
pre{white-space:pre-wrap;margin:0}"""


def question_label(grade_id: str) -> str:
    """``test_gd_step`` -> ``gd_step``: the exercise a test cell checks."""
    return grade_id.removeprefix("test_")


def render(sub: Submission, title: str) -> str:
    """The feedback page of one submission (HTML, escaped)."""
    rows = []
    for q in sub.questions:
        if q.manual:
            status = "graded by hand"
        else:
            status = "passed" if q.passed else "failed"
        detail = "".join(f"<pre>{escape(m)}</pre>" for m in q.messages)
        if q.mistakes:
            detail += "".join(
                f"<p><b>Known mistake:</b> {escape(m)}</p>" for m in q.mistakes
            )
        css = "ok" if q.passed else "bad"
        rows.append(
            f"<tr><td>{escape(question_label(q.grade_id))}</td>"
            f"<td class={css}>{q.score:g} / {q.max_score:g}</td>"
            f"<td>{status}</td><td>{detail}</td></tr>"
        )
    notes = "".join(f"<li>{escape(r)}</li>" for r in sub.reasons)
    notes = f"<h2>Notes from the grader</h2><ul>{notes}</ul>" if notes else ""
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>Student <b>{escape(sub.student)}</b>: <b>{sub.score:g} / {sub.max_score:g}</b> "
        "points.</p><table><tr><th>Exercise</th><th>Points</th><th>Status</th>"
        f"<th>What went wrong</th></tr>{''.join(rows)}</table>{notes}</body></html>"
    )


def feedback(course: Course, assignment: str) -> list[Path]:
    """Write every student's page; their paths."""
    paths = []
    for sub in load_results(course, assignment):
        page = render(sub, f"Feedback on {assignment}")
        path = course.feedback / sub.student / assignment / f"{assignment}.html"
        paths.append(write_text(path, page))
    return paths
