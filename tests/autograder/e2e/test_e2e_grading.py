"""End to end on the fixture course: release, simulated class, every malformed case."""

from __future__ import annotations

import html
from collections import Counter

import pytest
from fixture_course import BANK_DIR

from autograder.core import notebooks as nbk
from autograder.demo.mistakes import load_bank

pytestmark = pytest.mark.slow
FULL = 10.0  # 3 + 3 + 4 points in the fixture assignment


def test_full_solution_gets_full_marks_and_blank_gets_zero(graded):
    _, students, results = graded
    kinds = {s.student: s.kind for s in students}
    for student, kind in kinds.items():
        if kind == "full":
            assert results[student].score == FULL, results[student]
        if kind in ("blank", "invalid-json"):
            assert results[student].score == 0.0, results[student]


def test_every_mistake_loses_points_and_is_named_in_feedback(graded, bank):
    course, students, results = graded
    by_name = {m.name: m for m in bank}
    seen = set()
    for s in students:
        if s.kind != "mistakes":
            continue
        assert results[s.student].score < FULL, (s, results[s.student])
        page = (course.feedback / s.student / "ps1" / "ps1.html").read_text()
        for name in s.mistakes:
            assert by_name[name].named in page, (s, name)
            seen.add(name)
    assert seen == set(by_name), "every mistake of the bank is tried at least once"


@pytest.mark.parametrize(
    "student, score, reason",
    [
        ("x-malformed-json", 0.0, "unusable notebook: NotJSONError"),
        # the deleted test's 3 points are not earned, and the reason says why
        ("x-deleted-test", 7.0, "grade cells missing from the submission"),
        ("x-deleted-all-tests", 0.0, "test_squares, test_gd_step, test_ema_step"),
        # broken files: what can be read is read, graded, and the repair noted
        ("x-bom", FULL, "byte-order mark was removed"),
        ("x-bad-byte", FULL, "invalid UTF-8 sequence(s) replaced"),
        ("x-no-metadata", FULL, "had no top-level metadata"),
        ("x-source-not-string", 0.0, "the source of cell 6 (squares) is dict, not text"),
        ("x-bad-timestamp", FULL, "timestamp.txt could not be read as a date"),
        ("x-duplicated-test", FULL, None),  # nbgrader's DeduplicateIds keeps the first
        ("x-wrong-kernel", FULL, None),  # kernelspec restored from the source
        ("x-huge-output", FULL, None),  # LimitOutput truncates
        ("x-infinite-loop", FULL, "cell timeout in gd_step"),  # interrupted, then goes on
        ("x-sys-exit", FULL, None),  # SystemExit is an error in its cell only
        ("x-os-exit", 3.0, "the kernel died"),  # only the test before the exit ran
        ("x-memory", FULL, None),  # MemoryError in its cell, the function was defined
        ("x-warning", FULL, None),  # a RuntimeWarning on stderr costs nothing
        ("x-renamed", FULL, "notebook renamed: my_homework.ipynb"),
    ],
)
def test_malformed_submissions_get_what_they_earned(graded, student, score, reason):
    _, _, results = graded
    result = results[student]
    assert result.score == score, result
    if reason:
        assert any(reason in r for r in result.reasons), result.reasons


def test_memory_limit_is_what_stopped_the_big_allocation(graded):
    course, _, _ = graded
    nb = nbk.read(course.autograded / "x-memory" / "ps1" / "ps1.ipynb")
    errors = [o.get("ename") for o in nbk.cell_by_id(nb, "squares").outputs]
    assert "MemoryError" in errors


def test_huge_output_is_truncated(graded):
    course, _, _ = graded
    nb = nbk.read(course.autograded / "x-huge-output" / "ps1" / "ps1.ipynb")
    text = "".join(o.get("text", "") for o in nbk.cell_by_id(nb, "squares").outputs)
    assert 0 < text.count("spam") <= 1000


def test_feedback_never_shows_hidden_test_source(graded, source_nb):
    course, _, _ = graded
    hidden = nbk.hidden_test_lines(source_nb)
    assert len(hidden) > 5
    pages = list(course.feedback.rglob("*.html"))
    assert len(pages) >= 20
    for page in pages:
        text = page.read_text()
        plain = html.unescape(text)
        for line in hidden:
            assert line not in text and line not in plain, (page, line)
        assert "Traceback" not in plain and "BEGIN HIDDEN" not in plain


def test_export_writes_nbgrader_csv_and_question_csv(graded):
    import csv

    course, students, _ = graded
    grades = list(csv.DictReader((course.root / "grades.csv").open()))
    questions = list(csv.DictReader((course.root / "questions.csv").open()))
    assert {r["student_id"] for r in grades} >= {s.student for s in students}
    assert len(questions) == 3 * len(grades)
    named = {r["known_mistakes"] for r in questions if r["known_mistakes"]}
    assert named, "the per-question CSV names the diagnosed mistakes"


def test_report_is_one_self_contained_page(graded):
    course, students, _ = graded
    text = (course.reports / "ps1.html").read_text()
    assert text.count("data:image/png;base64,") >= 3
    assert "src=\"http" not in text and "<script src" not in text
    # the mistakes section: a table, not "None.", with every bank mistake the simulated
    # class made and how many students made it
    section = text.split("<h2>Most frequent diagnosed mistakes</h2>", 1)[1].split("<h2>", 1)[0]
    assert section.startswith("<table>") and "None." not in section, section
    made = Counter(name for s in students if s.kind == "mistakes" for name in s.mistakes)
    for m in load_bank("ps1", BANK_DIR):
        assert made[m.name], f"nobody in the class made {m.name}: the check would be empty"
        assert f"<tr><td>{html.escape(m.named)}</td><td>{made[m.name]}</td></tr>" in section, \
            (m.name, section)


def test_broken_cases_give_only_the_real_reason(graded):
    _, _, results = graded
    for student in ("x-source-not-string", "x-bom", "x-bad-byte", "x-no-metadata",
                    "x-bad-timestamp", "x-deleted-all-tests"):
        reasons = "; ".join(results[student].reasons)
        assert "kernel died" not in reasons and "could not save" not in reasons, reasons
        assert "failed:" not in reasons, reasons


def test_deleted_grade_cells_are_named_as_missing_not_graded_by_hand(graded):
    course, _, _ = graded
    for student in ("x-deleted-all-tests", "x-deleted-test"):
        page = (course.feedback / student / "ps1" / "ps1.html").read_text()
        assert "graded by hand" not in page, student
        assert "deleted from your notebook" in page and "grade cells missing" in page
    import csv

    rows = [r for r in csv.DictReader((course.root / "questions.csv").open())
            if r["student"] == "x-deleted-all-tests"]
    assert {r["status"] for r in rows} == {"missing"}, rows


def test_a_bad_byte_is_replaced_not_fatal(graded):
    course, _, _ = graded
    nb = nbk.read(course.autograded / "x-bad-byte" / "ps1" / "ps1.ipynb")
    assert "caf\ufffd" in nbk.cell_by_id(nb, "squares").source
