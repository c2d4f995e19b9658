"""Scratch folders: where the kernel and the trusted process each get their own copy of a
submission's data files, and how much a run directory holds."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


def dir_usage(path: Path, max_entries: int = 0) -> tuple[int, int]:
    """(bytes, files and folders) under ``path``; counting stops beyond ``max_entries``."""
    total = entries = 0
    for root, dirs, files in os.walk(path):
        entries += len(dirs) + len(files)
        if max_entries and entries > max_entries:
            break
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total, entries


def copy_inputs(workdir: str | None, scratch: Path) -> None:
    """The submission's data files (not notebooks) into the kernel's scratch folder."""
    if not workdir or not Path(workdir).is_dir():
        return
    for path in Path(workdir).rglob("*"):
        if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
            target = scratch / path.relative_to(workdir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
