"""nbgrader configuration for the course directory (this repository's root)."""

import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "optdl"
c.CourseDirectory.root = "."
# Files in source/<assignment>/ that never go to students.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "mistakes.py", "*.db",
]
# Every exercise cell raises NotImplementedError in the student's version.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True
# Per-cell timeout while grading (seconds); `course grade` adds a per-submission limit.
c.ExecutePreprocessor.timeout = 60
c.Execute.timeout = 60
# nbgrader's exchange (release/fetch/submit on a shared server) lives inside the course, so
# nothing outside it is needed; `course collect` is the usual way submissions arrive.
c.Exchange.root = os.path.join(HERE, "out", "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
# `course grade` removes Python warnings (e.g. numpy's RuntimeWarning) from stderr before
# grading, so only real errors cost points; False restores nbgrader's rule (any stderr
# output gives the test cell zero). See docs/autograder.md.
c.IgnoreWarnings.enabled = True
