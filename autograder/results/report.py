"""``course report``: one self-contained HTML page about a graded assignment.

Score histogram, pass rate per question, the most frequent diagnosed mistakes, run time
per submission, and the submissions the grader had trouble with. Figures are inline PNG
(base64), so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from html import escape
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from autograder.core.course import Course  # noqa: E402
from autograder.core.formats import RESULT_FILE  # noqa: E402
from autograder.results.html import STYLE, question_label  # noqa: E402
from autograder.results.load import Submission, load_results, write_text  # noqa: E402

BLUE, ORANGE = "#0072B2", "#E69F00"  # Okabe-Ito


def figure_html(fig) -> str:
    """The figure as an inline PNG <img>."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def score_histogram(subs: list[Submission]):
    fig, ax = plt.subplots(figsize=(6, 3))
    top = max((s.max_score for s in subs), default=1.0) or 1.0
    ax.hist([s.score for s in subs], bins=min(20, int(top) + 1), range=(0, top), color=BLUE)
    ax.set(xlabel="score", ylabel="students", title="Score distribution")
    return fig


def pass_rates(subs: list[Submission]) -> dict[str, float]:
    """Fraction of students with full points, per auto-graded question."""
    total, passed = Counter(), Counter()
    for sub in subs:
        for q in sub.questions:
            if not q.manual:
                total[q.grade_id] += 1
                passed[q.grade_id] += q.passed
    return {k: passed[k] / total[k] for k in total}


def pass_rate_chart(rates: dict[str, float]):
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(rates) + 1))
    names = [question_label(k) for k in rates]
    ax.barh(names[::-1], [100 * v for v in rates.values()][::-1], color=BLUE)
    ax.set(xlabel="students with full points (%)", xlim=(0, 100), title="Pass rate per question")
    return fig


def runtime_chart(subs: list[Submission]):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(subs)), [s.runtime for s in subs], color=ORANGE)
    ax.set(xlabel="submission (by student id)", ylabel="seconds", title="Run time per submission")
    return fig


def mistake_counts(subs: list[Submission]) -> Counter:
    return Counter(m for s in subs for q in s.questions for m in set(q.mistakes))


def table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render(assignment: str, subs: list[Submission], bare: list[str] = ()) -> str:
    if not subs:
        return f"<!doctype html><html><body><p>No graded submissions of {escape(assignment)}."
    scores = sorted(s.score for s in subs)
    top = subs[0].max_score
    stats = (f"{len(subs)} submissions; mean {sum(scores) / len(scores):.2f} / {top:g}; "
             f"median {scores[len(scores) // 2]:g}; full marks {sum(x >= top for x in scores)}")
    mistakes = [[m, n] for m, n in mistake_counts(subs).most_common(10)]
    trouble = [[s.student, f"{s.score:g}", "; ".join(s.reasons)] for s in subs if s.reasons]
    runtimes = sorted(s.runtime for s in subs)
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>Report: {escape(assignment)}"
        f"</title><style>{STYLE}</style></head><body><h1>Report: {escape(assignment)}</h1>"
        f"<p>{escape(stats)}</p>{figure_html(score_histogram(subs))}"
        f"{figure_html(pass_rate_chart(pass_rates(subs)))}"
        f"<h2>Most frequent diagnosed mistakes</h2>"
        f"{table(['known mistake', 'students'], mistakes) if mistakes else '<p>None.</p>'}"
        f"<h2>Run time</h2><p>median {runtimes[len(runtimes) // 2]:.2f} s, "
        f"max {runtimes[-1]:.2f} s per submission.</p>{figure_html(runtime_chart(subs))}"
        f"{sandbox_note(list(bare))}<h2>Submissions with grading notes</h2>"
        f"{table(['student', 'score', 'notes'], trouble) if trouble else '<p>None.</p>'}"
        "</body></html>"
    )


def unsandboxed(course: Course, assignment: str) -> list[str]:
    """Students whose ``grading.json`` says they were graded with ``--no-sandbox``."""
    bare = []
    for path in sorted(course.autograded.glob(f"*/{assignment}/{RESULT_FILE}")):
        if json.loads(path.read_text()).get("sandboxed") is False:
            bare.append(path.parent.parent.name)
    return bare


def sandbox_note(bare: list[str]) -> str:
    """A warning when any submission was graded without the sandbox."""
    if not bare:
        return "<p>Every submission was graded in the sandbox.</p>"
    return (f"<h2 class=bad>NOT sandboxed</h2><p class=bad>{len(bare)} submission(s) were "
            "graded with --no-sandbox: their code ran with the grader's rights.</p>")


def report(course: Course, assignment: str, out: Path | None = None) -> Path:
    """Write ``reports/<assignment>.html`` (or ``out``); its path."""
    path = Path(out) if out else course.reports / f"{assignment}.html"
    subs = load_results(course, assignment)
    return write_text(path, render(assignment, subs, unsandboxed(course, assignment)))
