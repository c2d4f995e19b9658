"""Start a kernel command under resource limits and, optionally, inside the sandbox.

``python -m autograder.sandbox.launcher --memory-mb N [--cpu-seconds S] [--file-mb F]
[--processes P] [--cgroup NAME] [--sandbox-dir DIR [--course-lib LIB]] -- CMD...`` moves
itself into fresh pids/memory cgroups (when usable), sets the rlimits (address space, CPU
time, file size, process count), and replaces itself by CMD, run under bubblewrap with
``DIR`` as the only writable folder when ``--sandbox-dir`` is given, and the folder ``LIB``
in place of the real ``course_lib`` (:mod:`autograder.sandbox.bwrap`).

It is the one place where a kernel process is created.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from autograder.sandbox import bwrap, cgroups


def set_memory_limit(megabytes: int) -> None:
    """Cap the address space of this process (and what it execs) at ``megabytes`` MiB."""
    cgroups.set_rlimits(memory_mb=megabytes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.sandbox.launcher")
    parser.add_argument("--memory-mb", type=int, default=0, help="address-space limit (MiB)")
    parser.add_argument("--cpu-seconds", type=int, default=0, help="CPU time limit (s)")
    parser.add_argument("--file-mb", type=int, default=0, help="largest file written (MiB)")
    parser.add_argument("--processes", type=int, default=0, help="tasks (pids cgroup)")
    parser.add_argument("--cgroup", default="", help="name of the cgroups to create and enter")
    parser.add_argument("--sandbox-dir", default="", help="run under bwrap, DIR writable")
    parser.add_argument("--course-lib", default="", help="course_lib copy shown instead")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- followed by the kernel command")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("missing kernel command after --")
    if args.cgroup:
        cgroups.enter_cgroup(args.cgroup, args.processes, args.memory_mb)
    # RLIMIT_NPROC counts every process of the user: only a fallback without the cgroup
    # (and it does not bind root, which the cgroup does).
    cgroups.set_rlimits(args.memory_mb, args.cpu_seconds, args.file_mb)
    if args.sandbox_dir:
        run = Path(args.sandbox_dir)
        cmd = [*bwrap.bwrap_args([run], cwd=run / "work",
                                   course_lib=Path(args.course_lib) if args.course_lib
                                   else None), *cmd]
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
