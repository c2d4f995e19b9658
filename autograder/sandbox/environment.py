"""The one environment that grading runs course code in.

Every process that executes course code while grading -- the student's kernel
(:mod:`autograder.run.execute`), the trusted process that runs the tests
(:mod:`autograder.run.trusted`) and the kernel of ``course release`` -- starts with
:func:`grading_env`, and, when sandboxed, under the same
:func:`autograder.sandbox.bwrap.bwrap_args`.
So grading does not depend on what the instructor's shell exports: the same Python and
numpy, the same BLAS kernels (OpenBLAS picks them from the CPU and from
``OPENBLAS_CORETYPE``), the same thread counts, locale and hash seed, and a working directory
laid out the same way (a scratch folder holding a copy of the assignment's data files and
nothing else), on every machine that grades.

What the parent contributes, and how:

* Variables that tune numerical libraries (:data:`NUMERIC_PREFIXES`: ``OPENBLAS_*``,
  ``OMP_*``, ``MKL_*``, ``NPY_*`` ...) are passed to every such process unchanged, because some
  machines need them (an ``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` that works around a
  processor older OpenBLAS misdetects). Then the thread counts are fixed to one
  (:data:`THREADS`): grading runs one kernel per core already, and a thread count changes
  how a BLAS splits, hence rounds, a product.
* ``HOME``, ``TMPDIR`` and ``MPLCONFIGDIR`` are the sandbox's ``/tmp`` (bubblewrap sets
  them); without the sandbox, the parent's.
* ``PATH``: this Python's ``bin`` folder, then the parent's (the kernel launcher looks
  for ``bwrap`` there).
* Nothing else: a parent's ``PYTHONPATH``, ``PYTHONWARNINGS``, ``JUPYTER_*`` or proxy
  settings never reach course code.

The only variables that differ are each process's own (:data:`OWN`): Jupyter's protocol
variables, which the kernel manager adds to the kernel's environment, and ``PWD`` (the
path of each process's scratch folder); neither touches numerics. The trusted process also
has ``COURSE_LIB_COMPLETE=1`` (:mod:`course_lib.exercise`: it keeps the names an assignment
withholds from the student's kernel).
``tests/autograder/run/test_grading_environment.py`` starts both processes and compares their
environments variable by variable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Thread counts of every BLAS/OpenMP runtime numpy or a course library could load.
THREADS = {name: "1" for name in (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
    "NVPL_NUM_THREADS")}

# Set for course code whatever the parent says.
FIXED = {
    "MPLBACKEND": "Agg", "COURSE_STATIC_WIDGETS": "1", "NBGRADER_EXECUTION": "autograde",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
}

# Parent variables that tune numerical libraries: passed to every grading process alike.
NUMERIC_PREFIXES = ("OPENBLAS_", "GOTOBLAS", "GOTO_", "OMP_", "GOMP_", "KMP_", "MKL_",
                    "BLIS_", "VECLIB_", "NUMEXPR_", "NPY_", "NVPL_", "ATLAS_", "ACCELERATE_")

# Where the sandbox puts home and temporary files (bubblewrap's --setenv).
SANDBOX_HOME = {"HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp"}

# Variables of the Jupyter kernel protocol: the kernel manager adds them to a kernel's
# environment (the sandbox removes JPY_PARENT_PID); the check process has no use for them.
KERNEL_PROTOCOL = frozenset({"JPY_PARENT_PID", "JPY_SESSION_NAME", "JPY_INTERRUPT_EVENT",
                             "IPY_INTERRUPT_EVENT"})
# Variables whose value is necessarily each process's own: the kernel's protocol variables
# and PWD (bubblewrap sets it to the scratch folder, which is the same in content only).
OWN = KERNEL_PROTOCOL | {"PWD"}


def numeric(name: str) -> bool:
    """Whether ``name`` is a variable that tunes a numerical library (BLAS, OpenMP...)."""
    return name.upper().startswith(NUMERIC_PREFIXES)


def search_path(parent: dict[str, str]) -> str:
    """PATH for course code: this Python's ``bin`` folder, then the grader's PATH (where
    the kernel launcher finds ``bwrap``), or the system's folders."""
    rest = parent.get("PATH") or os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])
    return os.pathsep.join([str(Path(sys.executable).parent), rest])


def grading_env(sandboxed: bool, parent: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every process that runs course code while grading.

    ``parent`` (default: ``os.environ``) contributes only its numerical-library variables,
    its ``PATH`` (after this Python's ``bin``) and, without the sandbox, its home and
    temporary folders; thread counts are one.
    """
    parent = dict(os.environ if parent is None else parent)
    env = {name: value for name, value in sorted(parent.items()) if numeric(name)}
    env.update(THREADS)
    env.update(FIXED)
    env["PATH"] = search_path(parent)
    if sandboxed:
        env.update(SANDBOX_HOME)  # bubblewrap sets the same (sandbox.bwrap_args)
    else:
        for name in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
            if parent.get(name):
                env[name] = parent[name]
        env.setdefault("HOME", "/tmp")
    return env


def leaked(env: dict[str, str], parent: dict[str, str] | None = None) -> dict[str, str]:
    """Numerical-library variables of ``env`` that differ from what :func:`grading_env`
    makes of ``parent``: what a test asserts empty for both phases."""
    want = grading_env(False, parent)
    names = {n for n in env if numeric(n)} | {n for n in want if numeric(n)}
    return {n: env.get(n, "<unset>") for n in sorted(names) if env.get(n) != want.get(n)}


# Python code defining ``_blas_report()``: what numerical library this process runs, as
# plain data: numpy's version, the OpenBLAS kernel in use (what threadpoolctl reports as
# "architecture"; None without OpenBLAS), whether a QR, a solve and a product give correct
# results, and the bits of one product (two kernels may round it differently).
BLAS_REPORT = r'''
def _blas_report():
    import ctypes
    import numpy as np

    def corename():
        for line in open("/proc/self/maps"):
            parts = line.split()
            if len(parts) >= 6 and "openblas" in parts[-1].lower():
                lib = ctypes.CDLL(parts[-1])
                for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                            "openblas_get_corename64_", "openblas_get_corename"):
                    try:
                        fn = getattr(lib, sym)
                    except AttributeError:
                        continue
                    fn.restype = ctypes.c_char_p
                    return fn().decode()
        return None

    a = np.random.default_rng(0).standard_normal((96, 96))
    q, r = np.linalg.qr(a)
    x = np.linalg.solve(a, a @ np.ones(96))
    ok = bool(np.allclose(q @ r, a) and np.allclose(q.T @ q, np.eye(96))
              and np.allclose(x, 1.0) and np.isclose((a @ a).trace(), np.sum(a * a.T)))
    return {"numpy": np.__version__, "core": corename(), "ok": ok,
            "bits": float((a @ a @ a).sum()).hex()}
'''
# A program printing ``_blas_report()`` as one JSON line.
BLAS_PROBE = BLAS_REPORT + "\nimport json\nprint(json.dumps(_blas_report()))\n"
