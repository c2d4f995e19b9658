"""``course demo``: release, simulate, grade, give feedback, export and report, end to end.

Works on a copy of the course (``out/demo/`` by default) so the repository stays clean:
every assignment in ``source/`` is released (its own tests must pass, and its solution must
earn full marks through ``course grade``), a seeded class of simulated students
(``autograder.demo.simulate``) submits it, and the class is graded in parallel. Every simulated
student's known mistakes must be named in their feedback (the ratio is printed). Feedback
pages, ``grades.csv``/``questions.csv`` and one report page per assignment plus
``report.html`` (all assignments) are written there.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.core.course import Course, copy_config

HELP = "release, simulate, grade and report every assignment"


def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, default=None, help="default: out/demo")
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--bank-dir", type=Path, default=None,
                   help="mistake bank folder (default: autograder/demo/mistakes)")


def run(course, args) -> int:
    rows, report = demo(course, args.out, args.students, args.seed, args.jobs,
                        progress=not args.no_progress, bank_dir=args.bank_dir)
    if not rows:
        print(f"course demo: there are no assignments in {course.source} "
              "(expected source/<name>/<name>.ipynb); nothing to demonstrate.")
        return 1
    print(format_table(rows))
    print(f"report: {report}")
    return 1 if any(r.error for r in rows) else 0


@dataclass
class DemoRow:
    assignment: str
    students: int = 0
    mean: float = 0.0
    max_score: float = 0.0
    full: int = 0
    named: str = "-"
    seconds: float = 0.0
    error: str = ""


def prepare_root(repo: Course, out: Path) -> Course:
    """A fresh course directory at ``out`` with the repository's config and sources (and a
    SQLite gradebook of its own, :func:`~autograder.core.course.copy_config`)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    copy_config(repo.root, out)
    shutil.copytree(repo.source, out / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return Course.at(out)


def named_ratio(course: Course, assignment: str, students, bank) -> str:
    """'k/n': bank mistakes named in the feedback of a student who made only that mistake.

    (With two mistakes in one function, the first failing check can hide the second.)
    """
    pages = {s.student: course.feedback / s.student / assignment / f"{assignment}.html"
             for s in students}
    tried = {m.name: [s.student for s in students if s.mistakes == [m.name]] for m in bank}
    tried = {name: who for name, who in tried.items() if who}
    by_name = {m.name: m for m in bank}
    named = sum(
        any(by_name[name].named in pages[w].read_text() for w in who)
        for name, who in tried.items()
    )
    return f"{named}/{len(tried)}"


def run_assignment(course: Course, assignment: str, n: int, seed: int, jobs, progress,
                   bank_dir=None):
    from autograder.demo.mistakes import load_bank
    from autograder.demo.simulate import simulate
    from autograder.grade.coordinator import grade
    from autograder.results.feedback import feedback
    from autograder.results.load import load_results
    from autograder.verbs.release import release_checked

    row, start = DemoRow(assignment), time.monotonic()
    bank = load_bank(assignment, bank_dir)
    release_checked(course, assignment)
    students = simulate(course, assignment, n=n, seed=seed, bank=bank)
    grade(course, assignment, jobs=jobs, progress=progress)
    feedback(course, assignment)
    subs = load_results(course, assignment)
    row.students = len(subs)
    row.mean = sum(s.score for s in subs) / max(len(subs), 1)
    row.max_score = subs[0].max_score if subs else 0.0
    row.full = sum(all(q.passed for q in s.questions if not q.manual) for s in subs)
    row.named = named_ratio(course, assignment, students, bank)
    row.seconds = time.monotonic() - start
    return row, subs


def format_table(rows: list[DemoRow]) -> str:
    head = f"{'assignment':32} {'students':>8} {'mean':>12} {'all auto tests':>14} " \
           f"{'bank mistakes named':>19} {'time':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.error:
            lines.append(f"{r.assignment:32} FAILED: {r.error.splitlines()[0]}")
        else:
            mean = f"{r.mean:.1f}/{r.max_score:g}"
            lines.append(f"{r.assignment:32} {r.students:8d} {mean:>12} {r.full:14d} "
                         f"{r.named:>19} {r.seconds:6.1f}s")
    return "\n".join(lines)


def demo(repo: Course, out: Path | None = None, n: int = 40, seed: int = 0,
         jobs: int | None = None, progress: bool = True,
         bank_dir: Path | None = None) -> tuple[list[DemoRow], Path | None]:
    """Run the demo; the summary rows and the path of the combined report."""
    from autograder.results.export import export
    from autograder.results.load import write_text
    from autograder.results.report import render

    assignments = repo.assignments()
    if not assignments:
        return [], None
    course = prepare_root(repo, Path(out) if out else repo.root / "out" / "demo")
    rows, pages = [], []
    for assignment in assignments:
        try:
            row, subs = run_assignment(course, assignment, n, seed, jobs, progress, bank_dir)
            pages.append(render(assignment, subs))
            write_text(course.reports / f"{assignment}.html", pages[-1])
        except Exception as err:  # noqa: BLE001  (one broken assignment does not stop the rest)
            row = DemoRow(assignment, error=f"{type(err).__name__}: {err}")
        rows.append(row)
    export(course)
    body = "".join(p.split("<body>", 1)[-1].rsplit("</body>", 1)[0] for p in pages)
    head = pages[0].split("<body>", 1)[0] if pages else "<!doctype html><html><head></head>"
    report = write_text(course.root / "report.html", f"{head}<body>{body}</body></html>")
    return rows, report
