"""``course validate NOTEBOOK``: a student's self-check before submitting.

Runs the notebook top to bottom in a fresh kernel with the tests it contains (the visible
ones), prints one line per exercise and returns False when anything failed, so the command
exits non-zero (nbgrader's ``validate`` exits 0 even on failure).
"""

from __future__ import annotations

from pathlib import Path

HELP = "run a notebook's visible tests (exit 1 on failure)"


def add_arguments(p) -> None:
    p.add_argument("notebook")
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell")


def run(course, args) -> int:
    ok, rows = validate(args.notebook, timeout=args.timeout)
    width = max((len(name) for name, _ in rows), default=8)
    for name, status in rows:
        print(f"{name:{width}}  {status}")
    print("all tests passed" if ok else "some tests FAILED")
    return 0 if ok else 1


def exercise_status(nb) -> list[tuple[str, str]]:
    """(exercise, status) for each auto-graded test cell, and for other failing cells."""
    from autograder.core import notebooks as nbk
    from autograder.results.load import failure_messages

    rows = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        messages = failure_messages(cell, set())
        label = (nbk.grade_id(cell) or f"cell {i + 1}").removeprefix("test_")
        if not messages and nbk.is_test(cell):
            rows.append((label, "passed"))
        elif messages:
            status = "not done yet" if "NotImplementedError" in messages[0] else messages[0]
            rows.append((label, "FAILED: " + status))
    return rows


def validate(path: str | Path, timeout: int = 60) -> tuple[bool, list[tuple[str, str]]]:
    """(all passed, per-exercise rows) for the notebook at ``path``."""
    from autograder.core import notebooks as nbk
    from autograder.run.execute import execute_submission
    from autograder.run.preprocessors import IgnoreWarnings
    from autograder.sandbox.limits import Limits

    path = Path(path).resolve()
    if not path.is_file():
        raise ValueError(f"Invalid notebook: {path} does not exist")
    result = execute_submission(nbk.read(path), Limits(cell_timeout=timeout), str(path.parent))
    nb, _ = IgnoreWarnings()(result.nb, {})
    rows = exercise_status(nb) + [("notebook", "FAILED: " + r) for r in result.reasons]
    return all(status == "passed" for _, status in rows), rows
