"""The grader's shortcuts around nbgrader change its cost, never its verdicts."""

from __future__ import annotations

import jsonschema
import nbgrader.api
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.nbgraderformat import MetadataValidator, common

from autograder import grade
from autograder.execute import GRADING_KERNEL, LimitedKernelManager
from autograder.schema import cached_schema_validation

GOOD = {"grade": True, "grade_id": "t1", "locked": True, "points": 2, "schema_version": 3,
        "solution": False, "task": False}


def notebook(meta: dict):
    cell = new_code_cell("assert True")
    cell.metadata["nbgrader"] = dict(meta)
    return new_notebook(cells=[cell])


def verdict(meta: dict) -> str:
    try:
        MetadataValidator().validate_nb(notebook(meta))
    except Exception as err:  # noqa: BLE001
        return f"{type(err).__name__}: {err}"
    return "valid"


@pytest.mark.parametrize("meta", [
    GOOD,
    {**GOOD, "points": "two"},
    {**GOOD, "grade": "yes"},
    {**GOOD, "grade_id": 7},
    {k: v for k, v in GOOD.items() if k != "locked"},
])
def test_cached_validation_gives_nbgraders_verdicts(meta):
    plain = verdict(meta)
    with cached_schema_validation():
        assert verdict(meta) == plain
        assert verdict(meta) == plain  # the second time, from the cache for valid metadata
    assert common.jsonschema is jsonschema  # restored


def test_invalid_metadata_is_never_remembered_as_valid():
    with cached_schema_validation():
        assert verdict(GOOD) == "valid"
        bad = {**GOOD, "points": -1.5, "grade_id": None}
        for _ in range(2):
            assert verdict(bad).startswith("ValidationError")


def test_worker_keeps_its_speedups_for_its_whole_life(tmp_path):
    original = nbgrader.api.create_engine
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    try:
        grade._init_worker(str(tmp_path))
        import gc

        gc.collect()  # a context manager that is not referenced would end here
        assert nbgrader.api.create_engine is not original
        assert common.jsonschema is not jsonschema
    finally:
        grade._WORKER_CONTEXT.close()
    assert nbgrader.api.create_engine is original
    assert common.jsonschema is jsonschema


def test_grading_kernel_replaces_only_the_standard_launcher():
    km = LimitedKernelManager(kernel_name="python3")
    cmd = km.format_kernel_cmd()
    assert cmd[cmd.index("--") + 1:][1:3] == ["-c", GRADING_KERNEL]
    assert "ipykernel_launcher" not in cmd


def test_grading_kernel_runs_cells_like_jupyter_without_the_debugger(tmp_path):
    from autograder.execute import Limits, execute_submission, kernel_pool

    (tmp_path / "helper.py").write_text("VALUE = 2.0\n")  # importable, as in Jupyter
    nb = new_notebook(cells=[new_code_cell(
        "import sys, numpy, helper\n"
        "assert sys.modules.get('debugpy', 'absent') is None, 'debugger loaded'\n"
        "print(numpy.ones(2).sum() * helper.VALUE)")])
    try:
        result = execute_submission(nb, Limits(), str(tmp_path))
    finally:
        kernel_pool(Limits()).close()
    outputs = result.nb.cells[0].outputs
    assert [o.get("text") for o in outputs] == ["4.0\n"], outputs
