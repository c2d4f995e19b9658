"""Our preprocessors (``autograder.run.preprocessors``): warnings on stderr cost nothing."""

from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.run.preprocessors import IgnoreWarnings

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
