"""The `course` verbs end to end on a copy of the fixture course (start kernels)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest
from fixture_course import BANK_DIR

from autograder.cli import main
from autograder.core import notebooks as nbk
from autograder.demo.simulate import solved
from autograder.release.steps import ReleaseError, release
from autograder.sandbox import bwrap
from autograder.verbs.release import release_checked

pytestmark = pytest.mark.slow


def test_release_generates_a_clean_student_version(course, source_nb, capsys):
    assert main(["--root", str(course.root), "release", "ps1"]) == 0  # solution graded too
    assert "released ps1" in capsys.readouterr().out
    path = course.release_notebook("ps1")
    text = path.read_text()
    for line in nbk.hidden_test_lines(source_nb) + nbk.solution_lines(source_nb):
        assert line not in text
    released = nbk.read(path)
    assert nbk.cell_by_id(released, "squares").source.endswith("raise NotImplementedError()")


def test_release_refuses_a_source_that_fails_its_own_tests(course):
    path = course.source_notebook("ps1")
    nb = nbk.read(path)
    cell = nbk.cell_by_id(nb, "ema_step")
    cell.source = cell.source.replace("(1 - beta) * g", "beta * g")
    nbformat.write(nb, str(path))
    with pytest.raises(ReleaseError, match="test_ema_step: AssertionError"):
        release(course, "ps1")
    assert not course.release_notebook("ps1").exists()


@pytest.mark.skipif(not bwrap.available(), reason="bubblewrap is not usable here")
def test_release_refuses_a_solution_that_fails_only_in_the_grading_pipeline(course, tmp_path):
    # A solution that reads a file of the course by its path passes every test when the
    # source notebook runs unsandboxed (step 1), but the sandbox of `course grade` hides
    # the course (the release gate).
    outside = course.root / "nbgrader_config.py"
    path = course.source_notebook("ps1")
    nb = nbk.read(path)
    cell = nbk.cell_by_id(nb, "squares")
    cell.source = cell.source.replace(
        "x = np.asarray(x, dtype=float)",
        f"open({str(outside)!r}).close()\n    x = np.asarray(x, dtype=float)")
    nbformat.write(nb, str(path))
    keep = tmp_path / "kept"
    with pytest.raises(ReleaseError) as err:
        release_checked(course, "ps1", keep_check=keep)
    message = str(err.value)
    assert "does not earn full marks through `course grade`:" in message, message
    line = next(ln for ln in message.splitlines() if ln.strip().startswith("test_squares"))
    assert line.strip().startswith("test_squares (0 / 3): FileNotFoundError:"), line
    assert str(outside) in line, line
    assert "test_gd_step" not in message and "test_ema_step" not in message
    assert not course.release_notebook("ps1").exists(), "nothing half-checked is released"
    graded = json.loads((keep / "autograded" / "release-check" / "ps1" / "grading.json")
                        .read_text())
    assert graded["sandboxed"] is True
    assert not (course.root / "submitted").exists(), "the check works on its own copy"


def test_release_refuses_a_leaking_student_version(course):
    path = course.source_notebook("ps1")
    nb = nbk.read(path)
    cell = nbk.cell_by_id(nb, "test_squares")  # a typo in the marker: nothing gets hidden
    cell.source = cell.source.replace("### END HIDDEN TESTS", "### END HIDDEN TEST")
    cell.source = cell.source.replace("### BEGIN HIDDEN TESTS", "### BEGIN HIDDEN TEST")
    cell.source += "\n### BEGIN HIDDEN TESTS\nassert True  # a real hidden line\n" \
                   "### END HIDDEN TESTS"
    nbformat.write(nb, str(path))
    assert main(["--root", str(course.root), "release", "ps1"]) == 1
    with pytest.raises(ReleaseError, match="leaks"):
        release(course, "ps1")


def test_validate_passes_a_solved_notebook_and_fails_a_blank_one(course, source_nb, capsys):
    release(course, "ps1")
    blank = course.release_notebook("ps1")
    mine = course.root / "mine.ipynb"
    nbformat.write(solved(source_nb, nbk.read(blank)), str(mine))
    assert main(["validate", str(mine)]) == 0
    assert re.search(r"gd_step +passed", capsys.readouterr().out)
    assert main(["validate", str(blank)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "not done yet" in out


def test_bundle_has_no_secrets_and_make_lab_works(course, source_nb, tmp_path):
    (course.root / "notebooks").mkdir()
    (course.root / "notebooks" / "01_intro.ipynb").write_text(
        nbformat.writes(nbformat.v4.new_notebook()))
    out = tmp_path / "bundle"
    assert main(["--root", str(course.root), "bundle", "--out", str(out)]) == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"README.md", "Makefile", "assignments/ps1/ps1.ipynb",
            "notebooks/01_intro.ipynb", "course_lib/__init__.py"} <= names
    assert not any("mistakes" in n or n.startswith(("source", "autograder")) for n in names)
    secrets = nbk.hidden_test_lines(source_nb) + ["### BEGIN SOLUTION", "### BEGIN HIDDEN"]
    for path in files:
        text = path.read_text(errors="replace")
        for line in secrets:
            assert line not in text, (path, line)
    assert (tmp_path / "bundle.zip").exists()
    venv = __import__("pathlib").Path(sys.executable).parent.parent
    run = subprocess.run(["make", "-C", str(out), "lab", f"VENV={venv}", "LAB_ARGS=--version"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    code = "import course_lib; print(course_lib.__file__)"
    check = subprocess.run([sys.executable, "-c", code], cwd=out, capture_output=True, text=True)
    assert str(out) in check.stdout
    # A lecture that shows an exercise's solution makes the bundle fail.
    lecture = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def gd_step(w, grad, lr):\n    w = np.asarray(w, dtype=float)\n"
        "    return w - lr * np.asarray(grad, dtype=float)")])
    nbformat.write(lecture, str(course.root / "notebooks" / "02_leaky.ipynb"))
    assert main(["--root", str(course.root), "bundle", "--out", str(out)]) == 1


def test_demo_on_the_fixture_course(course, capsys):
    code = main(["--root", str(course.root), "demo", "--students", "8", "--jobs", "2",
                 "--no-progress", "--bank-dir", str(BANK_DIR)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ps1" in out and "report:" in out
    assert "flagged" not in out and "independent check" not in out, out
    demo = course.root / "out" / "demo"
    assert (demo / "report.html").exists() and (demo / "grades.csv").exists()
    assert len(list((demo / "feedback").rglob("*.html"))) == 8
    sim = json.loads((demo / "submitted" / "ps1.simulated.json").read_text())
    assert len(sim) == 8
    assert not (course.root / "gradebook.db").exists(), "the demo works on its own copy"


def test_grade_cli_prints_scores_for_selected_students(course, source_nb, capsys):
    release(course, "ps1")
    for student in ("a1", "b2"):
        path = course.submitted / student / "ps1" / "ps1.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(solved(source_nb, nbk.read(course.release_notebook("ps1"))), str(path))
    assert main(["--root", str(course.root), "grade", "ps1", "--student", "b2",
                 "--jobs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "b2" in out and "10 / 10" in out and "a1" not in out
    assert main(["--root", str(course.root), "grade", "ps1", "--student", "zz"]) == 2
    capsys.readouterr()
    assert main(["--root", str(course.root), "grade", "ps1", "--student", "a1", "--jobs", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "a1" in out and "10 / 10" in out and "b2" not in out
    for student in ("a1", "b2"):
        graded = json.loads((course.autograded / student / "ps1" / "grading.json").read_text())
        assert graded["sandboxed"] is True and "independent_check" not in graded
        assert [row["notebook"] for row in graded["notebooks"]] == ["ps1"]
    assert main(["--root", str(course.root), "report", "ps1"]) == 0
    report = (course.reports / "ps1.html").read_text()
    assert "<td>a1</td>" not in report  # nothing to note about either submission
    assert "independent check" not in report
