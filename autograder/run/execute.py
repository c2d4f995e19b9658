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

Every kernel starts in the grading environment (:mod:`autograder.environment`) and works in
a scratch copy of the submission's data files. With ``Limits.sandbox`` it runs under
bubblewrap (:mod:`autograder.sandbox`) and talks to the grader over ZeroMQ ``ipc`` sockets in
its own run directory. Output beyond ``Limits.output_mb`` is dropped and the run directory
is kept under ``Limits.disk_mb``.

With a :class:`TestPlan` (``course grade``, ``course release``), the tests never run in the
kernel: the kernel runs the student's cells and the instructor's non-test cells, and each
test cell runs in the trusted process (:mod:`autograder.trusted`) while the kernel serves
the calls of the student's functions (:mod:`autograder.rpc`); the test cell's outputs are
what the kernel printed while serving it, then what the test printed and raised. With
``course_lib`` set, the kernel imports that copy of ``course_lib`` (the assignment's
withheld names removed: :mod:`autograder.withhold`) instead of the real one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
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

from autograder import notebooks as nbk
from autograder import rpc, sandbox
from autograder.environment import grading_env
from autograder.notebooks import normalize_outputs
from autograder.plan import TestPlan

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
    cpu_seconds, file_mb, processes, output_mb, disk_mb, files: CPU time of the kernel (0:
                  the wall clock + 10 s), largest file it writes, tasks (processes and
                  threads) in its cgroup, output kept per notebook, size of its run
                  directory, number of files and folders in its run directory.
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

    def __init__(self, limits: Limits, kernel_name: str = "python3", ahead: int = 1,
                 course_lib: str = ""):
        self.limits, self.kernel_name, self.ahead = limits, kernel_name, ahead
        self.course_lib = course_lib  # a restricted copy of course_lib for the kernel, or ""
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
            if self.course_lib:  # mounted over the real one: its files are not there
                extra += ["--course-lib", self.course_lib]
            options = {"transport": "ipc", "ip": str(run / "kernel"),
                       "connection_file": str(run / "kernel.json")}
        km = LimitedKernelManager(kernel_name=self.kernel_name, memory_mb=lim.memory_mb,
                                  launcher_args=extra, run_dir=str(run),
                                  cgroup=cgroup if lim.sandbox else "", **options)
        # the environment of the trusted process too (autograder.environment)
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
        sandbox.remove_cgroup(km.cgroup)
    if km.run_dir:
        shutil.rmtree(km.run_dir, ignore_errors=True)


# The kernel's end of the channel, installed before the first cell; then one serve per cell.
CONNECT_CODE = """def _course_connect():
    import socket, sys, types
    mod = types.ModuleType('_course_rpc')
    exec(compile({source!r}, 'course_rpc', 'exec'), mod.__dict__)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect({path!r})
    mod.peer = mod.Peer(sock, trusted=False, ns=get_ipython().user_ns)
    sys.modules['_course_rpc'] = mod
_course_connect()
del _course_connect
"""
SERVE_CODE = "__import__('sys').modules['_course_rpc'].peer.serve({epoch})"
GRACE = 10.0  # seconds the trusted process may take to finish a cell after the kernel did


class CourseExecute(Execute):
    """nbgrader's ``Execute`` on a given (pre-started) kernel, surviving a dead kernel.

    With ``plan`` and ``server`` set, test cells run in the trusted process instead of the
    kernel (:meth:`_run_trusted`). Output beyond ``output_cap`` bytes is dropped
    (``output_dropped``); far beyond it, ``on_flood`` is called (it kills the kernel).
    """

    plan: TestPlan | None = None
    server = None  # a trusted.TrustedServer
    workdir: str | None = None
    run_dir: Path | None = None
    session = None
    output_cap: int = 0
    output_used: int = 0
    output_dropped: bool = False
    on_flood = None

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.epochs = itertools.count(1)
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            self._chdir((resources or {}).get("metadata", {}).get("path"))
            if self.plan is not None:
                self.session = self._connect()
            try:
                for index, cell in enumerate(self.nb.cells):
                    try:
                        self._run_cell(cell, resources, index)
                    except DeadKernelError:
                        mark_dead(self.nb.cells[index:], self.dead_reason)
                        break
            finally:
                if self.session is not None:
                    self.session.close()
        self.set_widgets_metadata()
        return self.nb, self.resources

    dead_reason = "the kernel died"

    def _run_cell(self, cell, resources, index) -> None:
        trusted = self.plan.cells.get(nbk.grade_id(cell)) if self.plan and \
            cell.cell_type == "code" else None
        if trusted is None:
            self.preprocess_cell(cell, resources, index)
            return
        source, test = trusted
        if not test:  # an instructor cell: the student sees it run, the tests need its names
            self.preprocess_cell(cell, resources, index)
        self._run_trusted(cell, index, source, test)

    def _connect(self):
        """The kernel's end of the channel, and a trusted child holding the other end."""
        path = str(self.run_dir / "rpc.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(path)
            listener.listen(1)
            listener.settimeout(60)
            self._silent(CONNECT_CODE.format(source=Path(rpc.__file__).read_text(), path=path))
            conn, _ = listener.accept()
        with conn:
            return self.server.session(conn, self.plan.names, self.workdir)

    def _run_trusted(self, cell, index: int, source: str, test: bool) -> None:
        """Run ``source`` in the trusted process while the kernel serves its calls; a test
        cell's outputs are the kernel's (what the student's code printed) and the test's."""
        epoch = next(self.epochs)
        serve = NotebookNode(cell_type="code", id=cell.get("id", "serve"), metadata={},
                             source=SERVE_CODE.format(epoch=epoch), outputs=[],
                             execution_count=None)
        box: dict = {}
        thread = threading.Thread(
            target=lambda: box.update(result=self.session.run(source, epoch)), daemon=True)
        thread.start()
        try:
            self.execute_cell(serve, index, store_history=test)
        finally:
            self.nb.cells[index] = cell
            thread.join(GRACE)
            if thread.is_alive():
                self.session.abort()
                thread.join()
        outputs, _ = box.get("result", ([], True))
        if test:
            cell.outputs = list(serve.outputs) + [NotebookNode(o) for o in outputs]
            cell.execution_count = serve.execution_count

    def _silent(self, code: str) -> None:
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        self.wait_for_reply(msg_id)

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


@dataclass
class ExecutionResult:
    """The executed notebook, its run time in seconds and why anything went wrong.

    ``calls``: requests the tests sent to the kernel (with a :class:`TestPlan`).
    """

    nb: NotebookNode
    runtime: float
    reasons: list[str] = field(default_factory=list)
    calls: int = 0


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
    nb: NotebookNode, limits: Limits, workdir: str | None = None, config=None,
    plan: TestPlan | None = None, course_lib: str = "",
) -> ExecutionResult:
    """Run ``nb`` (modified in place) in a fresh kernel under ``limits``; with ``plan``, its
    tests in the trusted process; with ``course_lib``, the kernel imports that copy."""
    name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    km = kernel_pool(limits, name, course_lib=course_lib).take()
    run = Path(km.run_dir)
    # The kernel and the trusted process each work in their own scratch copy of the data
    # files (sandboxed, the course directory is not even visible).
    _copy_inputs(workdir, run / "work")
    executor = CourseExecute(config=config) if config is not None else CourseExecute()
    executor.timeout = limits.cell_timeout
    executor.output_cap = limits.output_mb * 1024 * 1024
    if plan is not None:
        from autograder.trusted import trusted_server

        executor.plan, executor.workdir, executor.run_dir = plan, workdir, run
        executor.server = trusted_server(limits.sandbox, limits.memory_mb, plan.preload)
    workdir = str(run / "work")
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
        shutdown(km)
    if fired.is_set():
        reasons.append(f"{why[0]} exceeded")
        _relabel(nb, executor.dead_reason, why[0])
    elif not alive or _has_dead(nb):
        reasons.append(executor.dead_reason)
    if executor.output_dropped:
        reasons.append(f"output beyond {limits.output_mb} MiB was dropped")
    reasons += _timeouts(nb)
    calls = executor.session.calls if executor.session is not None else 0
    return ExecutionResult(nb, time.monotonic() - start, reasons, calls)


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

