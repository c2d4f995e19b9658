"""Unit tests of the grading steps that need no kernel."""

import nbformat
import pytest
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


def test_outputs_whose_text_is_a_list_are_joined_before_any_preprocessor():
    from nbgrader.preprocessors import LimitOutput

    from autograder import notebooks as nbk

    nb = new_notebook(cells=[new_code_cell("x")])
    nb.cells[0].outputs = [
        {"output_type": "stream", "name": "stderr", "text": ["a.py:1: RuntimeWarning: x\n",
                                                           "  y\n", "real\n"]},
        {"output_type": "error", "ename": ["Value", "Error"], "evalue": ["bad ", 3],
         "traceback": [["T"], 7]},
        {"output_type": "display_data", "data": {"text/plain": ["1", "2"]}, "metadata": {}},
    ]
    nbk.normalize_outputs(nb)
    outs = nb.cells[0].outputs
    assert outs[0]["text"].endswith("real\n") and outs[1]["ename"] == "ValueError"
    assert outs[1]["evalue"] == "bad 3" and outs[1]["traceback"] == ["T", "7"]
    assert outs[2]["data"]["text/plain"] == "12"
    nb = nbformat.from_dict(nb)
    nb, _ = IgnoreWarnings()(nb, {})
    nb, _ = LimitOutput()(nb, {})
    assert nb.cells[0].outputs[0].text == "real\n"


def test_damaged_but_readable_notebooks_are_repaired_and_noted(tmp_path):
    import json

    from autograder.grade import read_submission

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
    from autograder.grade import read_timestamp

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
