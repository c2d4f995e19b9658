"""Feedback pages (``autograder.results.feedback``) on hand-made results (no kernel): escaped,
the known mistakes named, nothing hidden shown, a leaking page withheld."""

import pytest
from hand_made import submission

from autograder.results.feedback import LeakError, check_no_leak
from autograder.results.feedback import render as render_feedback
from autograder.results.load import REDACTED, Question, Submission

HIDDEN = {"assert secret_value(3) == 9"}




def test_feedback_page_escapes_and_names_the_mistake():
    page = render_feedback(submission(mistakes=["adds the gradient"]), "Feedback")
    assert "<b>bad</b>" not in page and "&lt;b&gt;bad&lt;/b&gt;" in page
    assert "Known mistake:</b> adds the gradient" in page
    assert "4 / 5" in page and "cell timeout in f" in page


def test_a_marker_named_as_a_known_mistake_is_redacted():
    sub = submission(mistakes=["### BEGIN HIDDEN TESTS", "assert secret_value(3) == 9"])
    page = render_feedback(sub, "Feedback", HIDDEN)
    assert "BEGIN HIDDEN" not in page and "secret_value" not in page
    assert f"Known mistake:</b> {REDACTED}" in page


def test_leak_check_catches_plain_and_escaped_hidden_lines():
    hidden = {"_hidden_w = np.array([2.0, -1.0])"}
    check_no_leak("<p>nothing</p>", hidden, "page")
    for text in ("x _hidden_w = np.array([2.0, -1.0]) y",
                 "_hidden_w = np.array([2.0, -1.0])".replace("_", "&#95;")):
        with pytest.raises(LeakError):
            check_no_leak(text, hidden, "page")


def test_a_page_that_fails_the_leak_check_is_withheld_alone(course, monkeypatch):
    from autograder.results import feedback as fb
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


def test_a_written_answer_not_graded_yet_says_so_instead_of_zero():
    sub = submission(score=2.0)
    sub.questions.append(Question("s1", "ps1", "explain", 0.0, 4.0, manual=True, pending=True))
    page = render_feedback(sub, "Feedback")
    assert "<td class=bad>- / 4</td><td>graded by hand: not graded yet</td>" in page
    assert "4 of them are graded by hand and not graded yet." in page
    sub.questions[-1] = Question("s1", "ps1", "explain", 3.0, 4.0, manual=True)
    page = render_feedback(sub, "Feedback")
    assert "3 / 4</td><td>graded by hand</td>" in page and "not graded yet" not in page
