"""Unit tests of the grading steps that need no kernel."""

from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.execute import Limits
from autograder.grade import DropEmptyMetadata, IgnoreWarnings, locate, resources_for

WARNING = ("/tmp/ipykernel_1/2.py:3: RuntimeWarning: divide by zero encountered in log\n"
           "  np.log(0.0)\n")


def cell_with(*outputs):
    cell = new_code_cell("x")
    cell.outputs = list(outputs)
    return new_notebook(cells=[cell])


def test_warnings_are_removed_from_stderr():
    nb = cell_with(new_output("stream", name="stderr", text=WARNING))
    nb, _ = IgnoreWarnings()(nb, {})
    assert nb.cells[0].outputs == []


def test_other_stderr_text_is_kept():
    nb = cell_with(new_output("stream", name="stderr", text=WARNING + "real problem\n"))
    nb, _ = IgnoreWarnings()(nb, {})
    assert nb.cells[0].outputs[0].text == "real problem\n"


def test_ignore_warnings_can_be_switched_off():
    nb = cell_with(new_output("stream", name="stderr", text=WARNING))
    pp = IgnoreWarnings(enabled=False)
    nb, _ = pp(nb, {})
    assert len(nb.cells[0].outputs) == 1


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


def test_limits_reject_bad_values():
    import pytest

    for kwargs, word in [({"cell_timeout": 0}, "cell_timeout"),
                         ({"wall_clock": -1}, "wall_clock"), ({"memory_mb": -5}, "memory_mb")]:
        with pytest.raises(ValueError, match=word):
            Limits(**kwargs)
