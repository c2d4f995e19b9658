"""The grading kernel (``autograder.run.kernels``): our launcher in place of Jupyter's, the
same cells run the same way, without the debugger."""

from nbformat.v4 import new_code_cell, new_notebook

from autograder.run.execute import execute_submission
from autograder.run.kernels import GRADING_KERNEL, LimitedKernelManager, kernel_pool
from autograder.sandbox.limits import Limits


def test_grading_kernel_replaces_only_the_standard_launcher():
    km = LimitedKernelManager(kernel_name="python3")
    cmd = km.format_kernel_cmd()
    assert cmd[cmd.index("--") + 1:][1:3] == ["-c", GRADING_KERNEL]
    assert "ipykernel_launcher" not in cmd


def test_grading_kernel_runs_cells_like_jupyter_without_the_debugger(tmp_path):
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
