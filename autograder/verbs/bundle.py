"""``course bundle``: the student distribution, a folder and a zip
(:mod:`autograder.release.bundle`)."""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "the student distribution (folder and zip)"


def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, default=None)


def run(course, args) -> int:
    from autograder.release.bundle import BundleError, bundle

    try:
        out = bundle(course, args.out)
    except BundleError as err:
        print(f"course bundle: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out} and {out}.zip")
    return 0
