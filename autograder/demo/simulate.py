"""A simulated class: the source solution with known mistakes injected, blank and broken.

Student ``sNNN``'s notebook is the released notebook with every exercise filled in from the
instructor's solution, with zero or more mistakes from the bank (``autograder.demo.mistakes``)
applied inside the solution region of the named cell; or the released notebook untouched
(blank); or broken (a syntax error, or a file that is not valid JSON). Seeded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from autograder.core import notebooks as nbk
from autograder.core.course import Course
from autograder.demo.mistakes import Mistake, load_bank

KINDS = ("full", "mistakes", "blank", "syntax-error", "invalid-json")
MANIFEST = "simulated.json"


@dataclass
class SimStudent:
    """Who the simulated student is and what they got wrong."""

    student: str
    kind: str
    mistakes: list[str] = field(default_factory=list)


def solution_code(source: str, mistakes: list[Mistake] = ()) -> str:
    """A cell's source as a student writes it: the solution region, mistakes applied."""
    region = "\n".join(nbk.between(source, nbk.BEGIN_SOLUTION, nbk.END_SOLUTION))
    for mistake in mistakes:
        region = mistake.apply(region)
    lines, inside, done = [], False, False
    for line in source.splitlines():
        if line.strip() == nbk.BEGIN_SOLUTION:
            inside = True
            if not done:
                lines.append(region)
                done = True
        elif line.strip() == nbk.END_SOLUTION:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def solved(source_nb, release_nb, mistakes: list[Mistake] = ()):
    """The released notebook with every exercise solved (with ``mistakes`` made)."""
    nb = nbformat.from_dict(json.loads(nbformat.writes(release_nb)))
    for cell in nb.cells:
        gid = nbk.grade_id(cell)
        if cell.cell_type == "code" and nbk.is_solution(cell):
            mine = [m for m in mistakes if m.cell == gid]
            cell.source = solution_code(nbk.cell_by_id(source_nb, gid).source, mine)
    unknown = {m.cell for m in mistakes} - {nbk.grade_id(c) for c in nb.cells}
    if unknown:
        raise ValueError(f"Invalid mistake cell: no solution cell {sorted(unknown)}")
    return nb


def plan(bank: list[Mistake], n: int, rng: np.random.Generator) -> list[SimStudent]:
    """Kinds and mistakes for ``n`` students: one of each kind and of each mistake first."""
    if n < 1:
        raise ValueError(f"Invalid number of students: {n} (must be >= 1)")
    fixed = [SimStudent("", "full"), SimStudent("", "blank"), SimStudent("", "syntax-error"),
             SimStudent("", "invalid-json")]
    fixed += [SimStudent("", "mistakes", [m.name]) for m in bank]
    students = fixed[:n]
    weights = np.array([0.3, 0.5, 0.1, 0.05, 0.05])
    while len(students) < n:
        kind = KINDS[rng.choice(len(KINDS), p=weights)]
        if kind == "mistakes" and not bank:
            kind = "full"
        chosen = []
        if kind == "mistakes":
            k = int(rng.integers(1, min(2, len(bank)) + 1))
            chosen = sorted(str(bank[i].name) for i in rng.choice(len(bank), k, replace=False))
        students.append(SimStudent("", kind, chosen))
    for i, s in enumerate(students):
        s.student = f"s{i + 1:03d}"
    return students


def notebook_text(s: SimStudent, source_nb, release_nb, bank: list[Mistake]) -> str:
    """The file the simulated student submits."""
    if s.kind == "blank":
        return nbformat.writes(release_nb)
    if s.kind == "invalid-json":
        return nbformat.writes(solved(source_nb, release_nb))[: 200]
    nb = solved(source_nb, release_nb, [m for m in bank if m.name in s.mistakes])
    if s.kind == "syntax-error":
        cell = next(c for c in nb.cells if nbk.is_solution(c) and c.cell_type == "code")
        cell.source += "\n    return (  # unfinished"
    return nbformat.writes(nb)


def simulate(course: Course, assignment: str, n: int = 40, seed: int = 0,
             bank: list[Mistake] | None = None) -> list[SimStudent]:
    """Write ``submitted/sNNN/<assignment>/<assignment>.ipynb`` for ``n`` students."""
    bank = load_bank(assignment) if bank is None else bank
    source_nb = nbk.read(course.source_notebook(assignment))
    release_nb = nbk.read(course.release_notebook(assignment))
    students = plan(bank, n, np.random.default_rng(seed))
    for s in students:
        path = course.submitted / s.student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook_text(s, source_nb, release_nb, bank))
    manifest = course.submitted / f"{assignment}.{MANIFEST}"
    manifest.write_text(json.dumps([asdict(s) for s in students], indent=1))
    return students


def load_manifest(course: Course, assignment: str) -> list[SimStudent]:
    path = Path(course.submitted / f"{assignment}.{MANIFEST}")
    return [SimStudent(**d) for d in json.loads(path.read_text())]
