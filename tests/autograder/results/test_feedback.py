"""Feedback, report and message handling on hand-made results (no kernel)."""

from nbformat.v4 import new_code_cell, new_output

from autograder.feedback import render as render_feedback
from autograder.report import pass_rates
from autograder.report import render as render_report
from autograder.results import REDACTED, Question, Submission, failure_messages, redact

HIDDEN = {"assert secret_value(3) == 9"}


def test_redact_hides_lines_that_quote_a_hidden_test():
    text = "AssertionError: assert secret_value(3) == 9\nsecond line"
    assert redact(text, HIDDEN) == f"{REDACTED}\nsecond line"


def test_failure_messages_show_type_and_message_never_the_traceback():
    cell = new_code_cell("x")
    cell.outputs = [new_output("error", ename="AssertionError", evalue="wrong sign",
                               traceback=["Traceback", "assert secret_value(3) == 9"])]
    assert failure_messages(cell, HIDDEN) == ["AssertionError: wrong sign"]
    cell.outputs = [new_output("error", ename="AssertionError", evalue="", traceback=[])]
    assert failure_messages(cell, HIDDEN) == ["AssertionError: (no message)"]


def submission(student="s1", score=1.0, mistakes=()):
    q1 = Question(student, "ps1", "test_f", score, 2.0,
                  messages=["CheckError: <b>bad</b>"], mistakes=list(mistakes))
    q2 = Question(student, "ps1", "test_g", 3.0, 3.0)
    return Submission(student, "ps1", [q1, q2], runtime=0.5, reasons=["cell timeout in f"])


def test_feedback_page_escapes_and_names_the_mistake():
    page = render_feedback(submission(mistakes=["adds the gradient"]), "Feedback")
    assert "<b>bad</b>" not in page and "&lt;b&gt;bad&lt;/b&gt;" in page
    assert "Known mistake:</b> adds the gradient" in page
    assert "4 / 5" in page and "cell timeout in f" in page


def test_pass_rates_count_full_points_only():
    subs = [submission("a", 2.0), submission("b", 1.0), submission("c", 0.0)]
    assert pass_rates(subs) == {"test_f": 1 / 3, "test_g": 1.0}


def test_report_is_self_contained_and_lists_mistakes():
    subs = [submission("a", 0.0, ["adds the gradient"]), submission("b", 2.0)]
    page = render_report("ps1", subs)
    assert page.count("data:image/png;base64,") == 3
    assert "http" not in page
    assert "<td>adds the gradient</td><td>1</td>" in page
    assert "independent" not in page.lower() and "confirmed" not in page.lower()  # no phase B


def test_a_marker_named_as_a_known_mistake_is_redacted():
    sub = submission(mistakes=["### BEGIN HIDDEN TESTS", "assert secret_value(3) == 9"])
    page = render_feedback(sub, "Feedback", HIDDEN)
    assert "BEGIN HIDDEN" not in page and "secret_value" not in page
    assert f"Known mistake:</b> {REDACTED}" in page


def test_a_page_that_fails_the_leak_check_is_withheld_alone(course, monkeypatch):
    import pytest

    from autograder import feedback as fb

    subs = [submission("s1"), submission("s2"), submission("s3")]
    monkeypatch.setattr(fb, "load_results", lambda c, a: subs)
    monkeypatch.setattr(fb, "all_hidden_lines", lambda c: set(HIDDEN) | fb.MARKERS)
    real = fb.render

    def leaky(sub, title, hidden=frozenset()):  # a leak that no redaction catches
        page = real(sub, title, hidden)
        return page + "assert secret_value(3) == 9" if sub.student == "s2" else page

    monkeypatch.setattr(fb, "render", leaky)
    stale = course.feedback / "s2" / "ps1" / "ps1.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("an older page")
    with pytest.raises(fb.LeakError, match="1 page") as caught:
        fb.feedback(course, "ps1")
    assert sorted(p.parent.parent.name for p in caught.value.written) == ["s1", "s3"]
    assert [p.parent.parent.name for p in caught.value.withheld] == ["s2"]
    assert (course.feedback / "s1" / "ps1" / "ps1.html").exists()
    assert not stale.exists()


def test_a_missing_grade_cell_is_neither_manual_nor_failed_silently():
    q = Question("s1", "ps1", "test_f", 0.0, 2.0, missing=True)
    assert q.status == "missing" and not q.passed
    page = render_feedback(Submission("s1", "ps1", [q]), "Feedback")
    assert "graded by hand" not in page and "deleted from your notebook" in page


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(tmp_path):
    import csv

    from autograder.export import escape_csv, safe_cell

    for text in ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'):
        assert safe_cell(text) == "'" + text
    for value in ("-1.5", "+2", "1e-3", "plain", "", 3.0, -2.0, None):
        assert safe_cell(value) == value
    path = tmp_path / "grades.csv"
    path.write_text('student_id,first_name,score\ns1,=cmd|x,-1.0\ns2,"@a,b",3\n')
    escape_csv(path)
    rows = list(csv.reader(path.open(newline="")))
    assert rows == [["student_id", "first_name", "score"], ["s1", "'=cmd|x", "-1.0"],
                    ["s2", "'@a,b", "3"]]
