"""The fixture course of the autograder tests and the malformed submissions built from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from autograder.core import notebooks as nbk
from autograder.core.course import Course
from autograder.demo.simulate import solved
from autograder.sandbox.limits import Limits

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BANK_DIR = FIXTURES / "mistakes"
ASSIGNMENT = "ps1"
# Short limits so that the infinite loop and the like cost seconds, not minutes.
TEST_LIMITS = Limits(cell_timeout=4, wall_clock=40, memory_mb=1024)


def copy_fixture(dest: Path) -> Course:
    shutil.copytree(FIXTURES / "course", dest)
    return Course.at(dest)


def with_code(nb, grade_id: str, code: str):
    """A copy of ``nb`` whose cell ``grade_id`` has ``code`` appended."""
    nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    cell = nbk.cell_by_id(nb, grade_id)
    cell.source += "\n" + code
    return nb


# Honest work that reached us damaged: the file as bytes, the repair the grader notes.
REPAIRED = {"x-bom": "byte-order mark was removed",
            "x-bad-byte": "invalid UTF-8 sequence(s) replaced",
            "x-no-metadata": "had no top-level metadata"}
BAD_TIMESTAMP = "next Tuesday, around noon"


def special_submissions(source_nb, release_nb) -> dict[str, str | bytes]:
    """Student id -> notebook text (or bytes) for every malformed or hostile case."""
    full = solved(source_nb, release_nb)
    cases = {}
    deleted = nbformat.from_dict(json.loads(nbformat.writes(full)))
    deleted.cells = [c for c in deleted.cells if nbk.grade_id(c) != "test_gd_step"]
    cases["x-deleted-test"] = deleted
    dup = nbformat.from_dict(json.loads(nbformat.writes(full)))
    i = next(i for i, c in enumerate(dup.cells) if nbk.grade_id(c) == "test_squares")
    dup.cells.insert(i + 1, nbformat.from_dict(json.loads(json.dumps(dup.cells[i]))))
    dup.cells[i + 1]["id"] = "copy-of-test"
    cases["x-duplicated-test"] = dup
    kernel = nbformat.from_dict(json.loads(nbformat.writes(full)))
    kernel.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "x",
                                     "language": "python"}
    cases["x-wrong-kernel"] = kernel
    cases["x-huge-output"] = with_code(full, "squares", "for _i in range(200000):\n"
                                       "    print('spam', _i)")
    cases["x-infinite-loop"] = with_code(full, "gd_step", "while True:\n    pass")
    cases["x-sys-exit"] = with_code(full, "gd_step", "import sys\nsys.exit(1)")
    cases["x-os-exit"] = with_code(full, "gd_step", "import os\nos._exit(0)")
    cases["x-memory"] = with_code(full, "squares", "_big = np.ones((40000, 40000))")
    cases["x-warning"] = with_code(
        full, "squares", "_old_squares = squares\n\ndef squares(x):\n"
        "    np.log(np.zeros(1))  # RuntimeWarning: divide by zero\n"
        "    return _old_squares(x)")
    no_tests = nbformat.from_dict(json.loads(nbformat.writes(full)))
    no_tests.cells = [c for c in no_tests.cells if not nbk.is_test(c)]
    cases["x-deleted-all-tests"] = no_tests
    cases["x-bad-timestamp"] = full
    texts: dict[str, str | bytes] = {k: nbformat.writes(v) for k, v in cases.items()}
    texts["x-malformed-json"] = nbformat.writes(full)[:-40]
    texts["x-bom"] = b"\xef\xbb\xbf" + nbformat.writes(full).encode()
    commented = with_code(full, "squares", "# BADBYTE: a comment saved in Latin-1")
    text = nbformat.writes(nbformat.reads(nbformat.writes(commented), as_version=4))
    assert "BADBYTE" in text
    texts["x-bad-byte"] = text.encode().replace(b"BADBYTE", b"caf\xe9")
    raw = json.loads(nbformat.writes(full))
    del raw["metadata"]
    texts["x-no-metadata"] = json.dumps(raw)
    raw = json.loads(nbformat.writes(full))
    next(c for c in raw["cells"] if c.get("metadata", {}).get("nbgrader", {})
         .get("grade_id") == "squares")["source"] = {"not": "text"}
    texts["x-source-not-string"] = json.dumps(raw)
    return texts
