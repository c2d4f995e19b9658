"""The kernels a killed grading process leaves behind are found by their cgroup's name and
killed (``autograder.sandbox.cgroups.remove_orphans``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autograder.sandbox import cgroups

pytestmark = pytest.mark.skipif(not cgroups.cgroups_usable(),
                                reason="pids/memory cgroups are not usable here (not root)")


def in_cgroup(name: str) -> subprocess.Popen:
    """A sleeping process moved into the cgroups ``name`` (as the launcher moves a kernel)."""
    code = ("import sys, time\nfrom autograder.sandbox import cgroups\n"
            f"assert cgroups.enter_cgroup({name!r}, 16, 64)\nprint('in', flush=True)\n"
            "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "in"
    return proc


def test_kernels_of_a_dead_grading_process_are_killed_and_others_kept():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a grading process that has died
    orphan_name = f"k{gone.pid}-run-test"
    mine = cgroups.kernel_cgroup("run-test")
    assert mine == f"k{os.getpid()}-run-test"
    orphan, kept = in_cgroup(orphan_name), in_cgroup(mine)
    try:
        removed = cgroups.remove_orphans()
        assert orphan_name in removed and mine not in removed
        assert orphan.wait(timeout=10) == -9  # killed
        assert kept.poll() is None  # its grading process (this one) is alive
    finally:
        for proc in (orphan, kept):
            proc.kill()
            proc.wait()
        cgroups.remove_cgroup(mine)
        cgroups.remove_cgroup(orphan_name)
