"""The independent check (phase B): a test earns points only if it also passes on plain data.

Phase A (:mod:`autograder.execute`) runs the submission with nbgrader's semantics and
records, in the sandbox, every call of the student's functions (:mod:`autograder.replay`).
Phase B runs the instructor's cells -- taken from the *source* notebook, never from the
submission -- in a fresh (sandboxed) Python process in which no student code ever ran, with
each student function replaced by a replayer of the recorded calls. Both phases run in the
same environment (:mod:`autograder.environment`), and arguments are compared up to honest
rounding (:func:`replay.differs`). A test cell that passed in A but fails in B was judged
by a tampered process, returned something that is not plain data, or met a difference the
check cannot explain: it gets an error output (zero points), the student reads that the
result could not be confirmed and the instructor has been told, and the instructor gets
the evidence (:func:`apply_verdict`).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbformat import NotebookNode

from autograder import notebooks as nbk
from autograder import replay, sandbox
from autograder.environment import grading_env

REPLAY_SOURCE = Path(__file__).with_name("replay.py")
RECORD_FILE = "record.jsonl"
MAX_RECORD = 64 * 1024 * 1024
UNCONFIRMED = "NotConfirmed"  # the error a flagged test cell gets (so nbgrader scores zero)
# What the student reads on a flagged test: no accusation, the instructor reviews it.
UNCONFIRMED_MESSAGE = ("this result could not be confirmed by an independent re-run of the "
                       "tests; your instructor has been told and will review it")
FLAGGED = "not confirmed by an independent re-run"  # starts the reason in grading.json


def install_code(record_path: str) -> str:
    """Kernel code (run silently before the first cell) that sets up the recorder."""
    return (
        "def _course_install():\n"
        "    import sys, types\n"
        "    mod = types.ModuleType('_course_recorder')\n"
        f"    exec(compile({REPLAY_SOURCE.read_text()!r}, 'course_recorder', 'exec'), "
        "mod.__dict__)\n"
        "    ip = get_ipython()\n"
        # IPython counts a cell before running it: during cell N, execution_count is N + 1
        f"    mod.recorder = mod.Recorder({record_path!r}, lambda: ip.execution_count - 1)\n"
        "    sys.modules['_course_recorder'] = mod\n"
        "_course_install()\n"
        "del _course_install\n"
    )


def after_cell_code(names: list[str], cell: int) -> str:
    """Kernel code (run silently after a student cell): wrap and record what it defined."""
    return (f"__import__('sys').modules['_course_recorder'].recorder.after_cell("
            f"globals(), {names!r}, {int(cell)})")


def _top_level(source: str) -> list:
    """The top-level statements of a cell's code, IPython syntax included ([] if invalid)."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source)).body
    except (SyntaxError, ValueError):
        return []


def defined_names(source: str) -> list[str]:
    """Top-level names a cell binds (functions, assignments); [] when it does not parse."""
    import ast

    names = []
    for node in _top_level(source):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.append(sub.id)
    return list(dict.fromkeys(names))


def trusted_cells(source_nb: NotebookNode) -> dict[str, NotebookNode]:
    """Instructor code cells by grade id: locked cells and test cells of the source."""
    cells = {}
    for cell in source_nb.cells:
        meta = nbk.nbgrader_meta(cell)
        gid = meta.get("grade_id")
        if cell.cell_type == "code" and gid and not meta.get("solution") and (
                meta.get("locked") or meta.get("grade")):
            cells[gid] = cell
    return cells


def plan(source_nb: NotebookNode, nb: NotebookNode) -> list[dict]:
    """Phase B's steps, in the executed notebook's order: instructor cells run (their
    source text from ``source_nb``), student cells only contribute recorded names.

    The plan ends with the last test cell that passed in the kernel: only those need
    confirming (a failed test scores zero already), and later cells cannot change them.
    No such test: no steps, and no check to run."""
    trusted = trusted_cells(source_nb)
    steps = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.get("execution_count") is None:
            continue
        gid = nbk.grade_id(cell)
        if gid in trusted:
            test = nbk.is_test(trusted[gid])
            steps.append({"kind": "run", "gid": gid, "source": trusted[gid].source,
                          "cell": cell.execution_count, "test": test,
                          "confirm": test and passed_in_kernel(cell)})
        else:
            steps.append({"kind": "student", "cell": cell.execution_count})
    last = max((i for i, step in enumerate(steps) if step.get("confirm")), default=-1)
    return steps[:last + 1]


def expected_names(source_nb: NotebookNode) -> list[str]:
    """Names the instructor's solution cells define: the only names phase B binds.

    A recording is the student's data; without this filter it could bind ``abs`` or
    ``np`` in phase B's namespace and change what an instructor cell means.
    """
    return sorted({n for c in source_nb.cells if c.cell_type == "code" and nbk.is_solution(c)
                   for n in defined_names(c.source)})


def read_record(path: Path) -> list[str]:
    """The recording's lines (at most ``MAX_RECORD`` bytes; it is untrusted data)."""
    if not path.is_file():
        return []
    with path.open("rb") as f:
        data = f.read(MAX_RECORD)
    return data.decode("utf-8", "replace").splitlines()


def imported_modules(source_nb: NotebookNode) -> list[str]:
    """Modules the instructor's cells import at top level: what the check server preloads."""
    import ast

    names = set()
    for cell in trusted_cells(source_nb).values():
        for node in _top_level(cell.source):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(names)


class CheckServer:
    """A warm phase-B process (:func:`replay.serve_main`) that forks a fresh child per check.

    It imports numpy, IPython and ``preload`` once; each check then costs a fork instead of
    a new interpreter. It runs in the sandbox with one scratch folder writable; each check
    gets its own sub-folder with a fresh copy of the data files. A late answer kills the
    server (with the check running in it); the next check starts a new one.
    """

    def __init__(self, sandboxed: bool, memory_mb: int, preload: tuple[str, ...] = ()):
        self.key = server_key(sandboxed, memory_mb, preload)
        self.scratch = Path(tempfile.mkdtemp(prefix="course-check-"))
        self.count = 0
        code = f"{REPLAY_SOURCE.read_text()}\nserve_main({list(preload)!r})\n"
        cmd = [sys.executable, "-c", code]
        if sandboxed:
            cmd = [*sandbox.bwrap_args([self.scratch], cwd=self.scratch), *cmd]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=grading_env(sandboxed), cwd=self.scratch, start_new_session=True,
            preexec_fn=lambda: sandbox.set_rlimits(memory_mb=memory_mb))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check(self, data: dict, workdir: str | None, timeout: float) -> dict:
        """One check's answer ({"verdict": ...} or {"error": why})."""
        from autograder.execute import _copy_inputs

        self.count += 1
        folder = self.scratch / f"check-{self.count}"
        folder.mkdir()
        try:
            _copy_inputs(workdir, folder)
            replay.write_frame(self.proc.stdin, {**data, "dir": str(folder)})
            return json.loads(self._read(time.monotonic() + timeout))
        except TimeoutError:
            self.close()
            return {"error": f"the independent check took more than {timeout:g} s"}
        except (ValueError, OSError) as err:
            self.close()
            return {"error": f"the independent check did not complete ({type(err).__name__})"}
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _read(self, deadline: float) -> bytes:
        """An answer from the server (:func:`replay.read_frame`'s format, read without
        blocking past ``deadline``: TimeoutError)."""
        fd, data = self.proc.stdout.fileno(), b""
        while True:
            header, _, rest = data.partition(b"\n")
            if _ and len(rest) >= int(header):
                return rest[:int(header)]
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise OSError("the check server stopped")
            data += chunk
            if len(data) > MAX_RECORD:
                raise ValueError("answer too large")

    def close(self) -> None:
        """Stop the server and the check running in it (its process group)."""
        if self.proc.returncode is None:  # not reaped: its pid is still its group's id
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate()
        shutil.rmtree(self.scratch, ignore_errors=True)


def server_key(sandboxed: bool, memory_mb: int, preload=()) -> tuple:
    """What a check server was started with (its environment included)."""
    return (sandboxed, memory_mb, tuple(preload), tuple(grading_env(sandboxed).items()))


_SERVER: list[CheckServer] = []  # this process's check server, if started


def check_server(sandboxed: bool, memory_mb: int, preload=()) -> CheckServer:
    """This process's check server for these settings (a new one if they changed or it died)."""
    key = server_key(sandboxed, memory_mb, preload)
    if _SERVER and (_SERVER[0].key != key or not _SERVER[0].alive()):
        close_server()
    if not _SERVER:
        _SERVER.append(CheckServer(sandboxed, memory_mb, tuple(preload)))
    return _SERVER[0]


def close_server() -> None:
    """Stop the check server (at the end of a grading worker)."""
    while _SERVER:
        _SERVER.pop().close()


def run_check(steps: list[dict], record: list[str], timeout: float,
              sandboxed: bool, memory_mb: int = 2048, names: list[str] = (),
              workdir: str | None = None, preload: list[str] = ()) -> dict:
    """Run phase B; {"verdict": {gid: {"passed", "error"}}} or {"error": why}.

    Only ``names`` (:func:`expected_names`) are bound from the recording. The check works
    in a fresh copy of the assignment's data files from ``workdir`` (no notebooks), in a
    child of this process's :class:`CheckServer`, which stays warm for the next call.
    """
    server = check_server(sandboxed, memory_mb, preload)
    data = {"steps": steps, "record": record, "names": list(names)}
    return server.check(data, workdir, timeout)


def passed_in_kernel(cell: NotebookNode) -> bool:
    """nbgrader's rule: a test cell passes when it has no error and no stderr output."""
    return not any(o.get("output_type") == "error" or
                   (o.get("output_type") == "stream" and o.get("name") == "stderr")
                   for o in cell.get("outputs", []))


def apply_verdict(nb: NotebookNode, check: dict) -> tuple[list[str], list[dict]]:
    """Fail every test cell that passed in the kernel but not independently.

    Returns the reasons (shown to the student as grader notes: no details) and, per
    flagged test, the evidence for the instructor: {"test", "error", "evidence"} (which
    call, which argument or value differed, and by how much; or how the test failed in the
    check)."""
    verdict = check.get("verdict", {})
    flagged = []
    for cell in nb.cells:
        if not nbk.is_test(cell) or not passed_in_kernel(cell):
            continue
        gid = nbk.grade_id(cell)
        got = verdict.get(gid)
        if got and got.get("passed"):
            continue
        why = got.get("error") if got else check.get("error", "the cell was not checked")
        evidence = [str(e)[:2000] for e in (got or {}).get("evidence", []) or [why]][:10]
        cell.outputs.append(NotebookNode(
            output_type="error", ename=UNCONFIRMED, evalue=UNCONFIRMED_MESSAGE,
            traceback=[f"{UNCONFIRMED}: {UNCONFIRMED_MESSAGE}"]))
        flagged.append({"test": gid, "error": str(why)[:2000], "evidence": evidence})
    reasons = []
    if flagged:
        reasons.append(f"{FLAGGED}: {', '.join(f['test'] for f in flagged)} passed in the "
                       "kernel but could not be confirmed; the instructor has been told")
    return reasons, flagged
