"""The independent check (phase B): a test earns points only if it also passes on plain data.

Phase A (:mod:`autograder.execute`) runs the submission with nbgrader's semantics and
records, in the sandbox, every call of the student's functions (:mod:`autograder.replay`).
Phase B runs the instructor's cells -- taken from the *source* notebook, never from the
submission -- in a fresh (sandboxed) Python process in which no student code ever ran, with
each student function replaced by a replayer of the recorded calls. A test cell that passed
in A but fails in B was judged by a tampered process (or its function's result is not
plain data): it gets an error output, hence zero points, and the reason says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbformat import NotebookNode

from autograder import notebooks as nbk
from autograder import sandbox

REPLAY_SOURCE = Path(__file__).with_name("replay.py")
RECORD_FILE = "record.jsonl"
MAX_RECORD = 64 * 1024 * 1024
TAMPER = "IndependentCheckFailed"
DIFFERS = "your result differs when checked independently"


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


def defined_names(source: str) -> list[str]:
    """Top-level names a cell binds (functions, assignments); [] when it does not parse."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
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
    source text from ``source_nb``), student cells only contribute recorded names."""
    trusted = trusted_cells(source_nb)
    steps = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.get("execution_count") is None:
            continue
        gid = nbk.grade_id(cell)
        if gid in trusted:
            steps.append({"kind": "run", "gid": gid, "source": trusted[gid].source,
                          "cell": cell.execution_count, "test": nbk.is_test(trusted[gid])})
        else:
            steps.append({"kind": "student", "cell": cell.execution_count})
    last = max((i for i, step in enumerate(steps) if step.get("test")), default=-1)
    return steps[:last + 1]  # cells after the last test cannot change a verdict


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


ENV = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": "/tmp",
       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "COURSE_STATIC_WIDGETS": "1", "NBGRADER_EXECUTION": "autograde"}
_SPARE: list = []  # at most one phase-B process started ahead: (key, process, scratch)


def _spawn(sandboxed: bool, memory_mb: int):
    """Start a phase-B process; it imports what it needs, then waits for its input."""
    scratch = Path(tempfile.mkdtemp(prefix="course-check-"))
    cmd = [sys.executable, "-c", REPLAY_SOURCE.read_text() + "\ncheck_main()\n"]
    if sandboxed:
        cmd = [*sandbox.bwrap_args([scratch], cwd=scratch), *cmd]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, env=ENV, cwd=scratch,
        preexec_fn=lambda: sandbox.set_rlimits(memory_mb=memory_mb))
    return (sandboxed, memory_mb), proc, scratch


def _discard(spare) -> None:
    _, proc, scratch = spare
    proc.kill()
    proc.communicate()
    shutil.rmtree(scratch, ignore_errors=True)


def close_spare() -> None:
    """Stop the process started ahead (at the end of a grading worker)."""
    while _SPARE:
        _discard(_SPARE.pop())


def run_check(steps: list[dict], record: list[str], timeout: float,
              sandboxed: bool, memory_mb: int = 2048, names: list[str] = (),
              workdir: str | None = None, ahead: bool = False) -> dict:
    """Run phase B; {"verdict": {gid: {"passed", "error"}}} or {"error": why}.

    Only ``names`` (:func:`expected_names`) are bound from the recording. The process
    works in a fresh copy of the assignment's data files from ``workdir`` (no notebooks).
    With ``ahead``, the process for the next call starts now (as kernels do), so its
    imports overlap with the next submission's execution.
    """
    from autograder.execute import _copy_inputs

    key = (sandboxed, memory_mb)
    spare = _SPARE.pop() if _SPARE else None
    if spare is None or spare[0] != key or spare[1].poll() is not None:
        if spare is not None:
            _discard(spare)
        spare = _spawn(*key)
    _, proc, scratch = spare
    try:
        _copy_inputs(workdir, scratch)
        data = json.dumps({"steps": steps, "record": record, "names": list(names)})
        out, _ = proc.communicate(data, timeout=timeout)
        result = json.loads(out)
    except subprocess.TimeoutExpired:
        result = {"error": f"the independent check took more than {timeout:g} s"}
    except (ValueError, OSError) as err:
        result = {"error": f"the independent check did not complete ({type(err).__name__})"}
    finally:
        _discard(spare)
    if ahead:
        _SPARE.append(_spawn(*key))
    return result


def passed_in_kernel(cell: NotebookNode) -> bool:
    """nbgrader's rule: a test cell passes when it has no error and no stderr output."""
    return not any(o.get("output_type") == "error" or
                   (o.get("output_type") == "stream" and o.get("name") == "stderr")
                   for o in cell.get("outputs", []))


def apply_verdict(nb: NotebookNode, check: dict) -> list[str]:
    """Fail every test cell that passed in the kernel but not independently; the reasons."""
    verdict = check.get("verdict", {})
    flagged, reasons = [], []
    for cell in nb.cells:
        if not nbk.is_test(cell) or not passed_in_kernel(cell):
            continue
        gid = nbk.grade_id(cell)
        got = verdict.get(gid)
        if got and got.get("passed"):
            continue
        why = got.get("error") if got else check.get("error", "the cell was not checked")
        cell.outputs.append(NotebookNode(
            output_type="error", ename=TAMPER, evalue=f"{DIFFERS}: {why}",
            traceback=[f"{TAMPER}: {DIFFERS}"]))
        flagged.append(gid)
    if flagged:
        reasons.append(f"tampering suspected: {', '.join(flagged)} passed in the kernel but "
                       "failed the independent check")
    return reasons
