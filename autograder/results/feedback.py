"""``course feedback``: one HTML page per student with scores and failure messages.

A page shows, per question, the points, and for a failed test the exception type and
message (a ``course_lib.checks`` message names a known mistake); never the source of a
test cell and never a traceback. Pages go to ``feedback/<student>/<assignment>/``.
Everything a student wrote that reaches a page (messages, known mistakes, notes) is
redacted; a page that still fails the leak check is not written, and only that page.
"""

from __future__ import annotations

from html import escape, unescape
from pathlib import Path

from autograder.core import notebooks as nbk
from autograder.core.course import Course
from autograder.results.html import STYLE, question_label
from autograder.results.load import (
    Submission,
    hidden_lines,
    load_results,
    public_lines,
    redact,
    write_text,
)

MAX_MESSAGE = 1500  # characters of one failure message shown to a student
# The region markers would show where, and how long, the hidden tests are.
MARKERS = frozenset({nbk.BEGIN_HIDDEN, nbk.END_HIDDEN})


class LeakError(RuntimeError):
    """Hidden-test text is about to reach a student (``written``: the other pages,
    written; ``withheld``: the pages that were not)."""

    def __init__(self, message: str, written=(), withheld=()):
        super().__init__(message)
        self.written, self.withheld = list(written), list(withheld)


def all_hidden_lines(course: Course) -> set[str]:
    """Distinctive hidden-test lines of every assignment in ``source/``, and the markers."""
    public = {ln for a in course.assignments() for ln in public_lines(course, a, a)}
    hidden = {h for a in course.assignments() for h in hidden_lines(course, a, a)}
    # a fragment a student can read in some assignment reveals nothing
    return {h for h in hidden if not any(h in line for line in public)} | MARKERS


def check_no_leak(text: str, hidden: set[str], where: str) -> None:
    """Raise LeakError if ``text`` (or its HTML-unescaped form) quotes a hidden line."""
    plain = unescape(text)
    leaked = sorted(h for h in hidden if h in text or h in plain)
    if leaked:
        raise LeakError(f"hidden-test text would reach a student in {where}: "
                        f"{len(leaked)} line(s), e.g. {leaked[0][:80]!r}; not written")


def shown(text: str, hidden: set[str]) -> str:
    """A message or grader note as a student sees it: redacted, capped."""
    text = redact(text, hidden | MARKERS)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " [...]"


def render(sub: Submission, title: str, hidden: set[str] = frozenset()) -> str:
    """The feedback page of one submission (HTML, escaped); messages and notes redacted
    with ``hidden`` lines and the hidden-test markers, and capped."""
    rows = []
    for q in sub.questions:
        if q.missing:
            status = "missing: this cell was deleted from your notebook, so it was not graded"
        elif q.pending:
            status = "graded by hand: not graded yet"
        elif q.manual:
            status = "graded by hand"
        else:
            status = "passed" if q.passed else "failed"
        detail = "".join(f"<pre>{escape(shown(m, hidden))}</pre>" for m in q.messages)
        if q.mistakes:
            detail += "".join(
                f"<p><b>Known mistake:</b> {escape(shown(m, hidden))}</p>" for m in q.mistakes
            )
        css = "ok" if q.passed else "bad"
        rows.append(
            f"<tr><td>{escape(question_label(q.grade_id))}</td>"
            f"<td class={css}>{'-' if q.pending else f'{q.score:g}'} / {q.max_score:g}</td>"
            f"<td>{status}</td><td>{detail}</td></tr>"
        )
    waiting = sum(q.max_score for q in sub.questions if q.pending)
    later = f" {waiting:g} of them are graded by hand and not graded yet." if waiting else ""
    notes = "".join(f"<li>{escape(shown(r, hidden))}</li>" for r in sub.reasons)
    notes = f"<h2>Notes from the grader</h2><ul>{notes}</ul>" if notes else ""
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>Student <b>{escape(sub.student)}</b>: <b>{sub.score:g} / {sub.max_score:g}</b> "
        f"points.{later}</p><table><tr><th>Exercise</th><th>Points</th><th>Status</th>"
        f"<th>What went wrong</th></tr>{''.join(rows)}</table>{notes}</body></html>"
    )


def feedback(course: Course, assignment: str) -> list[Path]:
    """Write every student's page; their paths.

    Every page is checked for the hidden-test lines of every assignment before it is
    written. A page that fails is not written (an older copy is removed); the others are,
    and then :class:`LeakError` names the pages withheld.
    """
    hidden = all_hidden_lines(course)
    written, withheld, errors = [], [], []
    for sub in load_results(course, assignment):
        path = course.feedback / sub.student / assignment / f"{assignment}.html"
        try:
            page = render(sub, f"Feedback on {assignment}", hidden)
            check_no_leak(page, hidden, str(path.relative_to(course.root)))
        except LeakError as err:
            path.unlink(missing_ok=True)
            withheld.append(path)
            errors.append(str(err))
            continue
        written.append(write_text(path, page))
    if withheld:
        raise LeakError(f"{len(withheld)} page(s) withheld: " + "; ".join(errors),
                        written, withheld)
    return written
