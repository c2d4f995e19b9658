"""The grading limits (``autograder.sandbox.limits``)."""

import pytest

from autograder.sandbox.limits import Limits


def test_limits_reject_bad_values():
    for kwargs, word in [({"cell_timeout": 0}, "cell_timeout"),
                         ({"wall_clock": -1}, "wall_clock"), ({"memory_mb": -5}, "memory_mb")]:
        with pytest.raises(ValueError, match=word):
            Limits(**kwargs)


def test_limits_reject_negative_values():
    with pytest.raises(ValueError, match="Invalid disk_mb"):
        Limits(disk_mb=-1)
    assert not Limits().sandbox  # release/validate: local; `course grade` turns it on
    assert not hasattr(Limits(), "verify")  # no second phase any more
