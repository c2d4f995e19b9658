"""The sandbox of a kernel and of the trusted process: bubblewrap, and the probe of what works here.

Inside the sandbox a kernel sees a read-only system (``/usr``, ``/etc``, the Python
installation, the virtual environment and the ``course_lib`` folder only, or the copy of it
that lacks what the assignment withholds), a private ``/tmp``, and exactly one writable host
folder: its own run directory (connection file, ``ipc`` sockets, the socket the tests call
it over, and the scratch copy of the submission's files). It has no network
(``--unshare-all``), its own PID namespace (everything it started dies with it,
``--die-with-parent``), no capabilities, and a new session (no terminal injection). The
course root, ``source/``, the gradebook, ``autograded/``, ``feedback/``, other submissions
and the instructor's home are simply not there.

Kernels talk to the grader over ZeroMQ ``ipc`` (Unix sockets in the run directory), which
works across the network namespace, unlike ``tcp`` on loopback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.sandbox.cgroups import cgroups_usable
from autograder.sandbox.environment import SANDBOX_HOME, grading_env
from autograder.sandbox.limits import TMP_MB


def executable() -> str | None:
    """Path of the ``bwrap`` executable, or None."""
    return shutil.which("bwrap")


@functools.cache
def _course_lib_dir() -> Path | None:
    """The ``course_lib`` a grading process imports (a kernel, a check server): found by this
    Python started afresh outside any course folder, as they are -- not this process's own
    ``sys.path``, which may start with a folder holding another copy of ``course_lib``."""
    code = "import course_lib, os; print(os.path.dirname(os.path.realpath(course_lib.__file__)))"
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True,
                             text=True, timeout=60, env=grading_env(False))
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.strip().splitlines()
    return Path(lines[-1]) if out.returncode == 0 and lines else None


def readonly_paths() -> list[Path]:
    """Host folders the sandbox sees read-only: system, Python, venv, ``course_lib``."""
    paths = [Path("/usr"), Path("/etc")]
    for prefix in {sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix}:
        paths.append(Path(prefix).resolve())
    lib = _course_lib_dir()
    if lib is not None:
        paths.append(lib)
    keep = []
    for p in sorted(set(paths), key=lambda q: len(q.parts)):
        if p.exists() and not any(p.is_relative_to(k) for k in keep):
            keep.append(p)
    return keep


def _usr_merged(name: str) -> list[str]:
    """``/lib`` etc.: a symlink into ``/usr`` on merged-usr systems, else a read-only bind."""
    path = Path("/") / name
    if path.is_symlink():
        return ["--symlink", os.readlink(path), str(path)]
    if path.exists():
        return ["--ro-bind", str(path), str(path)]
    return []


def bwrap_args(writable: list[Path], cwd: Path | None = None, tmp_mb: int = TMP_MB,
               course_lib: Path | None = None) -> list[str]:
    """The ``bwrap ... --`` prefix of a sandboxed command; ``course_lib``: a folder mounted
    over the real ``course_lib`` (the assignment's withheld names removed)."""
    exe = executable()
    if exe is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    args = [exe, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--size", str(tmp_mb * 1024 * 1024),
            "--tmpfs", "/tmp"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        args += _usr_merged(name)
    for path in readonly_paths():
        args += ["--ro-bind", str(path), str(path)]
    real = _course_lib_dir()
    if course_lib is not None and real is not None:
        args += ["--ro-bind", str(course_lib), str(real)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    for name, value in SANDBOX_HOME.items():
        args += ["--setenv", name, value]
    args += ["--unsetenv", "JUPYTER_RUNTIME_DIR",
             "--unsetenv", "JUPYTER_CONFIG_DIR", "--unsetenv", "JUPYTER_DATA_DIR",
             "--unsetenv", "IPYTHONDIR",
             # the grader's pid means nothing in the PID namespace: the kernel would think
             # its parent died; --die-with-parent and the namespace end it instead
             "--unsetenv", "JPY_PARENT_PID"]
    if cwd is not None:
        args += ["--chdir", str(cwd)]
    return [*args, "--"]


def _hidden_names(home: Path) -> list[str]:
    """Entries of ``home`` that the sandbox must not show (not on a read-only path)."""
    bound = [p for p in readonly_paths() if p.is_relative_to(home)]
    names = []
    with contextlib.suppress(OSError):
        for entry in os.listdir(home):
            if not any((home / entry) == b or b.is_relative_to(home / entry) for b in bound):
                names.append(str(home / entry))
    return names[:50]


@functools.cache
def probe(root: str | None = None) -> dict[str, bool]:
    """What works here: bwrap, its namespaces, and that the sandbox hides what it should.

    ``root`` (default: the current directory) must be invisible inside.
    """
    checks = {"bwrap installed": executable() is not None}
    if not checks["bwrap installed"]:
        return checks
    root = str(Path(root or os.getcwd()).resolve())
    secret = sorted({*_hidden_names(Path(root)), *_hidden_names(Path.home())})
    code = (
        "import os, socket, json\n"
        "r = {'own PID namespace': os.getpid() < 10}\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "    r['no network'] = False\n"
        "except OSError:\n"
        "    r['no network'] = all(n == 'lo' for _, n in socket.if_nameindex())\n"
        f"r['course root and home hidden'] = not any(os.path.exists(p) for p in {secret!r})\n"
        "try:\n"
        "    import course_lib, numpy\n"
        "    r['course_lib and numpy importable'] = True\n"
        "except ImportError:\n"
        "    r['course_lib and numpy importable'] = False\n"
        "print(json.dumps(r))\n"
    )
    try:
        out = subprocess.run([*bwrap_args([]), sys.executable, "-c", code],
                             capture_output=True, text=True, timeout=60, check=True)
        checks["bwrap runs (user, pid, net, mount namespaces)"] = True
        checks.update(json.loads(out.stdout.strip().splitlines()[-1]))
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        checks["bwrap runs (user, pid, net, mount namespaces)"] = False
    checks["pids and memory cgroups"] = cgroups_usable()
    return checks


def available(root: str | None = None) -> bool:
    """Whether submissions of the course at ``root`` can be graded sandboxed here."""
    p = probe(root)
    return all(v for k, v in p.items() if k != "pids and memory cgroups")
