"""A PostgreSQL gradebook (issue 24): the ``db_url`` an instructor configures is respected,
a copy of a course keeps a SQLite gradebook of its own, and release, grading, export and the
formgrader's manual grading (two graders at once) on a real PostgreSQL server give what
SQLite gives.

The server is a throw-away one (``tests/autograder/postgres_server.py``); the tests that
need it fail when PostgreSQL is not installed (``make test`` installs it) unless
``COURSE_SKIP_POSTGRES=1`` says to skip them on purpose.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from multiprocessing import get_context
from pathlib import Path

import postgres_server
import pytest
from fixture_course import ASSIGNMENT, copy_fixture
from traitlets.config.loader import PyFileConfigLoader

from autograder.cli import main
from autograder.core.course import Course, copy_config, sqlite_url
from autograder.demo.compare import copy_course, scores
from autograder.verbs.demo import prepare_root
from autograder.verbs.doctor import gradebook_check
from autograder.verbs.release import CHECK_STUDENT, scratch_course

SECRET = "s3cret-pw"
STUDENTS = 6  # a full, a blank, a syntax error, invalid JSON and two known mistakes


def configure(course: Course, url: str) -> Course:
    """The instructor's line in ``nbgrader_config.py``."""
    with (course.root / "nbgrader_config.py").open("a") as handle:
        handle.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
    return course


def nbgrader_sees(root: Path) -> str:
    """The gradebook URL nbgrader's own tools (formgrader, ``nbgrader autograde``) use when
    they load the course's configuration."""
    from nbgrader.coursedir import CourseDirectory

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return CourseDirectory(config=config).db_url


# --- the configured URL (no server needed) -------------------------------------------------


def test_a_configured_db_url_wins_and_sqlite_at_the_root_is_the_default(tmp_path):
    course = copy_fixture(tmp_path / "course")
    default = f"sqlite:///{course.root / 'gradebook.db'}"
    assert course.db_url == default == sqlite_url(course.root)
    assert course.config().CourseDirectory.db_url == default
    configure(course, "")  # empty: the default, not an empty URL
    assert course.db_url == default
    url = f"postgresql://grader:{SECRET}@db.example.org:5432/optdl"
    configure(course, url)
    assert course.db_url == url
    assert course.config().CourseDirectory.db_url == url
    assert course.coursedir().db_url == url  # what nbgrader's converters get from us
    assert nbgrader_sees(course.root) == url  # and what the formgrader reads itself
    configure(course, "sqlite:///books/grades.db")  # relative: from the course root
    assert course.db_url == f"sqlite:///{course.root / 'books' / 'grades.db'}"


def test_every_process_sees_the_same_url(tmp_path):
    # Grading workers are spawned and call Course.at(root): the URL comes from the file, not
    # from the process that started them (a worker started elsewhere sees the same).
    url = f"postgresql://grader:{SECRET}@db.example.org:5432/optdl"
    course = configure(copy_fixture(tmp_path / "course"), url)
    code = ("import sys\nfrom autograder.core.course import Course\n"
            "c = Course.at(sys.argv[1])\nprint(c.db_url)\n"
            "print(c.config().CourseDirectory.db_url)")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-c", code, str(course.root)], cwd=elsewhere,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == [url, url]


def test_a_copy_of_a_course_has_its_own_sqlite_gradebook(tmp_path):
    url = f"postgresql://grader:{SECRET}@db.example.org:5432/optdl"
    course = configure(copy_fixture(tmp_path / "course"), url)
    (tmp_path / "copy").mkdir()
    copy_config(course.root, tmp_path / "copy")
    copy = Course.at(tmp_path / "copy")
    assert copy.db_url == sqlite_url(copy.root)
    assert nbgrader_sees(copy.root) == sqlite_url(copy.root)  # plain nbgrader too
    assert copy.course_id() == "fixture" and copy.cell_timeout() == 8  # the rest is kept
    moved = Course.at(shutil.copytree(copy.root, tmp_path / "moved"))
    assert moved.db_url == sqlite_url(moved.root), "a moved copy follows its directory"
    demo = prepare_root(course, tmp_path / "demo")
    assert demo.db_url == sqlite_url(demo.root)
    assert course.db_url == url, "the original is unchanged"


def test_a_gradebook_server_that_is_down_is_one_clear_sentence(tmp_path, capsys):
    port = postgres_server.free_port()  # nothing listens there
    url = f"postgresql://grader:{SECRET}@127.0.0.1:{port}/optdl"
    course = configure(copy_fixture(tmp_path / "course"), url)
    shown = f"postgresql://grader:***@127.0.0.1:{port}/optdl"
    for verb in (["grade", ASSIGNMENT, "--no-progress"], ["release", ASSIGNMENT]):
        assert main(["--root", str(course.root), *verb]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"course {verb[0]}: the gradebook database {shown} "
                              "(CourseDirectory.db_url in nbgrader_config.py) cannot be "
                              "reached: "), err
        assert "Connection refused" in err and SECRET not in err
    assert not course.release.exists() and not course.autograded.exists(), "nothing done"
    ok, line = gradebook_check(course)
    assert not ok and line.startswith(f"gradebook: [FAIL] the gradebook database {shown}")
    done = subprocess.run([sys.executable, "-m", "autograder", "--root", str(course.root),
                           "grade", ASSIGNMENT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "cannot be reached" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout


# --- a real PostgreSQL server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL server for this module (stopped and removed at the end)."""
    bin_dir = postgres_server.bindir()
    if bin_dir is None:
        if os.environ.get(postgres_server.SKIP) == "1":
            pytest.skip(postgres_server.MISSING + "; skipped because COURSE_SKIP_POSTGRES=1")
        pytest.fail(postgres_server.MISSING + "; set COURSE_SKIP_POSTGRES=1 to skip the "
                    "PostgreSQL tests on purpose")
    with postgres_server.running(bin_dir) as server:
        yield server


def grade_args() -> list[str]:
    from autograder.sandbox import bwrap

    return [] if bwrap.available() else ["--no-sandbox"]


@pytest.fixture(scope="module")
def classes(postgres, tmp_path_factory, bank):
    """The same small class of the fixture course graded twice by the ``course`` verbs:
    with the default SQLite gradebook, and with the course configured for PostgreSQL (an
    empty database: nbgrader creates its tables). Both exported to ``<root>/export``."""
    from autograder.demo.simulate import simulate
    from autograder.release.steps import generate

    top = tmp_path_factory.mktemp("gradebooks")
    lite = copy_fixture(top / "sqlite")
    pg = configure(copy_fixture(top / "postgres"), postgres.database("optdl"))
    assert main(["--root", str(pg.root), "release", ASSIGNMENT]) == 0  # with the gate
    generate(lite, ASSIGNMENT)  # the same student version (checked just above)
    simulate(lite, ASSIGNMENT, n=STUDENTS, seed=3, bank=bank)
    shutil.copytree(lite.submitted, pg.submitted)
    for course in (lite, pg):
        assert main(["--root", str(course.root), "grade", ASSIGNMENT, "--jobs", "2",
                     "--no-progress", *grade_args()]) == 0
        assert main(["--root", str(course.root), "export", "--out",
                     str(course.root / "export")]) == 0
    return lite, pg


def gradebook_cells(course: Course) -> dict:
    """(student, notebook, cell) -> what the gradebook holds for it, plus each total."""
    from nbgrader.api import Gradebook

    cells = {}
    with Gradebook(course.db_url, course.course_id()) as gb:
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            student = sub.student.id
            cells[(student, "total")] = (sub.score, sub.max_score)
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[(student, nb.name, g.name)] = (
                        g.auto_score, g.manual_score, g.extra_credit, g.max_score,
                        g.needs_manual_grade)
                for c in nb.comments:
                    cells[(student, nb.name, c.name, "comment")] = (c.auto_comment,
                                                                     c.manual_comment)
    return cells


@pytest.mark.slow
def test_grading_on_postgres_gives_the_sqlite_scores(classes, postgres):
    lite, pg = classes
    assert pg.db_url.startswith("postgresql://") and lite.db_url.startswith("sqlite:///")
    assert not (pg.root / "gradebook.db").exists(), "nothing went to SQLite"
    assert "public.grade" in postgres.tables("optdl")
    expected = gradebook_cells(lite)
    assert len([k for k in expected if k[1] == "total"]) == STUDENTS
    assert len({k[0] for k in expected}) == STUDENTS
    assert gradebook_cells(pg) == expected
    totals = sorted(v[0] for k, v in expected.items() if k[1] == "total")
    assert totals[0] == 0 and totals[-1] == 10, "a blank and a full solution among them"
    assert len(set(totals)) >= 3


@pytest.mark.slow
def test_export_on_postgres_writes_the_sqlite_files(classes):
    lite, pg = classes
    for name in ("grades.csv", "questions.csv"):
        ours = (pg.root / "export" / name).read_text()
        assert ours == (lite.root / "export" / name).read_text(), name
        assert len(ours.splitlines()) > STUDENTS


@pytest.mark.slow
def test_copies_of_a_postgres_course_write_nothing_to_postgres(classes, postgres, tmp_path):
    from nbgrader.api import Gradebook

    _, pg = classes
    # The release gate graded the solution as a student of its scratch copy: not here.
    with Gradebook(pg.db_url, pg.course_id()) as gb:
        assert CHECK_STUDENT not in {s.id for s in gb.students}
        assert len(gb.students) == STUDENTS
    # A course configured for a database nobody has written yet: after a scratch copy is
    # released (its gradebook written), the demo's copy and compare's copy, it is still empty.
    untouched = postgres.database("untouched")
    course = configure(copy_fixture(tmp_path / "course"), untouched)
    scratch = scratch_course(course, ASSIGNMENT, tmp_path / "scratch")
    assert scratch.db_url == sqlite_url(scratch.root)
    with Gradebook(scratch.db_url, scratch.course_id()) as gb:
        assert [a.name for a in gb.assignments] == [ASSIGNMENT]
    assert prepare_root(course, tmp_path / "demo").db_url.startswith("sqlite:///")
    assert copy_course(course, tmp_path / "copy").db_url.startswith("sqlite:///")
    assert postgres.tables("untouched") == []
    # compare's copy of the graded course: the rows read from PostgreSQL into its own SQLite.
    before = gradebook_cells(pg)
    copied = copy_course(pg, tmp_path / "copied")
    assert copied.db_url == sqlite_url(copied.root)
    assert gradebook_cells(copied) == before == gradebook_cells(pg)
    assert scores(copied, ASSIGNMENT) == scores(pg, ASSIGNMENT)


# --- the formgrader's writes ----------------------------------------------------------------


def put_grade(gb, grade_id: str, manual_score, extra_credit) -> dict:
    """What the formgrader's ``GradeHandler.put`` does (nbgrader's apihandlers.py)."""
    grade = gb.find_grade_by_id(grade_id)
    grade.manual_score = manual_score
    grade.extra_credit = extra_credit
    grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
    gb.db.commit()
    return grade.to_dict()


def put_comment(gb, comment_id: str, text) -> dict:
    """What the formgrader's ``CommentHandler.put`` does."""
    comment = gb.find_comment_by_id(comment_id)
    comment.manual_comment = text
    gb.db.commit()
    return comment.to_dict()


ROUNDS = 3  # each grader writes its cells this many times (the last values stay)


def grader(name: str, url: str, course_id: str, writes: list, same: tuple, barrier, queue):
    """One teaching assistant's formgrader (its own process and ``Gradebook``): ``writes``
    as fast as it can, then ``same`` again and again while the other grader writes it too.
    ``writes``: (kind, id, final value); earlier rounds write other values first."""
    try:
        from nbgrader.api import Gradebook

        with Gradebook(url, course_id) as gb:
            barrier.wait(120)
            for last in [False] * (ROUNDS - 1) + [True]:
                for kind, ident, value in writes:
                    if kind == "grade":
                        put_grade(gb, ident, *(value if last else (9.0, None)))
                    else:
                        put_comment(gb, ident, value if last else f"draft by {name}")
            barrier.wait(120)
            for _ in range(20):
                put_grade(gb, same[0], same[1], None)
        queue.put((name, "ok"))
    except BaseException as err:
        queue.put((name, f"{type(err).__name__}: {err}"))
        raise


def formgrader_ids(course: Course) -> dict:
    """student -> {grade cell or comment name: id}, as the formgrader's pages hold them."""
    from nbgrader.api import Gradebook

    ids = {}
    with Gradebook(course.db_url, course.course_id()) as gb:
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            nb = sub.notebooks[0]
            ids[sub.student.id] = {
                "grades": {g.name: g.id for g in nb.grades},
                "auto": {g.name: g.auto_score or 0.0 for g in nb.grades},
                "comments": {c.name: c.id for c in nb.comments},
            }
    return ids


def exported_scores(folder: Path) -> tuple[dict, dict]:
    """(student -> total in grades.csv, (student, question) -> score in questions.csv)."""
    rows = list(csv.DictReader(io.StringIO((folder / "grades.csv").read_text())))
    totals = {r["student_id"]: float(r["score"]) for r in rows}
    rows = list(csv.DictReader(io.StringIO((folder / "questions.csv").read_text())))
    return totals, {(r["student"], r["question"]): float(r["score"]) for r in rows}


@pytest.mark.slow
def test_manual_grading_by_two_graders_at_once_on_postgres(classes, postgres, tmp_path):
    from nbgrader.api import Gradebook

    lite, graded = classes
    # The graded course and a copy of its database (the other tests keep theirs).
    pg = configure(Course.at(shutil.copytree(graded.root, tmp_path / "course")),
                   postgres.database("manual", template="optdl"))
    ids = formgrader_ids(pg)
    students = sorted(ids)
    cid = pg.course_id()
    # One grader: a manual score with extra credit, and a comment.
    first = students[0]
    with Gradebook(pg.db_url, cid) as gb:
        done = put_grade(gb, ids[first]["grades"]["test_squares"], 1.5, 0.5)
        assert (done["manual_score"], done["extra_credit"]) == (1.5, 0.5)
        assert gb.find_grade_by_id(done["id"]).score == 2.0
        put_comment(gb, ids[first]["comments"]["squares"], "np.asarray first, see lecture 2")
    expected = {(first, "test_squares"): (1.5, 0.5)}
    comments = {(first, "squares"): "np.asarray first, see lecture 2"}
    # Two graders at once, each on submissions of its own: every grade cell and comment.
    plans = {"A": students[1:3], "B": students[3:5]}
    writes = {}
    for name, mine in plans.items():
        writes[name] = []
        for i, student in enumerate(mine):
            for j, (cell, grade_id) in enumerate(sorted(ids[student]["grades"].items())):
                value = (float(j + i) / 2, 0.25 if name == "A" else None)
                writes[name].append(("grade", grade_id, value))
                expected[(student, cell)] = value
            for cell, comment_id in sorted(ids[student]["comments"].items()):
                text = f"grader {name} on {student}/{cell}: ok"
                writes[name].append(("comment", comment_id, text))
                comments[(student, cell)] = text
    same_cell = (students[5], "test_ema_step")
    same_id = ids[same_cell[0]]["grades"][same_cell[1]]
    ctx = get_context("fork")  # each child opens its own Gradebook (nothing open now)
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=grader, args=(name, pg.db_url, cid, writes[name],
                                              (same_id, 1.0 if name == "A" else 2.0),
                                              barrier, queue))
             for name in plans]
    for proc in procs:
        proc.start()
    try:
        outcome = dict(queue.get(timeout=240) for _ in procs)
    finally:
        for proc in procs:
            proc.join(60)
            if proc.is_alive():
                proc.kill()
    assert outcome == {"A": "ok", "B": "ok"}
    assert [p.exitcode for p in procs] == [0, 0]
    # Every write is there; the cell both wrote holds one of the two values.
    with Gradebook(pg.db_url, cid) as gb:
        for (student, cell), (manual, extra) in expected.items():
            grade = gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student)
            assert (grade.manual_score, grade.extra_credit) == (manual, extra), (student, cell)
            assert grade.needs_manual_grade is False
        for (student, cell), text in comments.items():
            comment = gb.find_comment(cell, ASSIGNMENT, ASSIGNMENT, student)
            assert comment.manual_comment == text, (student, cell)
        same = gb.find_grade(same_cell[1], ASSIGNMENT, ASSIGNMENT, same_cell[0]).manual_score
        assert same in (1.0, 2.0)
    expected[same_cell] = (same, None)
    # `course export` has the manual scores.
    assert main(["--root", str(pg.root), "export", "--out", str(tmp_path / "export")]) == 0
    totals, questions = exported_scores(tmp_path / "export")
    for student in students:
        want = 0.0
        for cell, auto in ids[student]["auto"].items():
            manual, extra = expected.get((student, cell), (None, None))
            score = (auto if manual is None else manual) + (extra or 0.0)
            assert questions[(student, cell)] == score, (student, cell)
            want += score
        assert totals[student] == pytest.approx(want), student
    before, _ = exported_scores(lite.root / "export")
    assert totals[first] == before[first] - ids[first]["auto"]["test_squares"] + 2.0
    assert gradebook_cells(graded) == gradebook_cells(lite), "written to the copy only"
