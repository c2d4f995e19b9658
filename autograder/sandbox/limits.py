"""Every resource limit of grading, with its default, in one place.

``Limits`` is what one submission may use; ``course grade``'s options and
``nbgrader_config.py``'s ``Execute.timeout`` override its fields. The constants below are
the limits that are not per submission: the sandbox's ``/tmp``, a kernel's CPU share, how
long the trusted process may outlive a cell, when output is a flood, and how much of a
submitted notebook is read. (Limits on input that a stage checks before anything runs
stay with it: the size of a zip member in :mod:`autograder.collect`; a message on the
channel in :mod:`autograder.run.rpc`, which is self-contained.)
"""

from __future__ import annotations

from dataclasses import dataclass

TMP_MB = 64  # size of the private /tmp (a tmpfs) inside the sandbox
CPU_PERIOD_US = 100_000  # cgroup cpu.cfs_period_us ...
CPU_QUOTA_US = 100_000  # ... and cpu.cfs_quota_us: at most one core per kernel
EXTRA_CPU_SECONDS = 10  # RLIMIT_CPU when Limits.cpu_seconds is 0: the wall clock + this
TRUSTED_GRACE = 10.0  # seconds a test cell may run on in the trusted process after the kernel
FLOOD_FACTOR = 16  # output this many times Limits.output_mb kills the kernel (beyond 1x: dropped)
WATCH_INTERVAL = 0.25  # seconds between two checks of the wall clock, disk and file limits
MAX_NOTEBOOK_MB = 64  # of a submitted notebook, read at all (a larger one scores zero)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission.

    cell_timeout: seconds per cell (then the cell is interrupted, as nbgrader does).
    wall_clock:   seconds for the whole notebook (then the kernel is killed).
    memory_mb:    address-space limit of the kernel process in MiB (0: none).

    sandbox:      run the kernel under bubblewrap (:mod:`autograder.sandbox.bwrap`), in its
                  own pids/memory cgroups when available; ``course grade`` turns it on.
    cpu_seconds, file_mb, processes, output_mb, disk_mb, files: CPU time of the kernel (0:
                  the wall clock + ``EXTRA_CPU_SECONDS``), largest file it writes, tasks
                  (processes and threads) in its cgroup, output kept per notebook, size of
                  its run directory, number of files and folders in its run directory.
    """

    cell_timeout: int = 60
    wall_clock: float = 600.0
    memory_mb: int = 2048
    sandbox: bool = False
    cpu_seconds: int = 0
    file_mb: int = 64
    processes: int = 128
    output_mb: int = 8
    disk_mb: int = 256
    files: int = 10000

    def __post_init__(self):
        if self.cell_timeout <= 0:
            raise ValueError(f"Invalid cell_timeout: {self.cell_timeout} (must be > 0)")
        if self.wall_clock <= 0:
            raise ValueError(f"Invalid wall_clock: {self.wall_clock} (must be > 0)")
        if self.memory_mb < 0:
            raise ValueError(f"Invalid memory_mb: {self.memory_mb} (must be >= 0)")
        for name in ("cpu_seconds", "file_mb", "processes", "output_mb", "disk_mb", "files"):
            if getattr(self, name) < 0:
                raise ValueError(f"Invalid {name}: {getattr(self, name)} (must be >= 0)")

    @property
    def cpu_limit(self) -> int:
        """The kernel's RLIMIT_CPU in seconds."""
        return self.cpu_seconds or int(self.wall_clock) + EXTRA_CPU_SECONDS


DEFAULT = Limits()
