"""The sandbox's command line (``autograder.sandbox.bwrap``): what bubblewrap shows a kernel.

(The limits: ``test_limits.py``; the launcher: ``test_launcher.py``; the channel between the
trusted process and the kernel and the trusted process itself: ``run/test_rpc.py`` and
``run/test_trusted_process.py``; the attacks: ``tests/security``.)
"""

from __future__ import annotations

import pytest
from fixture_course import FIXTURES

from autograder.sandbox import bwrap


def test_bwrap_command_hides_the_course_and_has_no_network(tmp_path):
    if bwrap.executable() is None:
        pytest.skip("bubblewrap is not installed")
    args = bwrap.bwrap_args([tmp_path], cwd=tmp_path)
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


def test_bwrap_command_can_show_a_restricted_course_lib_over_the_real_one(tmp_path):
    if bwrap.executable() is None:
        pytest.skip("bubblewrap is not installed")
    real = bwrap._course_lib_dir()
    if real is None:
        pytest.skip("course_lib is not importable here")
    lib = tmp_path / "course_lib"
    lib.mkdir()
    args = bwrap.bwrap_args([tmp_path / "run"], course_lib=lib)
    triples = [tuple(args[i:i + 3]) for i in range(len(args) - 2)]
    over = triples.index(("--ro-bind", str(lib), str(real)))
    assert triples.count(("--ro-bind", str(lib), str(real))) == 1
    # mounted after whatever shows the real one (a later mount hides an earlier one)
    shown = [i for i, t in enumerate(triples) if t[0] == "--ro-bind" and
             real.is_relative_to(t[2])]
    assert shown and max(shown) == over
    assert ("--ro-bind", str(lib), str(real)) not in [
        tuple(a[i:i + 3]) for a in [bwrap.bwrap_args([tmp_path / "run"])]
        for i in range(len(a) - 2)]
