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

Every kernel starts in the grading environment (:mod:`autograder.sandbox.environment`) and works in
a scratch copy of the submission's data files. With ``Limits.sandbox`` it runs under
bubblewrap (:mod:`autograder.sandbox.bwrap`) and talks to the grader over ZeroMQ ``ipc`` sockets in
its own run directory. Output beyond ``Limits.output_mb`` is dropped and the run directory
is kept under ``Limits.disk_mb``.

With a :class:`TestPlan` (``course grade``, ``course release``), the tests never run in the
kernel: the kernel runs the student's cells and the instructor's non-test cells, and each
test cell runs in the trusted process (:mod:`autograder.run.trusted`) while the kernel serves
the calls of the student's functions (:mod:`autograder.run.rpc`); the test cell's outputs are
what the kernel printed while serving it, then what the test printed and raised. With
``course_lib`` set, the kernel imports that copy of ``course_lib`` (the assignment's
withheld names removed: :mod:`autograder.sandbox.withhold`) instead of the real one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool

from autograder.core import notebooks as nbk
from autograder.core.notebooks import normalize_outputs
from autograder.run import rpc
from autograder.run.kernels import LimitedKernelManager, kernel_pid, kernel_pool, shutdown
from autograder.run.plan import TestPlan
from autograder.run.scratch import copy_inputs, dir_usage
from autograder.sandbox.limits import FLOOD_FACTOR, TRUSTED_GRACE, WATCH_INTERVAL, Limits

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


class CourseExecute(Execute):
    """nbgrader's ``Execute`` on a given (pre-started) kernel, surviving a dead kernel.

    With ``plan`` and ``server`` set, test cells run in the trusted process instead of the
    kernel (:meth:`_run_trusted`). Output beyond ``output_cap`` bytes is dropped
    (``output_dropped``); far beyond it, ``on_flood`` is called (it kills the kernel).

    A kernel whose last output of a cell (its "idle" message) comes late does not stop the
    notebook: nbgrader raises after 4 s (``raise_on_iopub_timeout``), which on a loaded
    machine zeroed every later cell of an honest submission. Here the wait is the cell
    timeout (:func:`new_executor`), and past it the cell keeps what arrived; a failed
    cell is still recorded as failed from the kernel's reply (``Execute.on_cell_executed``).
    A flood of output cannot hold a cell: the output cap and the wall-clock limit stop it.
    """

    raise_on_iopub_timeout = Bool(False, help="Raise when a cell's last output is late "
                                  "(nbgrader: True)").tag(config=True)

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
                        mark_not_run(self.nb.cells[index:], self.dead_reason)
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
            thread.join(TRUSTED_GRACE)
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
                if self.output_used > FLOOD_FACTOR * self.output_cap and self.on_flood:
                    self.on_flood()
                return None
        return super().output(outs, msg, display_id, cell_index)


def mark_not_run(cells: list[NotebookNode], reason: str,
                 ename: str = "DeadKernelError") -> None:
    """Give every code cell in ``cells`` an error output: they did not run (``ename``:
    the kernel died, or something else stopped the notebook)."""
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs = list(cell.get("outputs", [])) + [NotebookNode(
                output_type="error", ename=ename, evalue=reason,
                traceback=[f"{ename}: {reason}"],
            )]


@dataclass
class ExecutionResult:
    """The executed notebook, its run time in seconds and why anything went wrong.

    ``calls``: requests the tests sent to the kernel (with a :class:`TestPlan`).
    """

    nb: NotebookNode
    runtime: float
    reasons: list[str] = field(default_factory=list)
    calls: int = 0


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
    copy_inputs(workdir, run / "work")
    executor = new_executor(limits, config, plan, workdir, run)
    start = time.monotonic()
    try:
        with Watchdog(km, limits, run) as watch:
            executor.on_flood = lambda: watch.kill(f"output limit of {limits.output_mb} MiB")
            reasons = run_cells(executor, nb, km, str(run / "work"))
        alive = watch.reason is None and run_sync(km.is_alive)()
    finally:
        close_client(executor)
        shutdown(km)
    reasons += what_went_wrong(nb, executor, watch.reason, alive, limits)
    calls = executor.session.calls if executor.session is not None else 0
    return ExecutionResult(nb, time.monotonic() - start, reasons, calls)


def close_client(executor: CourseExecute) -> None:
    """Stop the executor's kernel client and its ZeroMQ context. nbclient leaves a client
    of a kernel it did not start running, and its context kept its threads (three more per
    submission): a worker grading a thousand submissions ended with thousands of them, busy
    enough to slow every kernel on the machine."""
    kc, executor.kc = getattr(executor, "kc", None), None
    if kc is None:
        return
    with contextlib.suppress(Exception):
        kc.stop_channels()
    if kc._created_context and not kc.context.closed:  # (the client's own context)
        kc.context.destroy(linger=0)


def new_executor(limits: Limits, config, plan: TestPlan | None, workdir: str | None,
                 run: Path) -> CourseExecute:
    """nbgrader's ``Execute`` set up for one submission (and its trusted process)."""
    executor = CourseExecute(config=config) if config is not None else CourseExecute()
    executor.timeout = limits.cell_timeout
    # a cell's last output may take as long to arrive as the cell may take to run
    executor.iopub_timeout = max(executor.iopub_timeout, limits.cell_timeout)
    executor.output_cap = limits.output_mb * 1024 * 1024
    executor.dead_reason = (
        f"the kernel died (os._exit, a crash, or the memory limit of {limits.memory_mb} MiB)")
    if plan is not None:
        from autograder.run.trusted import trusted_server

        executor.plan, executor.workdir, executor.run_dir = plan, workdir, run
        executor.server = trusted_server(limits.sandbox, limits.memory_mb, plan.preload)
    return executor


def run_cells(executor: CourseExecute, nb: NotebookNode, km, path: str) -> list[str]:
    """Execute every cell; an exception is recorded (the cells not run get an error
    output), never raised."""
    try:
        executor.preprocess(nb, {"metadata": {"path": path}}, km=km)
    except Exception as err:  # noqa: BLE001  (recorded; the submission earns what it earned)
        # first line only: nbclient's messages quote the cell, hidden tests included
        first = (str(err).strip().splitlines() or [""])[0]
        not_run = [c for c in nb.cells if not c.get("outputs")]
        mark_not_run(not_run, "not executed: the grader stopped before this cell", "NotExecuted")
        return [f"execution failed: {type(err).__name__}: {first}"[:300]]
    return []


def what_went_wrong(nb: NotebookNode, executor: CourseExecute, limit: str | None,
                    alive: bool, limits: Limits) -> list[str]:
    """The reasons to record after a run: a limit the watchdog enforced, a dead kernel,
    dropped output, cell timeouts."""
    reasons = []
    if limit is not None:
        reasons.append(f"{limit} exceeded")
        _relabel(nb, executor.dead_reason, limit)
    elif not alive or _has_dead(nb):
        reasons.append(executor.dead_reason)
    if executor.output_dropped:
        reasons.append(f"output beyond {limits.output_mb} MiB was dropped")
    return reasons + _timeouts(nb)


class Watchdog:
    """Kills the kernel when the submission goes over its wall-clock, disk or file limit
    (checked every ``WATCH_INTERVAL`` seconds while the cells run); ``reason`` says which."""

    def __init__(self, km: LimitedKernelManager, limits: Limits, run: Path):
        self.km, self.limits, self.run = km, limits, run
        self.reason: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def kill(self, reason: str) -> None:
        """Kill the kernel now; the first reason given is kept."""
        if self.reason is None:
            self.reason = reason
        pid = kernel_pid(self.km)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _watch(self) -> None:
        deadline = time.monotonic() + self.limits.wall_clock
        while not self._done.wait(WATCH_INTERVAL):
            over = self._over(deadline)
            if over:
                self.kill(over)
                return

    def _over(self, deadline: float) -> str | None:
        lim = self.limits
        if time.monotonic() > deadline:
            return f"wall-clock limit of {lim.wall_clock:g} s"
        if lim.sandbox and (lim.disk_mb or lim.files):
            size, entries = dir_usage(self.run, lim.files)
            if lim.disk_mb and size > lim.disk_mb << 20:
                return f"disk limit of {lim.disk_mb} MiB"
            if lim.files and entries > lim.files:
                return f"file limit of {lim.files} files"
        return None


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

