"""Executing one submission: the single interface a sandbox wraps.

``execute_submission(nb, limits, workdir) -> ExecutionResult`` runs every cell of an
already sanitized notebook with nbgrader's ``Execute`` preprocessor (same outputs, same
per-cell timeout and interrupt behaviour), in a fresh kernel process started under an
address-space limit, and kills that kernel when the submission's wall-clock limit is over.
A dead kernel (``os._exit``, a crash, the memory or time limit) never raises: the cell that
was running and every later code cell get an error output, so they earn no points, and the
reason is recorded.

Kernels are started one ahead of need (:class:`KernelPool`): while a submission runs, the
kernel for the next one is already booting, so no submission waits for a cold start, and
each submission still gets a fresh process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

# Kernels get one BLAS thread each: grading runs one kernel per core already.
KERNEL_ENV = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg", "COURSE_STATIC_WIDGETS": "1", "NBGRADER_EXECUTION": "autograde",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission.

    cell_timeout: seconds per cell (then the cell is interrupted, as nbgrader does).
    wall_clock:   seconds for the whole notebook (then the kernel is killed).
    memory_mb:    address-space limit of the kernel process in MiB (0: none).
    """

    cell_timeout: int = 60
    wall_clock: float = 600.0
    memory_mb: int = 2048

    def __post_init__(self):
        if self.cell_timeout <= 0:
            raise ValueError(f"Invalid cell_timeout: {self.cell_timeout} (must be > 0)")
        if self.wall_clock <= 0:
            raise ValueError(f"Invalid wall_clock: {self.wall_clock} (must be > 0)")
        if self.memory_mb < 0:
            raise ValueError(f"Invalid memory_mb: {self.memory_mb} (must be >= 0)")


@dataclass
class ExecutionResult:
    """The executed notebook, its run time in seconds and why anything went wrong."""

    nb: NotebookNode
    runtime: float
    reasons: list[str] = field(default_factory=list)


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start through :mod:`autograder.kernel_launcher`."""

    memory_mb = Integer(0, help="address-space limit of the kernel (MiB)").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        launcher = [sys.executable, "-m", "autograder.kernel_launcher"]
        return [*launcher, "--memory-mb", str(self.memory_mb), "--", *cmd]


class KernelPool:
    """Hands out freshly started kernels, keeping ``ahead`` more booting in the background."""

    def __init__(self, limits: Limits, kernel_name: str = "python3", ahead: int = 1):
        self.limits, self.kernel_name, self.ahead = limits, kernel_name, ahead
        self._spare: list[LimitedKernelManager] = []
        self._home = tempfile.mkdtemp(prefix="course-kernel-")

    def _launch(self) -> LimitedKernelManager:
        km = LimitedKernelManager(kernel_name=self.kernel_name, memory_mb=self.limits.memory_mb)
        env = {**os.environ, **KERNEL_ENV}
        run_sync(km.start_kernel)(
            cwd=self._home, env=env, extra_arguments=["--HistoryManager.hist_file=:memory:"],
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


def shutdown(km: LimitedKernelManager) -> None:
    """Stop a kernel for good (it is never reused)."""
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001  (a kernel that is already gone is fine)
        pass


class CourseExecute(Execute):
    """nbgrader's ``Execute`` on a given (pre-started) kernel, surviving a dead kernel."""

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            self._chdir((resources or {}).get("metadata", {}).get("path"))
            for index, cell in enumerate(self.nb.cells):
                try:
                    self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    mark_dead(self.nb.cells[index:], self.dead_reason)
                    break
        self.set_widgets_metadata()
        return self.nb, self.resources

    dead_reason = "the kernel died"

    def _chdir(self, path: str | None) -> None:
        """Move the pre-started kernel into the submission's folder, silently."""
        if path:
            code = f"import os as _o; _o.chdir({str(path)!r}); del _o"
            msg_id = self.kc.execute(code, silent=True, store_history=False)
            self.wait_for_reply(msg_id)


def mark_dead(cells: list[NotebookNode], reason: str) -> None:
    """Give every code cell in ``cells`` an error output: they did not run."""
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs = list(cell.get("outputs", [])) + [NotebookNode(
                output_type="error", ename="DeadKernelError", evalue=reason,
                traceback=[f"DeadKernelError: {reason}"],
            )]


def _kernel_pid(km: LimitedKernelManager) -> int | None:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


_POOL: KernelPool | None = None


def kernel_pool(limits: Limits, kernel_name: str = "python3", ahead: int | None = None):
    """This process's kernel pool (created on first use, closed at exit).

    ``ahead`` kernels boot in the background (default: 0, or what the pool already has;
    grading workers ask for 1).
    """
    global _POOL
    if _POOL is None or _POOL.limits != limits or _POOL.kernel_name != kernel_name:
        if _POOL is not None:
            _POOL.close()
        _POOL = KernelPool(limits, kernel_name, ahead=0 if ahead is None else ahead)
        import atexit
        from multiprocessing import util

        util.Finalize(_POOL, _POOL.close, exitpriority=10)
        atexit.register(_POOL.close)
    elif ahead is not None:
        _POOL.ahead = ahead
    return _POOL


def execute_submission(
    nb: NotebookNode, limits: Limits, workdir: str | None = None, config=None
) -> ExecutionResult:
    """Run ``nb`` (modified in place) in a fresh kernel under ``limits``."""
    name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    km = kernel_pool(limits, name).take()
    executor = CourseExecute(config=config) if config is not None else CourseExecute()
    executor.timeout = limits.cell_timeout
    fired = threading.Event()

    def kill():
        fired.set()
        pid = _kernel_pid(km)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(limits.wall_clock, kill)
    resources = {"metadata": {"path": workdir}} if workdir else {}
    reasons: list[str] = []
    start = time.monotonic()
    timer.start()
    try:
        executor.dead_reason = (
            "the kernel died (os._exit, a crash, or the memory limit of "
            f"{limits.memory_mb} MiB)"
        )
        executor.preprocess(nb, resources, km=km)
    except Exception as err:  # noqa: BLE001  (recorded; the submission earns what it earned)
        reasons.append(f"execution failed: {type(err).__name__}: {err}")
        mark_dead([c for c in nb.cells if not c.get("outputs")], "not executed")
    finally:
        timer.cancel()
        alive = not fired.is_set() and run_sync(km.is_alive)()
        shutdown(km)
    if fired.is_set():
        reasons.append(f"wall-clock limit of {limits.wall_clock:g} s exceeded")
        _relabel(nb, executor.dead_reason, f"wall-clock limit of {limits.wall_clock:g} s")
    elif not alive or _has_dead(nb):
        reasons.append(executor.dead_reason)
    reasons += _timeouts(nb)
    return ExecutionResult(nb, time.monotonic() - start, reasons)


def _has_dead(nb: NotebookNode) -> bool:
    return any(
        o.get("ename") == "DeadKernelError" for c in nb.cells for o in c.get("outputs", [])
    )


def _relabel(nb: NotebookNode, old: str, new: str) -> None:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("ename") == "DeadKernelError" and out.get("evalue") == old:
                out["evalue"] = new
                out["traceback"] = [f"DeadKernelError: {new}"]


def _timeouts(nb: NotebookNode) -> list[str]:
    ids = [
        c.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}")
        for i, c in enumerate(nb.cells)
        if any(o.get("ename") == "CellTimeoutError" for o in c.get("outputs", []))
    ]
    return [f"cell timeout in {', '.join(ids)}"] if ids else []

