"""``course grade`` without bubblewrap, ``--no-sandbox``, and ``course doctor``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from fixture_course import ASSIGNMENT, FIXTURES, copy_fixture

from autograder.core import notebooks as nbk
from autograder.demo.simulate import solved
from autograder.sandbox import bwrap

needs_bwrap = pytest.mark.skipif(bwrap.executable() is None, reason="bubblewrap is not installed")


def course_cli(root: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    """``course --root ROOT ARGS...`` in a new process."""
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=600, env=env)


def released_course(tmp_path):
    from autograder.release.steps import release

    course = copy_fixture(tmp_path / "course")
    release(course, ASSIGNMENT)  # the gate is not run: the solution is graded below anyway
    source_nb = nbk.read(FIXTURES / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    nb = solved(source_nb, nbk.read(course.release_notebook(ASSIGNMENT)))
    path = course.submitted / "s1" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, str(path))
    return course


def path_without_bwrap(tmp_path) -> str:
    """A PATH with the Python tools but no ``bwrap``."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("alembic", "jupyter", "python"):
        src = Path(sys.executable).parent / tool
        if src.exists():
            (bindir / tool).symlink_to(src)
    return str(bindir)


@pytest.mark.slow
def test_grade_refuses_without_bubblewrap_unless_told(tmp_path):
    course = released_course(tmp_path)
    env = {**os.environ, "PATH": path_without_bwrap(tmp_path)}
    refused = course_cli(course.root, "grade", ASSIGNMENT, "--no-progress", env=env)
    assert refused.returncode == 2
    assert "--no-sandbox" in refused.stderr and "sandbox is not usable" in refused.stderr
    assert not (course.autograded / "s1").exists()
    bare = course_cli(course.root, "grade", ASSIGNMENT, "--no-progress", "--no-sandbox",
                      "--cell-timeout", "10", env=env)
    assert bare.returncode == 0, bare.stderr[-2000:]
    assert "WITHOUT the sandbox" in bare.stderr
    info = json.loads((course.autograded / "s1" / ASSIGNMENT / "grading.json").read_text())
    assert info["sandboxed"] is False and info["notebooks"][0]["score"] == 10.0
    assert course_cli(course.root, "report", ASSIGNMENT, env=env).returncode == 0
    assert "NOT sandboxed" in (course.reports / f"{ASSIGNMENT}.html").read_text()


@pytest.mark.slow
@needs_bwrap
def test_doctor_says_grading_is_sandboxed_and_starts_a_kernel_over_ipc(tmp_path):
    course = copy_fixture(tmp_path / "course")
    done = course_cli(course.root, "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grading IS sandboxed here" in done.stdout
    assert "[ok] no network" in done.stdout
    assert "[ok] course root and home hidden" in done.stdout
    assert "[ok] kernel and test process start sandboxed, tests call the kernel" in done.stdout


def test_doctor_without_bubblewrap_says_not_sandboxed(tmp_path):
    course = copy_fixture(tmp_path / "course")
    env = {**os.environ, "PATH": path_without_bwrap(tmp_path)}
    done = course_cli(course.root, "doctor", env=env)
    assert done.returncode == 1
    assert "NOT FOUND" in done.stdout and "grading is NOT sandboxed here" in done.stdout
