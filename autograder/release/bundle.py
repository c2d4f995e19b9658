"""``course bundle [--out DIR]``: the student distribution of the course.

This repository is the instructor's: ``source/`` holds solutions and hidden tests. Students
get a folder (and a zip next to it) with the lecture notebooks, the released assignments,
``course_lib`` (nothing from ``source/``, no mistake bank, no autograder), the
environment, a student README and a Makefile whose ``make lab`` starts JupyterLab.
The bundle is scanned afterwards: any solution or hidden-test text fails the command.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import course_lib
from autograder.core import notebooks as nbk
from autograder.core.course import Course
from autograder.release.steps import MARKER, file_text, leaks, release

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "mistakes*")

README = """# Optimization for Deep Learning, hands-on: student edition

- `notebooks/`: the lectures, in course order.
- `assignments/<name>/<name>.ipynb`: the assignments. Fill in every cell that says
  `raise NotImplementedError()`, run the tests below it, and submit the notebook under
  its own name.
- `course_lib/`: the course's numpy library (imported by the notebooks).

Set up and start JupyterLab:

    make lab          # creates .venv with the pinned packages the first time

or, with conda: `conda env create -f environment.yml`, then `jupyter lab` from this folder.

Check an assignment before submitting (runs its visible tests; the grader also runs
hidden ones): restart the kernel and run all cells; every test cell must run without error.
"""

MAKEFILE = """# Student set-up: `make lab` creates .venv once, then starts JupyterLab here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PYTHONPATH := $(CURDIR)
export MPLBACKEND := module://matplotlib_inline.backend_inline

.PHONY: lab setup
lab: setup
\t$(BIN)/jupyter lab --notebook-dir=$(CURDIR) $(LAB_ARGS)

setup: $(BIN)/jupyter

$(BIN)/jupyter:
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install -c constraints.txt numpy matplotlib ipywidgets ipympl jupyterlab
"""


class BundleError(RuntimeError):
    """The bundle would leak solution or hidden-test text."""


def course_lib_dir(course: Course) -> Path:
    local = course.root / "course_lib"
    return local if local.is_dir() else Path(course_lib.__file__).resolve().parent


def copy_tree(src: Path, dest: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dest, ignore=IGNORE, dirs_exist_ok=True)


def assemble(course: Course, out: Path, repo: Path) -> None:
    """Copy the student-facing parts into ``out`` (releasing missing assignments first)."""
    for assignment in course.assignments():
        if not course.release_notebook(assignment).is_file():
            release(course, assignment)
        copy_tree(course.release / assignment, out / "assignments" / assignment)
    copy_tree(course.root / "notebooks", out / "notebooks")
    copy_tree(course_lib_dir(course), out / "course_lib")
    for name in ("environment.yml", "constraints.txt", "LICENSE"):
        if (repo / name).is_file():
            shutil.copy(repo / name, out / name)
    (out / "README.md").write_text(README)
    (out / "Makefile").write_text(MAKEFILE)


def secret_lines(source_nb) -> set[str]:
    """Solution and hidden-test lines that do not also occur in the visible source."""
    public = {ln.strip() for cell in source_nb.cells for ln in nbk.outside(cell.source)}
    return (set(nbk.solution_lines(source_nb)) | set(nbk.hidden_test_lines(source_nb))) - public


def runs(secrets: set[str], text: str, length: int = 2, chars: int = 40) -> list[str]:
    """Blocks of ``length`` or more consecutive secret lines of ``text`` (``chars`` or more
    characters together: ``except ValueError:`` / ``pass`` is no secret)."""
    found, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.strip() and line.strip() in secrets:
            block.append(line.strip())
            continue
        if len(block) >= length and sum(map(len, block)) >= chars:
            found.append(" / ".join(block))
        block = []
    return found


def scan(course: Course, out: Path) -> tuple[list[str], list[str]]:
    """(leaks, notes) for the bundle.

    Leaks: an nbgrader marker anywhere; in ``assignments/<a>/``, any secret line of
    ``<a>`` (as the release scan); elsewhere (lectures, README), a block of two or more
    consecutive secret lines of any assignment. Notes: single secret lines found outside
    the assignment's own folder (a lecture may share a line such as ``beta = 0.9`` with a
    solution; worth a look, not an error). Lines of ``course_lib`` (public) never count.
    """
    public = {ln.strip() for p in (out / "course_lib").rglob("*.py")
              for ln in p.read_text().splitlines()}
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.suffix != ".zip"
                   and "course_lib" not in p.relative_to(out).parts)
    texts = {p: file_text(p) for p in files}
    problems, notes = [], []
    for assignment in course.assignments():
        source_nb = nbk.read(course.source_notebook(assignment))
        secrets = secret_lines(source_nb) - public
        own = out / "assignments" / assignment
        for path, text in texts.items():
            rel = path.relative_to(out)
            if own in path.parents:
                found = [ln for ln in leaks(source_nb, text) if ln not in public]
            else:
                found = [m.group(0) for m in MARKER.finditer(text)] + runs(secrets, text)
                lines = {ln.strip() for ln in text.splitlines()}
                notes += [f"{rel}: shares {ln!r} with {assignment}"
                          for ln in sorted(secrets & lines) if len(ln) >= 20]
            problems += [f"{rel}: contains {ln!r}" for ln in found]
    return sorted(set(problems)), sorted(set(notes))


def bundle(course: Course, out: Path | None = None, repo: Path | None = None) -> Path:
    """Build the bundle folder and ``<folder>.zip``; BundleError if anything leaks."""
    out = Path(out) if out else course.root / "out" / "student-bundle"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    assemble(course, out, Path(repo) if repo else course.root)
    problems, notes = scan(course, out)
    if problems:
        raise BundleError("the bundle leaks instructor-only text:\n  " + "\n  ".join(problems))
    for note in notes:
        print(f"note: {note}")
    shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name)
    return out
