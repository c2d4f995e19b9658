"""Unit tests of the grading steps that need no kernel: the steps around nbgrader's, the
submissions located and read, the resources of a job."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grade.jobs import resources_for
from autograder.grade.steps import DropEmptyMetadata
from autograder.grade.submissions import locate


def cell_with(*outputs):
    cell = new_code_cell("x")
    cell.outputs = list(outputs)
    return new_notebook(cells=[cell])


def test_emptied_duplicate_metadata_is_removed():
    nb = cell_with()
    nb.cells[0].metadata["nbgrader"] = {}
    nb, _ = DropEmptyMetadata()(nb, {})
    assert "nbgrader" not in nb.cells[0].metadata


def test_locate_prefers_the_expected_name_and_accepts_one_renamed(tmp_path):
    (tmp_path / "hw.ipynb").write_text("{}")
    path, reason = locate(tmp_path, "ps1", ["ps1"])
    assert path.name == "hw.ipynb" and "renamed" in reason
    (tmp_path / "ps1.ipynb").write_text("{}")
    assert locate(tmp_path, "ps1", ["ps1"]) == (tmp_path / "ps1.ipynb", None)
    (tmp_path / "ps1.ipynb").unlink()
    (tmp_path / "other.ipynb").write_text("{}")
    path, reason = locate(tmp_path, "ps1", ["ps1"])
    assert path is None and "no submitted file" in reason


def test_resources_match_nbgraders_converter(course):
    res = resources_for(course, "ps1", "s1", "ps1")
    assert res["nbgrader"] == {"student": "s1", "assignment": "ps1", "notebook": "ps1",
                               "db_url": course.db_url}
    assert res["metadata"]["path"].endswith("autograded/s1/ps1")


def test_damaged_but_readable_notebooks_are_repaired_and_noted(tmp_path):
    import json

    from autograder.grade.submissions import read_submission

    text = nbformat.writes(new_notebook(cells=[new_code_cell("# caf_\n1")]))
    path = tmp_path / "a.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode().replace(b"caf_", b"caf\xe9"))
    nb, notes = read_submission(str(path))
    assert nb.cells[0].source == "# caf\ufffd\n1"
    assert any("byte-order mark" in n for n in notes) and any("UTF-8" in n for n in notes)
    raw = json.loads(text)
    del raw["metadata"]
    path.write_text(json.dumps(raw))
    nb, notes = read_submission(str(path))
    assert nb.metadata == {} and notes == ["repaired: the notebook had no top-level metadata"]
    raw["cells"][0]["source"] = 42
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="the source of cell 1 is int, not text"):
        read_submission(str(path))


def test_an_unparsable_timestamp_is_a_reason_not_a_crash(tmp_path):
    from autograder.grade.submissions import read_timestamp

    (tmp_path / "timestamp.txt").write_text("next Tuesday-ish")
    assert read_timestamp(tmp_path)[0] is None
    assert "could not be read as a date" in read_timestamp(tmp_path)[1]
    (tmp_path / "timestamp.txt").write_text("2026-01-05 10:00:00.000000 UTC")
    assert read_timestamp(tmp_path) == (read_timestamp(tmp_path)[0], None)
    assert read_timestamp(tmp_path)[0].year == 2026
    (tmp_path / "timestamp.txt").unlink()
    (tmp_path / "timestamp.txt").symlink_to("/etc/hostname")
    assert "symbolic link" in read_timestamp(tmp_path)[1]


def test_a_linked_notebook_is_not_located(tmp_path):
    target = tmp_path / "solution.ipynb"
    target.write_text("{}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ps1.ipynb").symlink_to(target)
    path, reason = locate(tmp_path / "sub", "ps1", ["ps1"])
    assert path is None and "symbolic link: not followed" in reason
