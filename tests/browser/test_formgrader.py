"""The instructor opens nbgrader's formgrader and sees the course's assignments."""

from __future__ import annotations

from .conftest import ROOT, screenshot

ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())


def test_formgrader_lists_the_assignments(page, lab):
    page.goto(f"{lab['url']}/formgrader?token={lab['token']}")
    for name in ASSIGNMENTS:
        page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
    warning = page.locator(".alert-warning")
    assert warning.count() == 0, f"formgrader warns: {warning.first.inner_text()}"
    screenshot(page, "instructor-formgrader")
