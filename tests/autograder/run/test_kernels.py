"""The grading kernel (``autograder.run.kernels``): our launcher in place of Jupyter's, the
same cells run the same way, without the debugger."""

import os

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



# A loaded machine, made on purpose: the kernel publishes the end of a cell's output (its
# "idle" status) DELAY seconds after its reply, from a timer, so the kernel itself goes on.
# nbgrader's Execute raises after 4 s and the rest of the notebook went unrun: an honest
# submission zeroed by the machine it was graded on.
LATE_IDLE = """
import threading
_k = get_ipython().kernel
_publish = _k._publish_status
def _late(status, channel, parent=None, _done=[]):
    if status == "idle" and not _done:
        _done.append(1)
        threading.Timer({delay}, _publish, (status, channel, parent)).start()
        return None
    return _publish(status, channel, parent)
_k._publish_status = _late
"""


def run(tmp_path, cells, limits):
    try:
        return execute_submission(new_notebook(cells=[new_code_cell(c) for c in cells]),
                                  limits, str(tmp_path))
    finally:
        kernel_pool(limits).close()


def test_a_late_end_of_output_is_waited_for(tmp_path):
    result = run(tmp_path, [LATE_IDLE.format(delay=6) + "print('first')", "x = 41",
                            "print(x + 1)"], Limits(cell_timeout=30))
    assert result.reasons == []
    texts = [[o.get("text") for o in c.outputs] for c in result.nb.cells]
    assert texts == [["first\n"], [], ["42\n"]], result.nb.cells


def test_past_the_cell_timeout_the_notebook_goes_on_and_a_failure_stays_one(tmp_path):
    result = run(tmp_path, [LATE_IDLE.format(delay=15) + "raise ValueError('wrong')",
                            "print('next')"], Limits(cell_timeout=5))
    assert [o.get("ename") for o in result.nb.cells[0].outputs
            if o.output_type == "error"] == ["ValueError"], result.nb.cells[0].outputs
    assert [o.get("text") for o in result.nb.cells[1].outputs] == ["next\n"]
    assert result.reasons == []


def test_grading_leaves_no_threads_behind(tmp_path):
    """Each submission's kernel client and its ZeroMQ threads are gone after it: a worker
    that grades a thousand submissions does not end with thousands of threads."""
    limits = Limits(cell_timeout=30)

    def threads():
        return len(os.listdir("/proc/self/task"))

    try:
        counts = []
        for _ in range(4):
            execute_submission(new_notebook(cells=[new_code_cell("x = 1")]), limits,
                               str(tmp_path))
            counts.append(threads())
    finally:
        kernel_pool(limits).close()
    assert counts[-1] <= counts[0], f"OS threads after each submission: {counts}"
