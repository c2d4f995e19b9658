"""Building and grading the red-team class: every attack of ``attacks.py`` plus honest
submissions, graded in one ``course grade`` run in a copy of the fixture course, with what
the tests need to watch:
the course directory's hashes before and after, a listening socket on the host's loopback,
and the processes left afterwards."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "autograder"))
sys.path.insert(0, str(HERE))

from attacks import ATTACKS, HONEST, build  # noqa: E402
from fixture_course import ASSIGNMENT, FIXTURES, copy_fixture  # noqa: E402

from autograder.core import notebooks as nbk  # noqa: E402
from autograder.demo.simulate import solved  # noqa: E402
from autograder.release.steps import release  # noqa: E402

# Written by grading itself: everything else in the course directory must stay as it was.
GRADING_WRITES = ("autograded", "feedback", "reports", "gradebook.db", "gradebook.db-journal",
                  "grades.csv", "questions.csv")
LIMITS = ["--cell-timeout", "6", "--wall-clock", "60", "--memory-mb", "1024"]


def tree_hashes(root: Path) -> dict[str, str]:
    hashes = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in GRADING_WRITES or not path.is_file():
            continue
        hashes[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmd and str(os.getpid()) != pid:
            found.append(f"{pid}: {cmd[:200]}")
    return found


@dataclass
class RedTeam:
    course: object
    token: str
    tmpdir: Path
    before: dict
    after: dict
    connections: int
    grade_out: str
    results: dict  # student -> Submission (autograder.results.load)


def course_cli(root: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=600, env=env)


def make_link(course, base: Path, student: str, kind: str) -> None:
    """A submission that is a symbolic link to the instructor's solution: the notebook,
    the assignment folder, or the student's folder (to a copy of ``source/``)."""
    solution = course.source / ASSIGNMENT
    folder = course.submitted / student / ASSIGNMENT
    if kind == "notebook":
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").symlink_to(solution / f"{ASSIGNMENT}.ipynb")
    elif kind == "folder":
        folder.parent.mkdir(parents=True)
        folder.symlink_to(solution, target_is_directory=True)
    else:
        elsewhere = base / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / ASSIGNMENT).symlink_to(solution, target_is_directory=True)
        (course.submitted / student).symlink_to(elsewhere, target_is_directory=True)


def grade_redteam(base: Path) -> RedTeam:
    from autograder.results.load import load_results

    course = copy_fixture(base / "course")
    release(course, ASSIGNMENT)  # the gate is not run: the solution is graded below anyway
    source_nb = nbk.read(FIXTURES / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    release_nb = nbk.read(course.release_notebook(ASSIGNMENT))
    listener = Listener()
    token = secrets.token_hex(6)
    values = {"root": str(course.root), "port": listener.port, "token": token}
    notebooks = {a.name: build(a, source_nb, release_nb, **values) for a in ATTACKS}
    for student, kind in HONEST.items():
        notebooks[student] = solved(source_nb, release_nb) if kind == "full" else release_nb
    links = {a.name: a.link for a in ATTACKS if a.link}
    for student, nb in notebooks.items():
        path = course.submitted / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        if student in links:
            make_link(course, base, student, links[student])
            continue
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    before = tree_hashes(course.root)
    tmpdir = base / "tmp"  # the grader's temporary files, kernels' run directories included
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    graded = course_cli(course.root, "grade", ASSIGNMENT, "--jobs", "2", "--no-progress",
                        *LIMITS, env=env)
    assert graded.returncode == 0, graded.stderr[-3000:]
    for verb in (("feedback", ASSIGNMENT), ("report", ASSIGNMENT), ("export",)):
        done = course_cli(course.root, *verb, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
    listener.close()
    results = {s.student: s for s in load_results(course, ASSIGNMENT)}
    return RedTeam(course, token, tmpdir, before, tree_hashes(course.root),
                   listener.connections, graded.stdout, results)
