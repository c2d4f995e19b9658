"""course collect: placement rules and the report of what could not be placed."""

import io
import shutil
import zipfile

import pytest
from fixture_course import copy_fixture
from nbgrader.api import Gradebook

from autograder.collect import collect, identify
from autograder.core.course import Course


@pytest.fixture(scope="module")
def course_with_gradebook(tmp_path_factory) -> Course:
    """The fixture course with its gradebook created, once: nbgrader creates a new gradebook
    by running ``alembic`` in a subprocess (seconds), and ``collect`` registers students."""
    course = copy_fixture(tmp_path_factory.mktemp("collect") / "course")
    with Gradebook(course.db_url, course.course_id()):
        pass
    assert (course.root / "gradebook.db").is_file()
    return course


@pytest.fixture
def course(course_with_gradebook, tmp_path) -> Course:
    """A fresh copy of the fixture course and its empty gradebook (copying the file is fast)."""
    shutil.copytree(course_with_gradebook.root, tmp_path / "course")
    return Course.at(tmp_path / "course")


def test_identify_reads_student_and_assignment_from_the_name():
    assert identify("s042_ps1.ipynb", ["ps1"], None) == (("s042", "ps1"), None)
    assert identify("s042/anything.ipynb", ["ps1"], "ps1") == (("s042", "ps1"), None)
    assert identify("s042.ipynb", ["ps1", "ps2"], None)[1] == "no known assignment in the name"
    assert identify("notes.txt", ["ps1"], "ps1")[1] == "not a notebook (.ipynb)"
    assert "no student id" in identify("_x_ps1.ipynb", ["ps1"], None)[1]


def test_collect_a_zip_places_registers_and_reports(course):
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


def test_a_zip_bomb_and_a_damaged_member_are_skipped_and_the_rest_placed(course):
    archive = course.root / "lms.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("s001_ps1.ipynb", "{}")
        with zf.open("s002_ps1.ipynb", "w") as handle:  # 48 MiB of zeros: 48 KiB zipped
            for _ in range(48):
                handle.write(bytes(1 << 20))
        zf.writestr("s003_ps1.ipynb", "x" * 5000)
        zf.writestr("s004_ps1.ipynb", "{}")
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("s003_ps1.ipynb")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start:start + 8] = b"\xff" * 8  # damage its compressed bytes
    archive.write_bytes(bytes(data))
    report = collect(course, archive)
    assert sorted(report.placed) == ["s001_ps1.ipynb", "s004_ps1.ipynb"]
    assert "larger than 32 MiB" in report.rejected["s002_ps1.ipynb"]
    assert "damaged" in report.rejected["s003_ps1.ipynb"]
    assert not (course.submitted / "s002").exists()


def test_a_member_that_lies_about_its_size_is_not_placed(course):
    from autograder import collect as collect_module
    archive = course.root / "lms.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("s001_ps1.ipynb", "y" * 300_000)
        zf.writestr("s002_ps1.ipynb", "{}")
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("s001_ps1.ipynb")
        info.file_size = 10  # what the archive claims; the data is larger
        with pytest.raises(collect_module.Unreadable, match="damaged"):
            collect_module.zip_member(zf, info, 100_000)
    with pytest.raises(collect_module.Unreadable, match="larger than"):
        collect_module.read_limited(io.BytesIO(bytes(3 << 20)), 2 << 20)
    assert collect_module.read_limited(io.BytesIO(b"abc"), 3) == b"abc"


def test_links_in_a_collect_folder_are_never_followed(course, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "ps1.ipynb").write_text('{"solution": true}')
    src = tmp_path / "in"
    (src / "alice").mkdir(parents=True)
    (src / "alice" / "ps1.ipynb").write_text("{}")
    (src / "bob").mkdir()
    (src / "bob" / "ps1.ipynb").symlink_to(secret / "ps1.ipynb")
    (src / "carol").symlink_to(secret, target_is_directory=True)
    (src / "dave_ps1.ipynb").symlink_to(secret / "ps1.ipynb")
    report = collect(course, src, assignment="ps1")
    assert report.placed == {"alice/ps1.ipynb": "submitted/alice/ps1/ps1.ipynb"}
    assert report.rejected["bob/ps1.ipynb"] == "symbolic link: not followed"
    assert report.rejected["carol"] == "symbolic link to a folder: not followed"
    assert report.rejected["dave_ps1.ipynb"] == "symbolic link: not followed"
    # a link already under submitted/ is not written through either
    (course.submitted / "erin").symlink_to(secret, target_is_directory=True)
    (src / "erin").mkdir()
    (src / "erin" / "ps1.ipynb").write_text("{}")
    report = collect(course, src, assignment="ps1")
    assert "symbolic link" in report.rejected["erin/ps1.ipynb"]
    assert (secret / "ps1.ipynb").read_text() == '{"solution": true}'
    assert not (secret / "ps1").exists()
    with pytest.raises(ValueError, match="symbolic link"):
        collect(course, src / "carol", assignment="ps1")
