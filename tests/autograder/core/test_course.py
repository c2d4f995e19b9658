"""The course directory (``autograder.core.course``) on the fixture course."""

import pytest

from autograder.core.course import Course


def test_course_reads_the_fixture_config(course):
    assert course.assignments() == ["ps1"]
    assert course.course_id() == "fixture" and course.cell_timeout() == 8
    with pytest.raises(ValueError, match="Invalid course root"):
        Course.at(course.root / "nope")
