"""Resource caps of a kernel's process tree: rlimits, and pids/memory/cpu cgroups (v1).

The caps' values come from :mod:`autograder.sandbox.limits`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import resource
import time
from pathlib import Path

from autograder.sandbox.limits import CPU_PERIOD_US, CPU_QUOTA_US

CGROUP_ROOT = Path("/sys/fs/cgroup")


CGROUP_NAME = "course-grading"


def set_rlimits(memory_mb: int = 0, cpu_seconds: int = 0, file_mb: int = 0,
                processes: int = 0) -> None:
    """Cap this process (and what it execs): address space, CPU time, file size, processes.

    ``RLIMIT_NPROC`` does not bind root; the pids cgroup (:func:`enter_cgroup`) does.
    """
    for which, value in ((resource.RLIMIT_AS, memory_mb * 1024 * 1024),
                         (resource.RLIMIT_CPU, cpu_seconds),
                         (resource.RLIMIT_FSIZE, file_mb * 1024 * 1024),
                         (resource.RLIMIT_NPROC, processes)):
        if value <= 0:
            continue
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, hard))


def _cgroup_dirs(name: str) -> list[Path]:
    return [CGROUP_ROOT / ctl / CGROUP_NAME / name for ctl in ("pids", "memory", "cpu")]


@functools.cache
def cgroups_usable() -> bool:
    """Whether this process may create pids and memory cgroups (cgroup v1, as root)."""
    probe = f"probe-{os.getpid()}"
    try:
        for path in _cgroup_dirs(probe):
            path.mkdir(parents=True, exist_ok=True)
        return (_cgroup_dirs(probe)[0] / "pids.max").exists()
    except OSError:
        return False
    finally:
        remove_cgroup(probe)


def enter_cgroup(name: str, processes: int, memory_mb: int) -> bool:
    """Move this process into fresh cgroups capping its tree's processes and memory, and
    its CPU use at one core (a fork bomb does not slow the other submissions down)."""
    if not cgroups_usable():
        return False
    pids, memory, cpu = _cgroup_dirs(name)
    try:
        for path in (pids, memory, cpu):
            path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(CPU_QUOTA_US))
        if processes > 0:
            (pids / "pids.max").write_text(str(processes))
        if memory_mb > 0:
            (memory / "memory.limit_in_bytes").write_text(str(memory_mb * 1024 * 1024))
            with contextlib.suppress(OSError):
                (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_mb << 20))
        for path in (pids, memory, cpu):
            with contextlib.suppress(OSError):
                (path / "cgroup.procs").write_text(str(os.getpid()))
        return str(os.getpid()) in (pids / "cgroup.procs").read_text().split()
    except OSError:
        return False


def remove_cgroup(name: str) -> None:
    """Kill whatever is left in the cgroups of ``name`` and remove them (killed processes
    take a moment to leave: retry for up to a second)."""
    for path in _cgroup_dirs(name):
        for _ in range(40):
            try:
                for pid in (path / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), 9)
                path.rmdir()
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.025)
            else:
                break


def kernel_cgroup(run_name: str) -> str:
    """The cgroups' name for a kernel this process starts: ``k<pid>-<run folder>``, so that
    what a dead grading process left behind can be told (:func:`remove_orphans`)."""
    return f"k{os.getpid()}-{run_name}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans() -> list[str]:
    """Kill the kernels of grading processes that died (a worker killed in the middle of a
    submission leaves its sandboxed kernel running, idle): every kernel cgroup named for a
    process that is gone is emptied and removed. The names removed."""
    if not cgroups_usable():
        return []
    found = []
    with contextlib.suppress(OSError):
        found = [d.name for d in (CGROUP_ROOT / "pids" / CGROUP_NAME).iterdir() if d.is_dir()]
    removed = []
    for name in found:
        match = re.fullmatch(r"k(\d+)-.+", name)
        if match and not _alive(int(match.group(1))):
            remove_cgroup(name)
            removed.append(name)
    return removed

