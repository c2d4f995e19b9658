"""Resuming: ``course grade`` grades only what is not yet graded (``--force`` regrades all).

A submission is graded when its ``grading.json`` exists, the gradebook has it, and nothing in
its ``submitted/`` folder is newer (as ``nbgrader autograde`` decides); ``grading.json`` is
written as soon as the submission's notebooks are saved, so an interrupted run leaves exactly
the finished submissions marked. Marked slow: a real run interrupted and started again.
"""

from __future__ import annotations

import collections
import json
import os
import re
import time
import warnings
from types import SimpleNamespace

import pytest
from fixture_course import ASSIGNMENT, TEST_LIMITS, copy_fixture
from nbgrader.api import Gradebook

from autograder.grade import coordinator
from autograder.grade.jobs import Job, NotebookResult
from autograder.grade.submissions import already_graded

T0 = time.time() - 3600  # submitted an hour ago
REAL_SAVE = coordinator.save_or_zero


def submit(course, student: str, mtime: float = T0) -> None:
    folder = course.submitted / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ASSIGNMENT}.ipynb"
    path.write_text("{}")
    for p in (path, folder):
        os.utime(p, (mtime, mtime))


def mark_graded(course, student: str, mtime: float = T0 + 60, in_gradebook: bool = True):
    if in_gradebook:
        with warnings.catch_warnings(), Gradebook(course.db_url, course.course_id()) as gb:
            warnings.simplefilter("ignore")  # nbgrader's own code warns
            gb.update_or_create_assignment(ASSIGNMENT)
            gb.update_or_create_student(student)
            gb.update_or_create_submission(ASSIGNMENT, student)
    path = course.autograded / student / ASSIGNMENT / "grading.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"notebooks": [], "sandboxed": true}')
    os.utime(path, (mtime, mtime))


def test_graded_means_grading_json_in_the_gradebook_and_nothing_submitted_since(course):
    for student in ("a", "b", "c", "d", "e", "f"):
        submit(course, student)
    for student in ("a", "b", "c", "f"):
        mark_graded(course, student)
    mark_graded(course, "e", in_gradebook=False)  # e.g. a gradebook started afresh
    later = T0 + 120
    os.utime(course.submitted / "b" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", (later, later))
    extra = course.submitted / "c" / ASSIGNMENT / "data" / "more.csv"  # a file in a subfolder
    extra.parent.mkdir()
    extra.write_text("1")
    os.utime(extra, (later, later))
    os.utime(extra.parent, (T0, T0))
    os.utime(extra.parent.parent, (T0, T0))
    (course.submitted / "f" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").unlink()  # a deletion
    assert already_graded(course, ASSIGNMENT, ["a", "b", "c", "d", "e", "f"]) == ["a"]
    assert already_graded(course, "never-released", ["a"]) == []


def test_a_run_with_nothing_left_to_grade_starts_nothing_and_force_grades_all(course,
                                                                              monkeypatch):
    submit(course, "a")
    mark_graded(course, "a")

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started")

    monkeypatch.setattr(coordinator, "ProcessPoolExecutor", no_pool)
    assert coordinator.grade(course, ASSIGNMENT, jobs=1, sandboxed=False,
                             progress=False) == []
    with pytest.raises(AssertionError, match="worker pool was started"):
        coordinator.grade(course, ASSIGNMENT, jobs=1, sandboxed=False, progress=False,
                          force=True)


class FakeGradebook:
    """What record() asks of the gradebook: every notebook scores 1 of 2."""

    def __init__(self, *args):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def find_submission_notebook(self, notebook, assignment, student):
        return SimpleNamespace(score=1, max_score=2)


def test_grading_json_is_written_once_all_notebooks_of_the_submission_are_saved(
        course, monkeypatch):
    monkeypatch.setattr(coordinator, "Gradebook", FakeGradebook)
    monkeypatch.setattr(coordinator, "notebook_names", lambda course, a: ["nb1", "nb2"])
    saved = []
    monkeypatch.setattr(coordinator, "save_or_zero",
                        lambda course, job, config: saved.append(job.result.student))
    jobs = {(s, nb): Job(NotebookResult(s, ASSIGNMENT, nb, runtime=1.5), "", {})
            for s in ("s1", "s2") for nb in ("nb1", "nb2")}
    for s in ("s1", "s2"):
        (course.autograded / s / ASSIGNMENT).mkdir(parents=True)

    def outcomes():
        for key in [("s1", "nb2"), ("s2", "nb1"), ("s1", "nb1")]:
            yield jobs[key], jobs[key]
        raise KeyboardInterrupt  # the coordinator is interrupted here

    with pytest.raises(KeyboardInterrupt):
        coordinator.collect_results(course, ASSIGNMENT, 2, outcomes(), "grade",
                                    progress=False, sandboxed=True)
    assert saved == ["s1", "s2", "s1"]
    assert not (course.autograded / "s2" / ASSIGNMENT / "grading.json").exists()
    info = json.loads((course.autograded / "s1" / ASSIGNMENT / "grading.json").read_text())
    assert info["sandboxed"] is True
    assert [(r["notebook"], r["score"], r["max_score"], r["runtime"])
            for r in info["notebooks"]] == [("nb1", 1.0, 2.0, 1.5), ("nb2", 1.0, 2.0, 1.5)]
    assert [p.name for p in (course.autograded / "s1" / ASSIGNMENT).iterdir()] == \
        ["grading.json"], "no partial file left behind"


def test_course_grade_says_how_many_it_skipped_and_that_force_regrades_them(
        course, monkeypatch, capsys):
    from autograder.cli import main

    for student in ("a", "b", "c"):
        submit(course, student)
    mark_graded(course, "a")
    mark_graded(course, "b")
    calls = []
    monkeypatch.setattr(coordinator, "grade",
                        lambda *args, **kwargs: calls.append(kwargs["force"]) or [])
    assert main(["--root", str(course.root), "grade", ASSIGNMENT, "--no-progress"]) == 0
    assert capsys.readouterr().out == ("2 submission(s) skipped: already graded, nothing "
                                       "submitted since (--force regrades them)\n")
    assert main(["--root", str(course.root), "grade", ASSIGNMENT, "--no-progress",
                 "--force"]) == 0
    assert capsys.readouterr().out == ""
    assert calls == [False, True]


# ------------------------------------------------------------------ a real run (slow)


def cell_scores(course, students) -> dict:
    """student -> grade cell -> score, from the gradebook."""
    with Gradebook(course.db_url, course.course_id()) as gb:
        return {s: {g.name: g.score for g in
                    gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).grades}
                for s in students}


def grading_files(course, students) -> dict:
    """student -> its grading.json without the run times."""
    found = {}
    for s in students:
        path = course.autograded / s / ASSIGNMENT / "grading.json"
        info = json.loads(path.read_text()) if path.is_file() else None
        for row in (info or {}).get("notebooks", []):
            row.pop("runtime")
        found[s] = info
    return found


def count_saves(monkeypatch, stop_after: int | None = None) -> collections.Counter:
    """Count the coordinator's saves per student; KeyboardInterrupt instead of save number
    ``stop_after + 1`` (an interrupted coordinator)."""
    saved: collections.Counter = collections.Counter()
    real = REAL_SAVE

    def save_or_zero(course, job, config):
        if stop_after is not None and sum(saved.values()) == stop_after:
            raise KeyboardInterrupt
        real(course, job, config)
        saved[job.result.student] += 1

    monkeypatch.setattr(coordinator, "save_or_zero", save_or_zero)
    return saved


@pytest.mark.slow
def test_an_interrupted_run_started_again_grades_only_the_rest(tmp_path, bank, monkeypatch,
                                                               capfd):
    from autograder.demo.compare import copy_course
    from autograder.demo.simulate import simulate
    from autograder.release.steps import release

    course = copy_fixture(tmp_path / "course")
    release(course, ASSIGNMENT)
    students = [s.student for s in simulate(course, ASSIGNMENT, n=6, seed=0, bank=bank)]
    clean = copy_course(course, tmp_path / "clean")
    coordinator.grade(clean, ASSIGNMENT, jobs=2, limits=TEST_LIMITS, progress=False)

    first = count_saves(monkeypatch, stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        coordinator.grade(course, ASSIGNMENT, jobs=2, limits=TEST_LIMITS, progress=False)
    assert sum(first.values()) == 2
    marked = {s for s in students
              if (course.autograded / s / ASSIGNMENT / "grading.json").is_file()}
    assert marked == set(first), "exactly the finished submissions are marked graded"

    again = count_saves(monkeypatch)
    capfd.readouterr()
    results = coordinator.grade(course, ASSIGNMENT, jobs=2, limits=TEST_LIMITS)
    _, err = capfd.readouterr()
    assert again == {s: 1 for s in students if s not in first}
    assert {r.student for r in results} == set(again)
    assert re.findall(r"grade ps1: .*?(\d+/\d+)", err)[-1] == "4/4", "counts this run"
    assert cell_scores(course, students) == cell_scores(clean, students)
    assert grading_files(course, students) == grading_files(clean, students)

    resubmitted = students[1]
    path = course.submitted / resubmitted / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    time.sleep(0.1)
    os.utime(path)  # handed in again, after it was graded
    once_more = count_saves(monkeypatch)
    coordinator.grade(course, ASSIGNMENT, jobs=2, limits=TEST_LIMITS, progress=False)
    assert once_more == {resubmitted: 1}

    forced = count_saves(monkeypatch)
    coordinator.grade(course, ASSIGNMENT, jobs=2, limits=TEST_LIMITS, progress=False,
                      force=True)
    assert forced == {s: 1 for s in students}
    assert cell_scores(course, students) == cell_scores(clean, students)
    assert grading_files(course, students) == grading_files(clean, students)
