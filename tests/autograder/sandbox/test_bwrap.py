"""Fast tests of the pieces: the leak check, the sandbox's command line and the limits.

(The channel between the trusted process and the kernel: ``test_rpc.py``; the trusted
process itself: ``test_trusted_process.py``; the plan: ``tests/autograder/test_plan.py``.)
"""

from __future__ import annotations

import pytest
from redteam import FIXTURES

from autograder import sandbox
from autograder.execute import Limits
from autograder.feedback import LeakError, check_no_leak


def test_leak_check_catches_plain_and_escaped_hidden_lines():
    hidden = {"_hidden_w = np.array([2.0, -1.0])"}
    check_no_leak("<p>nothing</p>", hidden, "page")
    for text in ("x _hidden_w = np.array([2.0, -1.0]) y",
                 "_hidden_w = np.array([2.0, -1.0])".replace("_", "&#95;")):
        with pytest.raises(LeakError):
            check_no_leak(text, hidden, "page")


def test_bwrap_command_hides_the_course_and_has_no_network(tmp_path):
    if sandbox.bwrap() is None:
        pytest.skip("bubblewrap is not installed")
    args = sandbox.bwrap_args([tmp_path], cwd=tmp_path)
    assert args[-1] == "--"
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop"):
        assert flag in args
    binds = [args[i + 1] for i, a in enumerate(args) if a in ("--bind", "--ro-bind")]
    writable = [args[i + 1] for i, a in enumerate(args) if a == "--bind"]
    assert writable == [str(tmp_path)]
    repo = FIXTURES.parents[2]
    assert str(repo) not in binds and not any(b in str(repo / "source") for b in binds
                                              if b.startswith(str(repo)) and "course_lib" not in b
                                              and ".venv" not in b)


def test_limits_reject_negative_values():
    with pytest.raises(ValueError, match="Invalid disk_mb"):
        Limits(disk_mb=-1)
    assert not Limits().sandbox  # release/validate: local; `course grade` turns it on
    assert not hasattr(Limits(), "verify")  # no second phase any more


def test_bwrap_command_can_show_a_restricted_course_lib_over_the_real_one(tmp_path):
    if sandbox.bwrap() is None:
        pytest.skip("bubblewrap is not installed")
    real = sandbox._course_lib_dir()
    if real is None:
        pytest.skip("course_lib is not importable here")
    lib = tmp_path / "course_lib"
    lib.mkdir()
    args = sandbox.bwrap_args([tmp_path / "run"], course_lib=lib)
    triples = [tuple(args[i:i + 3]) for i in range(len(args) - 2)]
    over = triples.index(("--ro-bind", str(lib), str(real)))
    assert triples.count(("--ro-bind", str(lib), str(real))) == 1
    # mounted after whatever shows the real one (a later mount hides an earlier one)
    shown = [i for i, t in enumerate(triples) if t[0] == "--ro-bind" and
             real.is_relative_to(t[2])]
    assert shown and max(shown) == over
    assert ("--ro-bind", str(lib), str(real)) not in [
        tuple(a[i:i + 3]) for a in [sandbox.bwrap_args([tmp_path / "run"])]
        for i in range(len(a) - 2)]
