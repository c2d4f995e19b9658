"""Reading graded results (``autograder.results.load``): what a failure message may show."""

from nbformat.v4 import new_code_cell, new_output

from autograder.results.load import REDACTED, failure_messages, redact

HIDDEN = {"assert secret_value(3) == 9"}


def test_redact_hides_lines_that_quote_a_hidden_test():
    text = "AssertionError: assert secret_value(3) == 9\nsecond line"
    assert redact(text, HIDDEN) == f"{REDACTED}\nsecond line"


def test_failure_messages_show_type_and_message_never_the_traceback():
    cell = new_code_cell("x")
    cell.outputs = [new_output("error", ename="AssertionError", evalue="wrong sign",
                               traceback=["Traceback", "assert secret_value(3) == 9"])]
    assert failure_messages(cell, HIDDEN) == ["AssertionError: wrong sign"]
    cell.outputs = [new_output("error", ename="AssertionError", evalue="", traceback=[])]
    assert failure_messages(cell, HIDDEN) == ["AssertionError: (no message)"]
