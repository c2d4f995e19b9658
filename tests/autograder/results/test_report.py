"""The report page (``autograder.results.report``) on hand-made results (no kernel)."""

from hand_made import submission

from autograder.results.report import pass_rates
from autograder.results.report import render as render_report


def test_pass_rates_count_full_points_only():
    subs = [submission("a", 2.0), submission("b", 1.0), submission("c", 0.0)]
    assert pass_rates(subs) == {"test_f": 1 / 3, "test_g": 1.0}


def test_report_is_self_contained_and_lists_mistakes():
    subs = [submission("a", 0.0, ["adds the gradient"]), submission("b", 2.0)]
    page = render_report("ps1", subs)
    assert page.count("data:image/png;base64,") == 3
    assert "http" not in page
    assert "<td>adds the gradient</td><td>1</td>" in page
    assert "independent" not in page.lower() and "confirmed" not in page.lower()  # no phase B
