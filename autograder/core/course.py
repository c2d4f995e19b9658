"""The course directory: paths, the nbgrader configuration and the gradebook URL.

The repository root (or any copy of it, e.g. ``out/demo``) is an nbgrader course directory
with ``nbgrader_config.py`` at its root; every verb takes that root with ``--root``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def ensure_tools_on_path() -> None:
    """Put this interpreter's ``bin/`` on PATH: nbgrader runs ``alembic`` from there."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


@dataclass(frozen=True)
class Course:
    """One nbgrader course directory rooted at ``root``."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike | None = None) -> Course:
        ensure_tools_on_path()
        path = Path(root if root is not None else os.getcwd()).resolve()
        if not path.is_dir():
            raise ValueError(f"Invalid course root: {path} is not a directory")
        return cls(path)

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def assignments(self) -> list[str]:
        """Assignments in ``source/``: folders holding a notebook of the same name."""
        if not self.source.is_dir():
            return []
        return sorted(
            p.name for p in self.source.iterdir() if (p / f"{p.name}.ipynb").is_file()
        )

    def source_notebook(self, assignment: str) -> Path:
        return self.source / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.release / assignment / f"{assignment}.ipynb"

    def config(self) -> Config:
        """The nbgrader configuration: ``nbgrader_config.py`` plus root and database URL."""
        config = Config()
        path = self.root / "nbgrader_config.py"
        if path.is_file():
            config.merge(PyFileConfigLoader(path.name, path=str(self.root)).load_config())
        config.CourseDirectory.root = str(self.root)
        exchange = Path(config.Exchange.get("root", "out/exchange"))
        config.Exchange.root = str(exchange if exchange.is_absolute() else self.root / exchange)
        config.CourseDirectory.db_url = self.db_url
        return config

    def course_id(self) -> str:
        return str(self.config().CourseDirectory.get("course_id", "course"))

    def cell_timeout(self) -> int:
        """Per-cell timeout (seconds) from ``Execute.timeout`` (nbgrader's default 30)."""
        return int(self.config().Execute.get("timeout", 30))

    def coursedir(self):
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config())

    def api(self):
        """nbgrader's own high-level API on this course."""
        from nbgrader.apps.api import NbGraderAPI

        config = self.config()
        Path(config.Exchange.root).mkdir(parents=True, exist_ok=True)
        return NbGraderAPI(self.coursedir(), config=config)
