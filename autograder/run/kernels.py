"""Fresh kernels for grading: started through the sandbox's launcher, one ahead of need.

While a submission runs, the kernel for the next one is already booting
(:class:`KernelPool`), so no submission waits for a cold start and each still gets a fresh
process. Every kernel starts in the grading environment
(:mod:`autograder.sandbox.environment`) through :mod:`autograder.sandbox.launcher`, under
the limits of :class:`~autograder.sandbox.limits.Limits`; sandboxed, it talks to the
grader over ZeroMQ ``ipc`` sockets in its own run directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from traitlets import Integer, List, Unicode

from autograder.sandbox import cgroups
from autograder.sandbox.environment import grading_env
from autograder.sandbox.limits import Limits

# What ``python -m ipykernel_launcher`` does, minus importing the debugger (debugpy): a
# tenth of a second of CPU per kernel that grading never uses.
GRADING_KERNEL = (
    "import sys\n"
    "sys.modules['debugpy'] = None  # ipykernel then runs without its debugger\n"
    "if sys.path[0] == '':\n"
    "    del sys.path[0]\n"
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n"
)


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start through :mod:`autograder.sandbox.launcher`."""

    memory_mb = Integer(0, help="address-space limit of the kernel (MiB)").tag(config=True)
    launcher_args = List(Unicode(), help="more options of the sandbox launcher").tag(config=True)
    run_dir = Unicode("", help="the kernel's run directory (sandboxed kernels)")
    cgroup = Unicode("", help="name of the kernel's cgroups")

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if cmd[1:3] == ["-m", "ipykernel_launcher"]:
            cmd = [cmd[0], "-c", GRADING_KERNEL, *cmd[3:]]
        launcher = [sys.executable, "-m", "autograder.sandbox.launcher"]
        return [*launcher, "--memory-mb", str(self.memory_mb), *self.launcher_args, "--", *cmd]


class KernelPool:
    """Hands out freshly started kernels, keeping ``ahead`` more booting in the background."""

    def __init__(self, limits: Limits, kernel_name: str = "python3", ahead: int = 1,
                 course_lib: str = ""):
        self.limits, self.kernel_name, self.ahead = limits, kernel_name, ahead
        self.course_lib = course_lib  # a restricted copy of course_lib for the kernel, or ""
        self._spare: list[LimitedKernelManager] = []
        self._home = tempfile.mkdtemp(prefix="course-kernel-")
        if limits.sandbox:  # what a grading process killed earlier on this machine left
            cgroups.remove_orphans()

    def _launch(self) -> LimitedKernelManager:
        lim = self.limits
        run = Path(tempfile.mkdtemp(prefix="run-", dir=self._home))
        (run / "work").mkdir()
        cgroup = cgroups.kernel_cgroup(run.name)
        extra = ["--cpu-seconds", str(lim.cpu_limit),
                 "--file-mb", str(lim.file_mb), "--processes", str(lim.processes)]
        options = {}
        if lim.sandbox:
            # ZeroMQ over Unix sockets in the run directory: the sandbox has no network.
            extra += ["--sandbox-dir", str(run), "--cgroup", cgroup]
            if self.course_lib:  # mounted over the real one: its files are not there
                extra += ["--course-lib", self.course_lib]
            options = {"transport": "ipc", "ip": str(run / "kernel"),
                       "connection_file": str(run / "kernel.json")}
        km = LimitedKernelManager(kernel_name=self.kernel_name, memory_mb=lim.memory_mb,
                                  launcher_args=extra, run_dir=str(run),
                                  cgroup=cgroup if lim.sandbox else "", **options)
        # the environment of the trusted process too (autograder.sandbox.environment)
        env = grading_env(lim.sandbox)
        if self.course_lib and not lim.sandbox:  # first on the path (not a defence)
            env["PYTHONPATH"] = str(Path(self.course_lib).parent)
        if lim.sandbox:  # signals do not cross bwrap: interrupt by message
            km.kernel_spec.interrupt_mode = "message"
        run_sync(km.start_kernel)(
            cwd=str(run / "work"), env=env,
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return km

    def fill(self) -> None:
        """Start kernels until ``ahead`` are booting or ready."""
        while len(self._spare) < self.ahead:
            self._spare.append(self._launch())

    def take(self) -> LimitedKernelManager:
        """A started kernel for one submission; the next one starts booting now."""
        km = self._spare.pop(0) if self._spare else self._launch()
        self.fill()
        return km

    def close(self) -> None:
        for km in self._spare:
            shutdown(km)
        self._spare.clear()
        shutil.rmtree(self._home, ignore_errors=True)


def shutdown(km: LimitedKernelManager) -> None:
    """Stop a kernel for good (it is never reused); nothing it started survives."""
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001  (a kernel that is already gone is fine)
        pass
    if km.cgroup:
        cgroups.remove_cgroup(km.cgroup)
    if km.run_dir:
        shutil.rmtree(km.run_dir, ignore_errors=True)


def kernel_pid(km: LimitedKernelManager) -> int | None:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


_POOL: KernelPool | None = None


def close_pool() -> None:
    """Stop this process's spare kernels, if any."""
    if _POOL is not None:
        _POOL.close()


def kernel_pool(limits: Limits, kernel_name: str = "python3", ahead: int | None = None,
                course_lib: str = ""):
    """This process's kernel pool (created on first use, closed at exit).

    ``ahead`` kernels boot in the background (default: 0, or what the pool already has;
    grading workers ask for 1). ``course_lib``: the copy of course_lib the kernels import.
    """
    global _POOL
    if _POOL is None or _POOL.limits != limits or _POOL.kernel_name != kernel_name or \
            _POOL.course_lib != course_lib:
        if _POOL is not None:
            _POOL.close()
        _POOL = KernelPool(limits, kernel_name, ahead=0 if ahead is None else ahead,
                           course_lib=course_lib)
        import atexit
        from multiprocessing import util

        util.Finalize(_POOL, _POOL.close, exitpriority=10)
        atexit.register(_POOL.close)
    elif ahead is not None:
        _POOL.ahead = ahead
    return _POOL
