"""The mistake bank: realistic wrong versions of solution cells, one file per assignment.

``autograder/demo/mistakes/<assignment>.py`` defines ``MISTAKES``, a list of :class:`Mistake`.
A simulated student is the source solution with zero or more mistakes applied; the
end-to-end tests check that every mistake loses points and that the feedback names it.
The bank lives here, with the instructor's tools, and never goes to students.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path

BANK_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Mistake:
    """One known mistake, applied as a text replacement inside one solution cell.

    name:    short identifier, unique within the assignment ("sign-error").
    cell:    nbgrader ``grade_id`` of the solution cell it changes.
    find:    text that occurs exactly once in that cell's solution.
    replace: what the mistaken student wrote instead.
    named:   words the hidden tests' failure message (and so the feedback) must contain
             when this mistake is made, e.g. "adds the gradient".
    """

    name: str
    cell: str
    find: str
    replace: str
    named: str

    def apply(self, source: str) -> str:
        """The cell source with this mistake made; ValueError if ``find`` is not unique."""
        count = source.count(self.find)
        if count != 1:
            raise ValueError(
                f"mistake {self.name!r}: expected the text to replace exactly once in cell "
                f"{self.cell!r}, found it {count} times: {self.find!r}"
            )
        return source.replace(self.find, self.replace)


def load_bank(assignment: str, bank_dir: str | Path | None = None) -> list[Mistake]:
    """The mistakes for ``assignment`` (empty if it has no bank file).

    ``bank_dir`` defaults to this package; tests point it at a fixture bank.
    """
    path = Path(bank_dir or BANK_DIR) / f"{assignment}.py"
    if not path.exists():
        return []
    mistakes = runpy.run_path(str(path))["MISTAKES"]
    names = [m.name for m in mistakes]
    if len(names) != len(set(names)):
        raise ValueError(f"{path.name}: mistake names must be unique, got {names}")
    return list(mistakes)
