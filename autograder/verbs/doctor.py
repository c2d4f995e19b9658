"""``course doctor``: is grading sandboxed on this machine, and does each part work?

Checks bubblewrap, that it can create the user, PID, network and mount namespaces, and runs
a probe inside the sandbox: no network, the course root and the instructor's home are not
visible, ``course_lib`` and numpy import. Then whether pids/memory/cpu cgroups can be used
(without them a fork bomb is bounded by the wall-clock limit only, and ``RLIMIT_NPROC`` does
not bind root), and whether a kernel starts in the sandbox and answers over ``ipc``, and a
test cell runs in the sandboxed trusted process, calling the kernel's function.
"""

from __future__ import annotations

import os

from autograder import sandbox
from autograder.course import Course


def kernel_check() -> tuple[bool, str]:
    """Start one sandboxed kernel and the sandboxed trusted process: a student cell runs in
    the kernel, a test cell in the trusted process calling the student's function."""
    import nbformat

    from autograder.execute import Limits, execute_submission
    from autograder.plan import TestPlan

    test = nbformat.v4.new_code_cell("import os\nassert f(1) == 2\nprint(os.getpid() < 10)")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 1,
                                 "solution": False, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\ndef f(x):\n    return x + 1 if os.getpid() < 10 else None"), test])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    plan = TestPlan({"t": (test.source, True)}, ["f"])
    try:
        res = execute_submission(nb, Limits(cell_timeout=60, wall_clock=120, sandbox=True),
                                 plan=plan)
    except Exception as err:  # noqa: BLE001  (reported, not raised)
        return False, f"{type(err).__name__}: {err}"
    outputs = nb.cells[1].outputs
    text = "".join(o.get("text", "") for o in outputs)
    ok = text.startswith("True") and res.calls > 0 and not any(
        o.get("output_type") == "error" for o in outputs)
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs
              if o.get("output_type") == "error"]
    return ok, f"{res.runtime:.1f} s" if ok else "; ".join(
        errors or [text] or res.reasons)[:200]


def doctor(course: Course, start_kernel: bool = True) -> tuple[bool, list[str]]:
    """(sandboxed here?, report lines)."""
    checks = dict(sandbox.probe(str(course.root)))
    found = sandbox.bwrap() or "NOT FOUND (Debian/Ubuntu: apt-get install bubblewrap)"
    lines = [f"bubblewrap: {found}"]
    if start_kernel and sandbox.available():
        ok, detail = kernel_check()
        checks[f"kernel and test process start sandboxed, tests call the kernel ({detail})"] \
            = ok
    for name, ok in checks.items():
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}")
    sandboxed = sandbox.available() and all(
        ok for name, ok in checks.items() if name != "pids and memory cgroups")
    cg = checks.get("pids and memory cgroups", False)
    if not cg:
        lines.append("  note: without cgroups, process count and total memory are not capped "
                     f"({'root ignores RLIMIT_NPROC' if os.geteuid() == 0 else 'RLIMIT_NPROC'})")
    lines.append("grading IS sandboxed here" if sandboxed else
                 "grading is NOT sandboxed here: `course grade` refuses to run without "
                 "--no-sandbox")
    return sandboxed, lines
