"""The red-team class, graded once per test run (see ``redteam.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from redteam import RedTeam, grade_redteam  # noqa: E402


@pytest.fixture(scope="session")
def redteam(tmp_path_factory) -> RedTeam:
    """Every attack and the honest submissions, graded, with feedback and report."""
    return grade_redteam(tmp_path_factory.mktemp("redteam"))
