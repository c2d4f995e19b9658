"""The markup the read side's pages share: the style sheet, and how a question is named."""

from __future__ import annotations

STYLE = """body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;
text-align:left;vertical-align:top}.ok{color:#0072B2}.bad{color:#D55E00}
pre{white-space:pre-wrap;margin:0}"""


def question_label(grade_id: str) -> str:
    """``test_gd_step`` -> ``gd_step``: the exercise a test cell checks."""
    return grade_id.removeprefix("test_")
