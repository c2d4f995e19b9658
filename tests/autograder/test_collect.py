"""course collect: placement rules and the report of what could not be placed."""

import zipfile

import pytest

from autograder.collect import collect, identify


def test_identify_reads_student_and_assignment_from_the_name():
    assert identify("s042_ps1.ipynb", ["ps1"], None) == (("s042", "ps1"), None)
    assert identify("s042/anything.ipynb", ["ps1"], "ps1") == (("s042", "ps1"), None)
    assert identify("s042.ipynb", ["ps1", "ps2"], None)[1] == "no known assignment in the name"
    assert identify("notes.txt", ["ps1"], "ps1")[1] == "not a notebook (.ipynb)"
    assert "no student id" in identify("_x_ps1.ipynb", ["ps1"], None)[1]


def test_collect_a_zip_places_registers_and_reports(course):
    from nbgrader.api import Gradebook

    archive = course.root / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("s001_ps1.ipynb", "{}")
        zf.writestr("s002_ps1_late.ipynb", "{}")
        zf.writestr("s001_ps1_again.ipynb", "{}")
        zf.writestr("readme.txt", "hello")
        zf.writestr("__MACOSX/s003_ps1.ipynb", "junk")
    report = collect(course, archive)
    assert sorted(report.placed.values()) == [
        "submitted/s001/ps1/ps1.ipynb", "submitted/s002/ps1/ps1.ipynb"]
    assert report.rejected["readme.txt"] == "not a notebook (.ipynb)"
    assert "duplicate submission of ps1 by s001" in report.rejected["s001_ps1_again.ipynb"]
    assert "__MACOSX/s003_ps1.ipynb" not in report.rejected
    with Gradebook(course.db_url, course.course_id()) as gb:
        assert sorted(s.id for s in gb.students) == ["s001", "s002"]


def test_collect_a_folder_with_one_folder_per_student(course, tmp_path):
    (tmp_path / "in" / "alice").mkdir(parents=True)
    (tmp_path / "in" / "alice" / "homework.ipynb").write_text("{}")
    report = collect(course, tmp_path / "in", assignment="ps1")
    assert report.placed == {"alice/homework.ipynb": "submitted/alice/ps1/ps1.ipynb"}
    with pytest.raises(ValueError, match="Invalid assignment"):
        collect(course, tmp_path / "in", assignment="nope")
    with pytest.raises(ValueError, match="Invalid source"):
        collect(course, tmp_path / "missing")
