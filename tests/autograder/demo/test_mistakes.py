"""The mistake bank: its format, the fixture bank, and every real bank against its source."""

from pathlib import Path

import pytest

from autograder.core import notebooks as nbk
from autograder.demo.mistakes import BANK_DIR, Mistake, load_bank
from autograder.demo.simulate import solution_code

REPO = Path(__file__).resolve().parents[3]
REAL = sorted(p.stem for p in BANK_DIR.glob("[0-9]*.py"))


def test_apply_replaces_exactly_one_occurrence():
    m = Mistake("sign", "f", "x - g", "x + g", "adds")
    assert m.apply("y = x - g") == "y = x + g"
    with pytest.raises(ValueError, match="exactly once"):
        m.apply("a = x - g; b = x - g")
    with pytest.raises(ValueError, match="found it 0 times"):
        m.apply("nothing here")


def test_fixture_bank_loads_and_applies(bank, source_nb):
    assert [m.name for m in bank] == [
        "double-not-square", "sign-error", "in-place-update", "swapped-beta"]
    for m in bank:
        cell = nbk.cell_by_id(source_nb, m.cell)
        assert solution_code(cell.source, [m]) != solution_code(cell.source)


def test_duplicate_names_are_rejected(tmp_path):
    (tmp_path / "a.py").write_text(
        "from autograder.demo.mistakes import Mistake\n"
        "MISTAKES = [Mistake('x', 'c', 'a', 'b', 'n'), Mistake('x', 'c', 'a', 'b', 'n')]\n")
    with pytest.raises(ValueError, match="unique"):
        load_bank("a", tmp_path)
    assert load_bank("missing", tmp_path) == []


@pytest.mark.parametrize("assignment", REAL)
def test_real_bank_matches_its_source_solution(assignment):
    source = REPO / "source" / assignment / f"{assignment}.ipynb"
    if not source.exists():
        pytest.skip(f"no source notebook for {assignment} yet")
    nb = nbk.read(source)
    for m in load_bank(assignment):
        cell = nbk.cell_by_id(nb, m.cell)
        assert nbk.is_solution(cell), m
        region = "\n".join(nbk.between(cell.source, nbk.BEGIN_SOLUTION, nbk.END_SOLUTION))
        assert region.count(m.find) == 1, f"{m.name}: find must occur once in the solution"
        assert m.named.strip(), m
