"""CLI wiring, the release scan and the kernel launcher (no kernel started)."""

import resource
import subprocess
import sys

import pytest

from autograder.cli import main, parser
from autograder.course import Course
from autograder.kernel_launcher import set_memory_limit
from autograder.release import failures, leaks


def test_every_verb_is_wired():
    p = parser()
    for argv in (["release", "--all"], ["validate", "x.ipynb"], ["collect", "dir"],
                 ["grade", "ps1", "--jobs", "2", "--student", "a", "b"], ["feedback", "ps1"],
                 ["export"], ["report", "ps1"], ["bundle"], ["demo", "--students", "3"]):
        assert p.parse_args(argv).verb == argv[0]


def test_demo_without_assignments_says_so(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert main(["--root", str(tmp_path), "demo"]) == 1
    assert "there are no assignments" in capsys.readouterr().out


def test_course_reads_the_fixture_config(course):
    assert course.assignments() == ["ps1"]
    assert course.course_id() == "fixture" and course.cell_timeout() == 8
    import pytest

    with pytest.raises(ValueError, match="Invalid course root"):
        Course.at(course.root / "nope")


def test_leaks_finds_solution_lines_and_markers_but_not_public_lines(source_nb):
    assert leaks(source_nb, "print('hello')\nimport numpy as np") == []
    assert leaks(source_nb, "    return beta * v + (1 - beta) * g") == [
        "return beta * v + (1 - beta) * g"]
    assert "### BEGIN HIDDEN TESTS" in leaks(source_nb, "x\n### BEGIN HIDDEN TESTS\n")


def test_failures_lists_errors_and_stderr_in_test_cells(source_nb):
    import copy

    from nbformat.v4 import new_output

    nb = copy.deepcopy(source_nb)
    cells = {c.metadata.nbgrader.grade_id: c for c in nb.cells}
    cells["squares"].outputs = [new_output("error", ename="NameError", evalue="x", traceback=[])]
    cells["test_gd_step"].outputs = [new_output("stream", name="stderr", text="oops")]
    assert failures(nb) == ["squares: NameError: x", "test_gd_step: writes to stderr: oops"]


def test_kernel_launcher_sets_the_memory_limit_before_exec():
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"
    out = subprocess.run(
        [sys.executable, "-m", "autograder.kernel_launcher", "--memory-mb", "700", "--",
         sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == 700 * 1024 * 1024
    set_memory_limit(0)  # no-op
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY


def test_bundle_scan_flags_blocks_of_secret_lines_not_single_generic_ones():
    from autograder.bundle import runs

    secrets = {"x = np.asarray(x, dtype=float)", "return x ** 2", "pass", "except ValueError:"}
    text = "def f(x):\n    x = np.asarray(x, dtype=float)\n    return x ** 2\n"
    assert runs(secrets, text) == ["x = np.asarray(x, dtype=float) / return x ** 2"]
    assert runs(secrets, "try:\n    f()\nexcept ValueError:\n    pass\n") == []
    assert runs(secrets, "y = 1\nreturn x ** 2\n") == []


def test_demo_fails_when_an_assignment_fails(tmp_path, monkeypatch, capsys):
    from autograder import demo

    rows = [demo.DemoRow("ps1", students=8, mean=7.5, max_score=10.0, full=3),
            demo.DemoRow("ps2", students=8, max_score=5.0)]
    monkeypatch.setattr(demo, "demo", lambda *a, **k: (rows, tmp_path / "report.html"))
    assert main(["--root", str(tmp_path), "demo"]) == 0
    out = capsys.readouterr().out
    assert "7.5/10" in out and f"report: {tmp_path / 'report.html'}" in out
    assert "flagged" not in out and "independent" not in out
    rows[1].error = "release failed: test_x"
    assert main(["--root", str(tmp_path), "demo"]) == 1
    assert "release failed: test_x" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # the option is gone with the second phase
        parser().parse_args(["grade", "a", "--no-independent-check"])
    assert "no_independent_check" not in vars(parser().parse_args(["grade", "a"]))
    assert parser().parse_args(["release", "a", "--keep-check", "d"]).keep_check.name == "d"
