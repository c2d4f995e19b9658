"""What is done to an executed notebook before it is scored (ours; nbgrader's are in
:mod:`autograder.grade.steps`)."""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from autograder.core import notebooks as nbk

# A Python warning as printed on stderr: "file:line: SomeWarning: message" + its source line.
WARNING_BLOCK = re.compile(r"^[^\n]*:\d+: \w*Warning: [^\n]*\n(?:[ \t]+[^\n]*(?:\n|$))?", re.M)


class IgnoreWarnings(NbGraderPreprocessor):
    """Drop Python warnings (e.g. numpy's RuntimeWarning) from stderr before grading.

    nbgrader gives zero to a test cell with any stderr output; only real errors should
    cost points. Other stderr text is kept (and still costs the cell its points).
    """

    enabled = Bool(True, help="Remove warnings from stderr before grading").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            kept = []
            for out in cell.outputs:
                if out.output_type == "stream" and out.name == "stderr":
                    out.text = WARNING_BLOCK.sub("", nbk.as_text(out.text))
                    if not out.text.strip():
                        continue
                kept.append(out)
            cell.outputs = kept
        return cell, resources
