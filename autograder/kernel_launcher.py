"""Start a kernel command under resource limits: ``python -m autograder.kernel_launcher
--memory-mb N -- CMD...`` sets RLIMIT_AS (address space) and then replaces itself by CMD.

It is the one place where a kernel process is created, so a sandbox (bubblewrap, cgroups)
can wrap it later without touching the grading pipeline.
"""

from __future__ import annotations

import argparse
import os
import resource


def set_memory_limit(megabytes: int) -> None:
    """Cap the address space of this process (and what it execs) at ``megabytes`` MiB."""
    if megabytes <= 0:
        return
    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autograder.kernel_launcher")
    parser.add_argument("--memory-mb", type=int, default=0, help="address-space limit (MiB)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- followed by the kernel command")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("missing kernel command after --")
    set_memory_limit(args.memory_mb)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
