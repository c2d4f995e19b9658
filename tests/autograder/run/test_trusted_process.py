"""The trusted process (``autograder.run.trusted``): a warm server that forks a pristine child per
submission; the child runs the instructor's cells in one namespace, in a folder of its own,
against the kernel's names, and a child that dies or hangs costs only its own submission.

The "kernel" here is a real kernel-side ``rpc.Peer`` serving a namespace in a thread, over a
socket pair whose other end is handed to the server as ``execute.py`` hands it the kernel's.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.run import rpc, trusted
from autograder.sandbox import bwrap

PRELOAD = ("numpy",)


def server(sandboxed: bool = False) -> trusted.TrustedServer:
    return trusted.trusted_server(sandboxed, 2048, PRELOAD)


@pytest.fixture(scope="module", autouse=True)
def stop_the_server():
    trusted.close_server()
    yield
    trusted.close_server()


class Kernel:
    """The student's kernel as the trusted child sees it: ``ns`` served cell by cell."""

    def __init__(self, ns: dict | None = None):
        self.ns = ns if ns is not None else {}
        self.mine, self.theirs = socket.socketpair()
        self.peer = rpc.Peer(self.mine, trusted=False, ns=self.ns)
        self.epoch = 0
        self.stopped: list[BaseException] = []  # what ended a cell's serving, if anything
        self.thread: threading.Thread | None = None

    def start(self, names=(), workdir=None, sandboxed: bool = False) -> trusted.Session:
        """A session of the (warm) server talking to this kernel."""
        with self.theirs:  # as execute.py does: the child has its own copy of the socket
            return server(sandboxed).session(self.theirs, list(names), workdir)

    def serve(self) -> None:
        self.epoch += 1

        def run(epoch=self.epoch):
            try:
                self.peer.serve(epoch)
            except BaseException as err:  # noqa: BLE001
                self.stopped.append(err)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def run(self, session: trusted.Session, source: str) -> tuple[list[dict], bool]:
        """Run ``source`` in the trusted child while this kernel serves its requests."""
        self.serve()
        outputs, failed = session.run(source, self.epoch)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the kernel still serves after the cell"
        return outputs, failed

    def close(self) -> None:
        self.mine.close()


def running_in_group(pgid: int) -> list[int]:
    """Processes of the group ``pgid`` that are not dead (a zombie is dead, not yet reaped)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in "ZX":
                found.append(int(entry))
    return found


def gone(pgid: int, timeout: float = 10.0) -> list[int]:
    """The processes of group ``pgid`` still running after up to ``timeout`` seconds (a
    process sent SIGKILL takes a moment to die on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while (left := running_in_group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def text(outputs: list[dict]) -> str:
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream")


def error(outputs: list[dict]) -> tuple[str, str] | None:
    errors = [(o["ename"], o["evalue"]) for o in outputs if o["output_type"] == "error"]
    assert len(errors) <= 1, outputs
    return errors[0] if errors else None


def passes(kernel: Kernel, session: trusted.Session, source: str) -> str:
    """Run a cell that must not fail; what it printed."""
    outputs, failed = kernel.run(session, source)
    assert not failed and error(outputs) is None, outputs
    return text(outputs)


def test_a_sessions_cells_share_a_namespace_and_take_the_expected_names_from_the_kernel():
    kernel = Kernel({"squares": lambda x: np.asarray(x, dtype=float) ** 2,
                     "abs": lambda x: 0, "secret": 42, "w": np.array([1.0, 2.0])})
    session = kernel.start(names=["squares", "w", "gone"])
    try:
        assert passes(kernel, session,
                      "import numpy as np, os\n"
                      "r = squares([3.0, -1.5])\n"
                      "assert abs(-2) == 2  # the builtin: abs is not an expected name\n"
                      "print(type(squares).__name__, r.tolist(), w.tolist(), 'secret' in dir(), "
                      "'gone' in dir(), os.environ.get('COURSE_LIB_COMPLETE'))"
                      ) == "Remote [9.0, 2.25] [1.0, 2.0] False False 1\n"
        # the next cell: the same namespace, and the names taken from the kernel again
        kernel.ns["squares"] = lambda x: "redefined"
        kernel.ns["w"] = np.array([3.0])
        del kernel.ns["abs"]
        assert passes(kernel, session, "print(r.tolist(), squares(1), w.tolist())"
                      ) == "[9.0, 2.25] redefined [3.0]\n"
        del kernel.ns["squares"]  # the student deleted it: the test no longer sees it
        outputs, failed = kernel.run(session, "print('before')\nsquares(1)")
        assert failed and text(outputs) == "before\n"
        assert error(outputs) == ("NameError", "name 'squares' is not defined")
        outputs, failed = kernel.run(session, "assert r[0] == 8, 'squares of [3, -1.5] are wrong'")
        assert failed and error(outputs) == ("AssertionError", "squares of [3, -1.5] are wrong")
        assert session.calls == 6  # a bindings request per cell, and two calls of squares
    finally:
        session.close()
        kernel.close()


def test_what_the_kernel_prints_stays_in_the_kernel_and_its_errors_reach_the_test():
    def step(lr):
        print("the student's print")
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        return lr

    kernel = Kernel({"step": step})
    session = kernel.start(names=["step"])
    try:
        outputs, failed = kernel.run(session, "print(step(0.5))\nstep(-1.0)")
        assert failed and text(outputs) == "0.5\n"
        assert error(outputs) == ("ValueError", "Invalid learning rate: -1.0")
        tb = "\n".join(next(o for o in outputs if o["output_type"] == "error")["traceback"])
        assert "In your code (the student's kernel)" in tb and "in step" in tb
    finally:
        session.close()
        kernel.close()


def test_an_interrupted_kernel_fails_the_cell_and_the_next_cell_is_served():
    def hang():
        raise KeyboardInterrupt  # the kernel's cell timeout, arriving during the call

    kernel = Kernel({"hang": hang, "one": lambda: 1})
    session = kernel.start(names=["hang", "one"])
    try:
        outputs, failed = kernel.run(session, "hang()")
        assert failed and error(outputs) == (
            "TimeoutError", "interrupted: KeyboardInterrupt (the cell's time limit?)")
        assert [type(e) for e in kernel.stopped] == [KeyboardInterrupt]
        assert passes(kernel, session, "print(one())") == "1\n"
    finally:
        session.close()
        kernel.close()


def test_a_kernel_that_is_gone_stops_the_cell_not_the_session():
    kernel = Kernel({"one": lambda: 1})
    session = kernel.start(names=["one"])
    try:
        kernel.close()  # the kernel died
        outputs, failed = session.run("print('never')", 1)
        assert failed and error(outputs)[0] == "KernelStopped", outputs
        assert session.ended is None  # the child goes on (and is closed normally)
    finally:
        session.close()
    assert session.ended == "closed" and not session.folder.exists()


def test_the_server_stays_warm_and_each_session_starts_from_a_pristine_process():
    first, second = Kernel(), Kernel()
    warm = server()
    count = warm.count
    session = first.start()
    try:
        assert passes(first, session,
                      "import numpy, builtins, sys, course_lib\n"
                      "numpy.polluted = True\n"
                      "builtins.divmod = lambda a, b: 'rigged'\n"
                      "course_lib.polluted = True\n"
                      "sys.modules['csv'] = None\n"
                      "leftover = 1\n"
                      "print(divmod(7, 2))") == "rigged\n"
    finally:
        session.close()
        first.close()
    assert server() is warm and warm.alive()
    session = second.start()
    try:
        assert passes(second, session,
                      "import numpy, builtins, csv, course_lib\n"
                      "print(hasattr(numpy, 'polluted'), divmod(7, 2), "
                      "hasattr(course_lib, 'polluted'), csv.QUOTE_ALL, 'leftover' in dir())"
                      ) == "False (3, 1) False 1 False\n"
    finally:
        session.close()
        second.close()
    assert server() is warm and warm.count == count + 2


def test_a_session_works_in_its_own_folder_with_the_data_files_and_no_notebooks(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "data.txt").write_text("42")
    (tmp_path / "sub" / "w.txt").write_text("3")
    (tmp_path / "mine.ipynb").write_text("{}")
    (tmp_path / "link.txt").symlink_to(tmp_path / "data.txt")
    kernel = Kernel()
    session = kernel.start(workdir=str(tmp_path))
    folder = session.folder
    try:
        assert folder.parent == server().scratch and folder != tmp_path
        assert passes(kernel, session,
                      "import os\n"
                      "print(os.getcwd())\n"
                      "print(sorted(os.path.relpath(os.path.join(r, f)) for r, _, fs in "
                      "os.walk('.') for f in fs))\n"
                      "print(open('data.txt').read())\n"
                      "open('left-behind.txt', 'w').write('x')"
                      ) == f"{folder}\n['data.txt', 'sub/w.txt']\n42\n"
    finally:
        session.close()
        kernel.close()
    assert not folder.exists()
    assert (tmp_path / "data.txt").read_text() == "42" and not (tmp_path / "left-behind.txt"
                                                                 ).exists()
    kernel = Kernel()
    session = kernel.start()
    try:
        assert passes(kernel, session, "import os\nprint(os.listdir('.'))") == "[]\n"
    finally:
        session.close()
        kernel.close()


def test_a_child_that_dies_stops_its_later_cells_and_the_next_session_still_works():
    kernel = Kernel({"one": lambda: 1})
    warm = server()
    session = kernel.start(names=["one"])
    try:
        assert passes(kernel, session, "x = one()") == ""
        outputs, failed = kernel.run(session, "import os\nos._exit(3)")
        stopped = ("TestProcessStopped", "the test process stopped (3)")
        assert failed and error(outputs) == stopped and session.ended == stopped[1]
        outputs, failed = kernel.run(session, "print(x)")  # later cells do not run
        assert failed and error(outputs) == stopped and text(outputs) == ""
    finally:
        session.close()
        kernel.close()
    assert warm.alive() and server() is warm
    assert_a_new_session_works()


def assert_a_new_session_works() -> None:
    kernel = Kernel({"one": lambda: 1})
    session = kernel.start(names=["one"])
    try:
        assert passes(kernel, session, "print(one() + 1)") == "2\n"
    finally:
        session.close()
        kernel.close()


def test_abort_kills_a_stuck_child_and_a_new_server_starts():
    kernel = Kernel()
    stuck = server()
    scratch = stuck.scratch
    session = kernel.start()
    kernel.serve()
    box = {}
    runner = threading.Thread(
        target=lambda: box.update(result=session.run("import time\ntime.sleep(600)",
                                                     kernel.epoch)), daemon=True)
    runner.start()
    time.sleep(1.0)
    assert runner.is_alive()
    assert len(running_in_group(stuck.proc.pid)) == 2  # the server and its stuck child
    began = time.monotonic()
    session.abort()
    runner.join(30)
    assert not runner.is_alive() and time.monotonic() - began < 10
    outputs, failed = box["result"]
    assert failed and error(outputs)[0] == "TestProcessStopped"
    assert error(outputs)[1] == "stopped: it did not finish in time"  # abort()'s reason
    kernel.thread.join(10)
    assert not kernel.thread.is_alive()  # the kernel stopped serving: its partner is gone
    assert not stuck.alive() and not scratch.exists()
    assert gone(stuck.proc.pid) == []  # the stuck child too (zombies aside)
    session.close()
    kernel.close()
    fresh = server()
    assert fresh is not stuck and fresh.alive() and fresh.proc.pid != stuck.proc.pid
    assert_a_new_session_works()


def test_other_settings_get_another_server():
    warm = server()
    other = trusted.trusted_server(False, 1024, PRELOAD)
    assert other is not warm and not warm.alive() and other.key[1] == 1024
    assert trusted.trusted_server(False, 1024, PRELOAD) is other


@pytest.mark.skipif(not bwrap.available(), reason="bubblewrap is not usable here")
def test_the_sandboxed_server_has_no_network_and_sees_no_course_files():
    repo = Path(__file__).resolve().parents[3]
    assert (repo / "autograder" / "grade" / "coordinator.py").exists()
    kernel = Kernel({"one": lambda: 1})
    session = kernel.start(names=["one"], sandboxed=True)
    try:
        assert passes(kernel, session,
                      "import os, socket\n"
                      "s = socket.socket()\n"
                      "try:\n"
                      "    s.connect(('1.1.1.1', 53))\n"
                      "    print('connected')\n"
                      "except OSError:\n"
                      "    pass\n"
                      f"print([p for p in ({str(repo / 'source')!r}, "
                      f"{str(repo / 'autograder' / 'grade' / 'coordinator.py')!r}, "
                      f"{str(Path.home() / '.ssh')!r}) if os.path.exists(p)])\n"
                      "print(os.environ['HOME'], one())") == "[]\n/tmp 1\n"
    finally:
        session.close()
        kernel.close()
