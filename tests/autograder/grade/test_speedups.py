"""The grader's shortcuts around nbgrader change its cost, never its verdicts. (The grading
kernel that replaces Jupyter's launcher: ``run/test_kernels.py``.)"""

from __future__ import annotations

import jsonschema
import nbgrader.api
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.nbgraderformat import MetadataValidator, common

from autograder.grade import workers
from autograder.grade.schema import cached_schema_validation

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
        workers.init_worker(str(tmp_path))
        import gc

        gc.collect()  # a context manager that is not referenced would end here
        assert nbgrader.api.create_engine is not original
        assert common.jsonschema is not jsonschema
    finally:
        workers.WORKER_CONTEXT.close()
    assert nbgrader.api.create_engine is original
    assert common.jsonschema is jsonschema
