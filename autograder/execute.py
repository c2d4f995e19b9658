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

Every kernel starts in the grading environment (:mod:`autograder.environment`, shared with
the independent check) and works in a scratch copy of the submission's data files. With
``Limits.sandbox`` it runs under bubblewrap (:mod:`autograder.sandbox`) and talks to the
grader over ZeroMQ ``ipc`` sockets in its own run directory; with ``Limits.verify`` the
recorder of :mod:`autograder.replay` is installed, and the recording is returned for the
independent check (:mod:`autograder.verify`). Output beyond ``Limits.output_mb`` is
dropped and the run directory is kept under ``Limits.disk_mb``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

from autograder import sandbox, verify
from autograder.environment import grading_env
from autograder.notebooks import normalize_outputs

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


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission.

    cell_timeout: seconds per cell (then the cell is interrupted, as nbgrader does).
    wall_clock:   seconds for the whole notebook (then the kernel is killed).
    memory_mb:    address-space limit of the kernel process in MiB (0: none).

    sandbox:      run the kernel under bubblewrap (:mod:`autograder.sandbox`), in its own
                  pids/memory cgroups when available; ``course grade`` turns it on.
    verify:       record the calls of the student's functions for the independent check
                  (:mod:`autograder.verify`); ``course grade`` turns it on.
    cpu_seconds, file_mb, processes, output_mb, disk_mb, files: CPU time of the kernel (0:
                  the wall clock + 10 s), largest file it writes, tasks (processes and
                  threads) in its cgroup, output kept per notebook, size of its run
                  directory, number of files and folders in its run directory.
    """

    cell_timeout: int = 60
    wall_clock: float = 600.0
    memory_mb: int = 2048
    sandbox: bool = False
    verify: bool = False
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


class LimitedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start through :mod:`autograder.kernel_launcher`."""

    memory_mb = Integer(0, help="address-space limit of the kernel (MiB)").tag(config=True)
    launcher_args = List(Unicode(), help="more kernel_launcher options").tag(config=True)
    run_dir = Unicode("", help="the kernel's run directory (sandboxed kernels)")
    cgroup = Unicode("", help="name of the kernel's cgroups")

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if cmd[1:3] == ["-m", "ipykernel_launcher"]:
            cmd = [cmd[0], "-c", GRADING_KERNEL, *cmd[3:]]
        launcher = [sys.executable, "-m", "autograder.kernel_launcher"]
        return [*launcher, "--memory-mb", str(self.memory_mb), *self.launcher_args, "--", *cmd]


class KernelPool:
    """Hands out freshly started kernels, keeping ``ahead`` more booting in the background."""

    def __init__(self, limits: Limits, kernel_name: str = "python3", ahead: int = 1):
        self.limits, self.kernel_name, self.ahead = limits, kernel_name, ahead
        self._spare: list[LimitedKernelManager] = []
        self._home = tempfile.mkdtemp(prefix="course-kernel-")

    def _launch(self) -> LimitedKernelManager:
        lim = self.limits
        run = Path(tempfile.mkdtemp(prefix="run-", dir=self._home))
        (run / "work").mkdir()
        cgroup = f"k{os.getpid()}-{run.name}"
        extra = ["--cpu-seconds", str(lim.cpu_seconds or int(lim.wall_clock) + 10),
                 "--file-mb", str(lim.file_mb), "--processes", str(lim.processes)]
        options = {}
        if lim.sandbox:
            # ZeroMQ over Unix sockets in the run directory: the sandbox has no network.
            extra += ["--sandbox-dir", str(run), "--cgroup", cgroup]
            options = {"transport": "ipc", "ip": str(run / "kernel"),
                       "connection_file": str(run / "kernel.json")}
        km = LimitedKernelManager(kernel_name=self.kernel_name, memory_mb=lim.memory_mb,
                                  launcher_args=extra, run_dir=str(run),
                                  cgroup=cgroup if lim.sandbox else "", **options)
        # the environment of the independent check too (autograder.environment)
        env = grading_env(lim.sandbox)
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
        sandbox.remove_cgroup(km.cgroup)
    if km.run_dir:
        shutil.rmtree(km.run_dir, ignore_errors=True)


class CourseExecute(Execute):
    """nbgrader's ``Execute`` on a given (pre-started) kernel, surviving a dead kernel.

    With ``record_path`` set, the recorder of :mod:`autograder.replay` is installed before
    the first cell and, after every student cell, wraps the functions the cell defined.
    Output beyond ``output_cap`` bytes is dropped (``output_dropped``); far beyond it,
    ``on_flood`` is called (it kills the kernel).
    """

    record_path: str | None = None
    output_cap: int = 0
    output_used: int = 0
    output_dropped: bool = False
    on_flood = None

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            self._chdir((resources or {}).get("metadata", {}).get("path"))
            if self.record_path:
                self._silent(verify.install_code(self.record_path))
            for index, cell in enumerate(self.nb.cells):
                try:
                    self.preprocess_cell(cell, resources, index)
                    if self.record_path and _student_code(cell):
                        self._record(cell)
                except DeadKernelError:
                    mark_dead(self.nb.cells[index:], self.dead_reason)
                    break
        self.set_widgets_metadata()
        return self.nb, self.resources

    dead_reason = "the kernel died"

    def _silent(self, code: str) -> None:
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        self.wait_for_reply(msg_id)

    def _record(self, cell) -> None:
        names = verify.defined_names(cell.source)
        if names and cell.get("execution_count") is not None:
            self._silent(verify.after_cell_code(names, cell.execution_count))

    def _chdir(self, path: str | None) -> None:
        """Move the pre-started kernel into the submission's folder, silently."""
        if path:
            self._silent(f"import os as _o; _o.chdir({str(path)!r}); del _o")

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content")
        if isinstance(content, dict):  # a kernel may send lists (or worse) as text
            out = {**content, "output_type": msg.get("msg_type")}
            normalize_outputs({"cells": [{"outputs": [out]}]})
            content.update({k: v for k, v in out.items() if k != "output_type"})
        if self.output_cap:
            self.output_used += len(json.dumps(msg.get("content", {}), default=str))
            if self.output_used > self.output_cap:
                self.output_dropped = True
                if self.output_used > 16 * self.output_cap and self.on_flood:
                    self.on_flood()
                return None
        return super().output(outs, msg, display_id, cell_index)


def _student_code(cell) -> bool:
    """A code cell the student wrote (a solution cell or one they added)."""
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return cell.cell_type == "code" and (bool(meta.get("solution")) or not meta.get("locked"))


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


@dataclass
class ExecutionResult:
    """The executed notebook, its run time in seconds and why anything went wrong.

    ``record``: the lines of the call recording (``Limits.verify``), untrusted data.
    """

    nb: NotebookNode
    runtime: float
    reasons: list[str] = field(default_factory=list)
    record: list[str] | None = None


def _dir_usage(path: Path, max_entries: int = 0) -> tuple[int, int]:
    """(bytes, files and folders) under ``path``; counting stops beyond ``max_entries``."""
    total = entries = 0
    for root, dirs, files in os.walk(path):
        entries += len(dirs) + len(files)
        if max_entries and entries > max_entries:
            break
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total, entries


def _copy_inputs(workdir: str | None, scratch: Path) -> None:
    """The submission's data files (not notebooks) into the kernel's scratch folder."""
    if not workdir or not Path(workdir).is_dir():
        return
    for path in Path(workdir).rglob("*"):
        if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
            target = scratch / path.relative_to(workdir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)


def execute_submission(
    nb: NotebookNode, limits: Limits, workdir: str | None = None, config=None
) -> ExecutionResult:
    """Run ``nb`` (modified in place) in a fresh kernel under ``limits``."""
    name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    km = kernel_pool(limits, name).take()
    run = Path(km.run_dir)
    # The kernel works in a scratch copy of the data files, as the independent check does
    # (the same layout; sandboxed, the course directory is not even visible).
    _copy_inputs(workdir, run / "work")
    workdir = str(run / "work")
    executor = CourseExecute(config=config) if config is not None else CourseExecute()
    executor.timeout = limits.cell_timeout
    executor.output_cap = limits.output_mb * 1024 * 1024
    if limits.verify:
        executor.record_path = str(run / verify.RECORD_FILE)
    fired, why, done = threading.Event(), [], threading.Event()

    def kill(reason: str):
        if not fired.is_set():
            why.append(reason)
            fired.set()
        pid = _kernel_pid(km)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def watchdog():
        deadline = time.monotonic() + limits.wall_clock
        while not done.wait(0.25):
            if time.monotonic() > deadline:
                kill(f"wall-clock limit of {limits.wall_clock:g} s")
                return
            if limits.sandbox and (limits.disk_mb or limits.files):
                size, entries = _dir_usage(run, limits.files)
                if limits.disk_mb and size > limits.disk_mb << 20:
                    kill(f"disk limit of {limits.disk_mb} MiB")
                    return
                if limits.files and entries > limits.files:
                    kill(f"file limit of {limits.files} files")
                    return

    executor.on_flood = lambda: kill(f"output limit of {limits.output_mb} MiB")
    resources = {"metadata": {"path": workdir}} if workdir else {}
    reasons: list[str] = []
    start = time.monotonic()
    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        executor.dead_reason = (
            "the kernel died (os._exit, a crash, or the memory limit of "
            f"{limits.memory_mb} MiB)"
        )
        executor.preprocess(nb, resources, km=km)
    except Exception as err:  # noqa: BLE001  (recorded; the submission earns what it earned)
        # first line only: nbclient's messages quote the cell, hidden tests included
        first = (str(err).strip().splitlines() or [""])[0]
        reasons.append(f"execution failed: {type(err).__name__}: {first}"[:300])
        mark_dead([c for c in nb.cells if not c.get("outputs")], "not executed")
    finally:
        done.set()
        thread.join()
        alive = not fired.is_set() and run_sync(km.is_alive)()
        record = verify.read_record(run / verify.RECORD_FILE) if limits.verify else None
        shutdown(km)
    if fired.is_set():
        reasons.append(f"{why[0]} exceeded")
        _relabel(nb, executor.dead_reason, why[0])
    elif not alive or _has_dead(nb):
        reasons.append(executor.dead_reason)
    if executor.output_dropped:
        reasons.append(f"output beyond {limits.output_mb} MiB was dropped")
    reasons += _timeouts(nb)
    return ExecutionResult(nb, time.monotonic() - start, reasons, record)


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

