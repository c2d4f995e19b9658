"""The formats stages hand to each other: the one place each is defined."""

from __future__ import annotations

import re

from course_lib.checks import KNOWN_MISTAKE  # what course_lib's checks write before a name

RESULT_FILE = "grading.json"  # autograded/<student>/<assignment>/: run time, reasons, sandboxed

# The line of a failure message that names a known mistake: "<KNOWN_MISTAKE> <name>."
KNOWN_MISTAKE_LINE = re.compile(re.escape(KNOWN_MISTAKE) + r" ([^\n]*?)\.?\s*$", re.MULTILINE)
