"""What must be the same on the coordinator and on every Dask worker, so that a cluster
grades exactly as this machine would: Python, the packages that run and score a notebook,
and the code of ``autograder`` and ``course_lib`` (their versions and a hash of their source
files, so an edited checkout with an unchanged version number still differs).

:func:`fingerprint` is computed once per process (what it has imported is what it runs);
:func:`differences` says what differs, one line per item. Nothing here imports dask.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import platform
from pathlib import Path

# Distributions whose versions must match (they execute, post-process or score notebooks,
# or carry the tasks).
PACKAGES = ("numpy", "nbgrader", "nbformat", "nbconvert", "nbclient", "ipykernel",
            "jupyter_client", "dask", "distributed")


def source_hash(folder: Path) -> str:
    """A short hash of the ``.py`` files below ``folder`` (their relative paths and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if "__pycache__" in rel.parts:
            continue
        digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def installed(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def fingerprint() -> dict[str, str]:
    """This process's Python, package versions, and autograder and course_lib (version
    and source hash)."""
    import autograder
    import course_lib

    found = {"python": platform.python_version(), "machine": platform.machine()}
    found.update({name: installed(name) for name in PACKAGES})
    for module in (autograder, course_lib):
        name = module.__name__
        found[name] = str(getattr(module, "__version__", "unknown"))
        found[f"{name} source"] = source_hash(Path(module.__file__).resolve().parent)
    return found


def differences(here: dict[str, str], there: dict[str, str]) -> list[str]:
    """What differs between two fingerprints, e.g. ``numpy 2.4.6 here, 2.3.1 there``."""
    return [f"{key} {here.get(key, 'missing')} here, {there.get(key, 'missing')} there"
            for key in sorted(set(here) | set(there)) if here.get(key) != there.get(key)]
