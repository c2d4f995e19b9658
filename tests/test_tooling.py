"""The repository's own tooling: the notebook output check and the lab extensions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import check_notebooks  # noqa: E402


def write_notebook(path: Path, outputs: list, count: int | None) -> None:
    cell = {"cell_type": "code", "source": "1 + 1", "metadata": {}, "outputs": outputs,
            "execution_count": count}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))


def test_clean_notebook_passes(tmp_path):
    write_notebook(tmp_path / "a.ipynb", [], None)
    assert check_notebooks.dirty_cells(tmp_path / "a.ipynb") == []


def test_notebook_with_outputs_is_reported(tmp_path):
    out = [{"output_type": "execute_result", "data": {"text/plain": "2"}, "metadata": {},
            "execution_count": 1}]
    write_notebook(tmp_path / "a.ipynb", out, 1)
    assert check_notebooks.dirty_cells(tmp_path / "a.ipynb") == [0]


def test_committed_notebooks_are_clean():
    assert check_notebooks.main(ROOT) == 0


@pytest.mark.slow
def test_lab_lists_widgets_nbgrader_and_ipympl_extensions():
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    assert jupyter, "jupyter is not installed in the environment running the tests"
    result = subprocess.run([jupyter, "labextension", "list"], capture_output=True, text=True,
                            timeout=120)
    listing = result.stdout + result.stderr
    assert "@jupyter-widgets/jupyterlab-manager" in listing and "enabled" in listing
    assert "@jupyter/nbgrader" in listing
    assert "jupyter-matplotlib" in listing  # ipympl: the live figures of the explorers
