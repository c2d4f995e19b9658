"""The trusted process: where the instructor's cells run, apart from the student's code.

While a submission is graded, its sandboxed kernel runs the student's cells and the
instructor's non-test cells, exactly what the notebook shows the student, and nothing else.
Every test cell, visible and hidden, and every instructor cell (again, to have its names:
``np``, the data) runs here instead, taken from the *source* notebook, in a namespace of its
own. The names the instructor's solution cells define come from the kernel before each cell
(:mod:`autograder.run.rpc`): a function is a handle whose calls go to the kernel with plain data,
a value is a fresh copy. Only this process decides whether a test passed; the kernel never
sees a test, an expected value or a verdict.

One warm server per grading worker (:class:`TrustedServer` starts :func:`server_main`, in
the sandbox when grading is sandboxed) imports numpy, IPython, ``course_lib`` and what the
instructor's cells import, once; each submission gets a fresh forked child of it
(:class:`Session` here, :func:`_session` there), in a folder of its own holding a copy of
the assignment's data files. It talks to the grader over a Unix socket pair and to the
kernel over the socket the grader hands it (``SCM_RIGHTS``): the grader does not relay.

The part that runs in the sandbox is self-contained (standard library, numpy, IPython and
:mod:`autograder.run.rpc`, whose source is given to it); the grader's side imports the rest
lazily.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import sys
from pathlib import Path

try:
    from autograder.run import rpc
except ImportError:  # inside the sandbox: the grader defined module ``rpc`` from its source
    import rpc  # type: ignore[no-redef]

FD_MARK = b"K"  # the one byte that carries the kernel's socket


# --- inside the trusted process ---------------------------------------------------------
class Namespace(dict):
    """The trusted cells' namespace. A cell that assigns one of the student's names (a test
    that puts the reference in place of a helper the student's function calls, and puts the
    student's back afterwards) binds it in the kernel too, as one namespace would."""

    peer = None
    names: frozenset = frozenset()

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        if self.peer is not None and key in self.names:
            self.peer.request("bind", name=key, value=value)


def _new_shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.colors = "NoColor"
    shell = InteractiveShell(config=config, history_length=0, user_ns=Namespace())
    shell.last_error = None

    def keep(etype, evalue, stb):
        shell.last_error = (etype, evalue, stb)

    shell._showtraceback = keep
    return shell


def run_cell(shell, source: str) -> tuple[list[dict], bool]:
    """Run one cell; its outputs (nbformat dicts: streams, then the error) and whether it
    raised."""
    out, err = io.StringIO(), io.StringIO()
    shell.last_error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = shell.run_cell(source, store_history=False, silent=True)
    outputs = [{"output_type": "stream", "name": name, "text": text.getvalue()}
               for name, text in (("stdout", out), ("stderr", err)) if text.getvalue()]
    failed = result.error_before_exec is not None or result.error_in_exec is not None
    if failed:
        error = result.error_in_exec or result.error_before_exec
        etype, evalue, stb = shell.last_error or (type(error), error, [])
        outputs.append({"output_type": "error", "ename": etype.__name__,
                        "evalue": str(evalue), "traceback": [str(line) for line in stb]})
    return outputs, failed


def _session(chan: rpc.Peer, kernel_sock: socket.socket, start: dict, shell) -> None:
    """One submission: run the cells the grader sends, against the kernel's names, in
    ``shell`` (made by the server before the fork: each child has a pristine copy)."""
    os.chdir(start["dir"])
    names = [str(n) for n in start.get("names", [])]
    kernel = rpc.Peer(kernel_sock, trusted=True)
    shell.user_ns.peer, shell.user_ns.names = kernel, frozenset(names)
    while True:
        cmd = chan.recv()
        if cmd.get("op") != "run":
            return
        kernel.epoch = int(cmd["epoch"])
        calls = kernel.calls + kernel.served
        try:
            bound = kernel.request("bindings", names=names)
            for name in names:  # (not bound back: these are the kernel's own)
                if name in bound:
                    dict.__setitem__(shell.user_ns, name, bound[name])
                else:
                    shell.user_ns.pop(name, None)
            outputs, failed = run_cell(shell, cmd["source"])
        except rpc.ChannelClosed as err:
            outputs, failed = [{"output_type": "error", "ename": "KernelStopped",
                                "evalue": str(err), "traceback": [f"KernelStopped: {err}"]}], True
        with contextlib.suppress(rpc.ChannelClosed):
            kernel.send({"op": "end", "epoch": kernel.epoch})
        chan.send({"outputs": outputs, "failed": failed,
                   "calls": kernel.calls + kernel.served - calls})


def server_main(preload=()) -> None:
    """The warm server: import once, then one forked child per session (stdin is the
    grader's socket)."""
    import importlib

    import IPython.core.interactiveshell  # noqa: F401  (imported once, used by each child)

    for name in ["numpy", "course_lib", *preload]:
        with contextlib.suppress(Exception):  # the cell that imports it will report it
            importlib.import_module(name)
    shell = _new_shell()
    sock = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    chan = rpc.Peer(sock, trusted=True)
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(sock, 1, 1)
            start = chan.recv()
        except (OSError, rpc.ChannelClosed):
            return
        if not fds:
            return
        pid = os.fork()
        if pid == 0:  # the child: one submission, then gone
            code = 1
            try:
                _session(chan, socket.socket(fileno=fds[0]), start, shell)
                code = 0
            except BaseException:  # noqa: BLE001  (the grader sees the session end)
                pass
            finally:
                os._exit(code)
        os.close(fds[0])
        _, status = os.waitpid(pid, 0)
        with contextlib.suppress(rpc.ChannelClosed):
            chan.send({"ended": os.waitstatus_to_exitcode(status)})


# --- in the grader --------------------------------------------------------------------
SOURCE = Path(globals().get("__file__", "."))  # (inside the sandbox: not used)


class TrustedServer:
    """A warm trusted process that forks a fresh child per submission (:class:`Session`)."""

    def __init__(self, sandboxed: bool, memory_mb: int, preload: tuple[str, ...] = ()):
        import tempfile

        from autograder.sandbox import bwrap, cgroups
        from autograder.sandbox.environment import grading_env

        self.key = server_key(sandboxed, memory_mb, preload)
        self.scratch = Path(tempfile.mkdtemp(prefix="course-tests-"))
        self.count = 0
        code = ("import sys, types\n"
                "rpc = types.ModuleType('rpc')\n"
                f"exec(compile({Path(rpc.__file__).read_text()!r}, 'course_rpc', 'exec'), "
                "rpc.__dict__)\n"
                "sys.modules['rpc'] = rpc\n"
                f"exec(compile({SOURCE.read_text()!r}, 'course_trusted', 'exec'))\n"
                f"server_main({list(preload)!r})\n")
        cmd = [sys.executable, "-c", code]
        if sandboxed:
            cmd = [*bwrap.bwrap_args([self.scratch], cwd=self.scratch), *cmd]
        self.sock, theirs = socket.socketpair()
        env = {**grading_env(sandboxed), "COURSE_LIB_COMPLETE": "1"}
        import subprocess

        self.proc = subprocess.Popen(
            cmd, stdin=theirs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, cwd=self.scratch, start_new_session=True,
            preexec_fn=lambda: cgroups.set_rlimits(memory_mb=memory_mb))
        theirs.close()
        self.chan = rpc.Peer(self.sock, trusted=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def session(self, kernel_sock: socket.socket, names, workdir: str | None) -> Session:
        """Start a child for one submission, talking to the kernel over ``kernel_sock``."""
        from autograder.run.scratch import copy_inputs

        self.count += 1
        folder = self.scratch / f"session-{self.count}"
        folder.mkdir()
        copy_inputs(workdir, folder)
        socket.send_fds(self.sock, [FD_MARK], [kernel_sock.fileno()])
        self.chan.send({"dir": str(folder), "names": list(names)})
        return Session(self, folder)

    def close(self) -> None:
        """Stop the server and any session in it (its process group)."""
        import shutil

        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.sock.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class Session:
    """The trusted child of one submission, seen from the grader."""

    def __init__(self, server: TrustedServer, folder: Path):
        self.server, self.folder = server, folder
        self.ended: str | None = None  # why the child is gone, once it is
        self.calls = 0

    def run(self, source: str, epoch: int) -> tuple[list[dict], bool]:
        """Run one cell in the trusted child; (outputs, failed)."""
        if self.ended is None:
            try:
                self.server.chan.send({"op": "run", "source": source, "epoch": epoch})
                answer = self.server.chan.recv()
            except rpc.ChannelClosed as err:
                answer = {"ended": str(err)}
            if "ended" not in answer:
                self.calls += int(answer.get("calls", 0))
                return list(answer.get("outputs", [])), bool(answer.get("failed"))
            self.ended = self.ended or f"the test process stopped ({answer['ended']})"
        return [{"output_type": "error", "ename": "TestProcessStopped", "evalue": self.ended,
                 "traceback": [f"TestProcessStopped: {self.ended}"]}], True

    def close(self) -> None:
        """End the child (the server stays warm for the next submission)."""
        import shutil

        if self.ended is None:
            try:
                self.server.chan.send({"op": "close"})
                while "ended" not in self.server.chan.recv():
                    pass
            except rpc.ChannelClosed:
                self.server.close()
            self.ended = "closed"
        shutil.rmtree(self.folder, ignore_errors=True)

    def abort(self) -> None:
        """Stop a child that does not answer: the whole server goes (a new one starts)."""
        self.ended = "stopped: it did not finish in time"
        self.server.close()


def server_key(sandboxed: bool, memory_mb: int, preload=()) -> tuple:
    from autograder.sandbox.environment import grading_env

    return (sandboxed, memory_mb, tuple(preload), tuple(grading_env(sandboxed).items()))


_SERVER: list[TrustedServer] = []  # this process's server, if started


def trusted_server(sandboxed: bool, memory_mb: int, preload=()) -> TrustedServer:
    """This process's server for these settings (a new one if they changed or it died)."""
    key = server_key(sandboxed, memory_mb, tuple(preload))
    if _SERVER and (_SERVER[0].key != key or not _SERVER[0].alive()):
        close_server()
    if not _SERVER:
        _SERVER.append(TrustedServer(sandboxed, memory_mb, tuple(preload)))
    return _SERVER[0]


def close_server() -> None:
    """Stop the server (at the end of a grading worker)."""
    while _SERVER:
        _SERVER.pop().close()

