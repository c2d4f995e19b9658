"""nbgrader configuration for the course directory (this repository's root)."""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

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
c.Exchange.root = "out/exchange"
# `course grade` removes Python warnings (e.g. numpy's RuntimeWarning) from stderr before
# grading, so only real errors cost points; False restores nbgrader's rule (any stderr
# output gives the test cell zero). See docs/autograder.md.
c.IgnoreWarnings.enabled = True
