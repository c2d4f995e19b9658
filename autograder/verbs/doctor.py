"""``course doctor``: is grading sandboxed on this machine, and does each part work?

Checks bubblewrap, that it can create the user, PID, network and mount namespaces, and runs
a probe inside the sandbox: no network, the course root and the instructor's home are not
visible, ``course_lib`` and numpy import. Then whether pids/memory/cpu cgroups can be used
(without them a fork bomb is bounded by the wall-clock limit only, and ``RLIMIT_NPROC`` does
not bind root), and whether a kernel starts in the sandbox and answers over ``ipc``, and a
test cell runs in the sandboxed trusted process, calling the kernel's function. Last, whether
the gradebook's database (``CourseDirectory.db_url``, SQLite by default) can be reached.

With ``--scheduler tcp://HOST:PORT`` (or ``c.CourseGrade.scheduler`` in
``nbgrader_config.py``), every worker of that Dask cluster too
(:func:`autograder.grade.cluster.survey`): one thread per worker process, the sandbox usable
there, the same Python, packages and autograder and course_lib code as here; then one
sandboxed kernel and test process on each worker, as here. A cluster that does not match
makes the exit status 1 (``course grade`` refuses it). Grading on a cluster does not need
the sandbox on this machine, only on the workers.
"""

from __future__ import annotations

import os

from autograder.core.course import Course
from autograder.sandbox import bwrap

HELP = "check that grading is sandboxed here (and on a Dask cluster's workers)"
KERNEL_CHECK_TIMEOUT = 300  # seconds for a worker's kernel check (it may be grading)


def add_arguments(p) -> None:
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="also check every worker of this Dask scheduler (default: "
                        "CourseGrade.scheduler from nbgrader_config.py, if set)")


def run(course, args) -> int:
    from autograder.grade.cluster import scheduler_address

    scheduler = scheduler_address(course, getattr(args, "scheduler", None))
    ok, lines = doctor(course)
    db_ok, db_line = gradebook_check(course)
    print("\n".join([*lines, db_line]), flush=True)
    if scheduler is None:
        return 0 if ok and db_ok else 1
    cluster_ok, cluster_lines = cluster_check(scheduler)
    print("\n".join(cluster_lines))
    return 0 if cluster_ok and db_ok else 1


def cluster_check(scheduler: str, sandboxed: bool = True,
                  start_kernel: bool = True) -> tuple[bool, list[str]]:
    """(can the cluster at ``scheduler`` grade for this machine?, report lines): its workers
    (:func:`autograder.grade.cluster.survey`), then a kernel and test process on each."""
    from autograder.grade.cluster import ClusterUnavailable, connect, survey

    try:
        client = connect(scheduler)
    except ClusterUnavailable as err:
        ok, lines = False, [f"cluster: [FAIL] {err}"]
    else:
        with client:
            ok, lines = survey(client, sandboxed)
            if ok and start_kernel:
                ok = worker_kernel_checks(client, lines)
    lines.append("the cluster matches this machine: `course grade --scheduler` uses it" if ok
                 else "the cluster does NOT match this machine: `course grade --scheduler` "
                      "refuses it")
    return ok, lines


def worker_kernel_checks(client, lines: list[str]) -> bool:
    """:func:`kernel_check` on every worker of ``client``'s cluster (a task pinned to
    each); a line per worker appended to ``lines``; whether all passed."""
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    futures = [client.submit(kernel_check, key=f"doctor-kernel-check-{i}-{w}", workers=[w],
                             allow_other_workers=False, pure=False)
               for i, w in enumerate(workers)]
    ok = True
    for worker, future in zip(workers, futures, strict=True):
        try:
            kernel_ok, detail = future.result(timeout=KERNEL_CHECK_TIMEOUT)
        except Exception as err:  # noqa: BLE001  (reported, not raised)
            kernel_ok, detail = False, f"{type(err).__name__}: {err}"[:200]
        ok = ok and kernel_ok
        lines.append(f"  [{'ok' if kernel_ok else 'FAIL'}] {worker}: kernel and test "
                     f"process start sandboxed, tests call the kernel ({detail})")
    return ok


def gradebook_check(course: Course) -> tuple[bool, str]:
    """(can the configured gradebook be reached?, report line)."""
    from autograder.grade.database import GradebookUnavailable, check

    try:
        return True, f"gradebook: {check(course.db_url)}  [ok]"
    except GradebookUnavailable as err:
        return False, f"gradebook: [FAIL] {err}"


def kernel_check() -> tuple[bool, str]:
    """Start one sandboxed kernel and the sandboxed trusted process: a student cell runs in
    the kernel, a test cell in the trusted process calling the student's function."""
    import nbformat

    from autograder.run.execute import execute_submission
    from autograder.run.plan import TestPlan
    from autograder.sandbox.limits import Limits

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
    checks = dict(bwrap.probe(str(course.root)))
    found = bwrap.executable() or "NOT FOUND (Debian/Ubuntu: apt-get install bubblewrap)"
    lines = [f"bubblewrap: {found}"]
    if start_kernel and bwrap.available():
        ok, detail = kernel_check()
        checks[f"kernel and test process start sandboxed, tests call the kernel ({detail})"] \
            = ok
    for name, ok in checks.items():
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}")
    sandboxed = bwrap.available() and all(
        ok for name, ok in checks.items() if name != "pids and memory cgroups")
    cg = checks.get("pids and memory cgroups", False)
    if not cg:
        lines.append("  note: without cgroups, process count and total memory are not capped "
                     f"({'root ignores RLIMIT_NPROC' if os.geteuid() == 0 else 'RLIMIT_NPROC'})")
    lines.append("grading IS sandboxed here" if sandboxed else
                 "grading is NOT sandboxed here: `course grade` refuses to run without "
                 "--no-sandbox")
    return sandboxed, lines
