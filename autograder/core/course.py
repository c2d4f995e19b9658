"""The course directory: paths, the nbgrader configuration and the gradebook URL.

The repository root (or any copy of it, e.g. ``out/demo``) is an nbgrader course directory
with ``nbgrader_config.py`` at its root; every verb takes that root with ``--root``.

The gradebook is the database ``c.CourseDirectory.db_url`` in ``nbgrader_config.py`` names
(e.g. ``postgresql://grader:secret@db.example.org/optdl``, with the ``postgres`` extra
installed), or when that is unset or empty the embedded default, SQLite at
``<root>/gradebook.db``. Every process reads the URL from the same file, so the coordinator,
its workers and nbgrader's own tools (the formgrader) use one gradebook. A copy of a course
made to work on the side (the release gate's scratch course, the demo) gets its
configuration through :func:`copy_config`, which gives the copy a SQLite gradebook of its
own: a copy never writes the gradebook of the course it was copied from.
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


CONFIG_FILE = "nbgrader_config.py"
SQLITE_FILE = "gradebook.db"  # the embedded default gradebook, at the course root


def sqlite_url(root: str | os.PathLike) -> str:
    return f"sqlite:///{Path(root) / SQLITE_FILE}"


def gradebook_url(config: Config, root: Path) -> str:
    """``CourseDirectory.db_url`` of ``config`` when set and not empty, else SQLite at
    ``<root>/gradebook.db``. A relative SQLite path is taken from the course root (nbgrader
    takes it from the current directory, which is the root when nbgrader runs there)."""
    url = str(config.CourseDirectory.get("db_url", "") or "").strip()
    if not url:
        return sqlite_url(root)
    prefix, sep, path = url.partition(":///")
    if sep and prefix.split("+")[0] == "sqlite" and path and not path.startswith(("/", ":")):
        return f"{prefix}:///{root / path}"
    return url


# Appended to the configuration of a copy: whatever the original configured, the copy's
# gradebook is SQLite in the copy's own directory (wherever the copy is moved to later).
OWN_GRADEBOOK = """

# --- a copy of a course keeps its own gradebook (autograder.core.course.copy_config) ---
import os as _os
get_config().CourseDirectory.db_url = "sqlite:///" + _os.path.join(
    _os.path.dirname(_os.path.abspath(__file__)), "gradebook.db")
"""


def copy_config(src_root: str | os.PathLike, dest_root: str | os.PathLike) -> Path:
    """Copy ``nbgrader_config.py`` from the course at ``src_root`` to ``dest_root``, with the
    copy's gradebook set to SQLite at ``dest_root/gradebook.db``: a copy never reads or
    writes the original's gradebook, whatever database that is. The copied file's path."""
    src = Path(src_root) / CONFIG_FILE
    text = src.read_text() if src.is_file() else "c = get_config()  # noqa: F821\n"
    dest = Path(dest_root) / CONFIG_FILE
    dest.write_text(text.rstrip("\n") + "\n" + OWN_GRADEBOOK)
    return dest


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
        """The gradebook's database URL: the configured ``CourseDirectory.db_url`` or SQLite
        at ``<root>/gradebook.db`` (:func:`gradebook_url`)."""
        return gradebook_url(self.file_config(), self.root)

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

    def file_config(self) -> Config:
        """``nbgrader_config.py`` as written (empty without one)."""
        config = Config()
        path = self.root / CONFIG_FILE
        if path.is_file():
            config.merge(PyFileConfigLoader(path.name, path=str(self.root)).load_config())
        return config

    def config(self) -> Config:
        """The nbgrader configuration: ``nbgrader_config.py`` plus root and database URL."""
        config = self.file_config()
        db_url = gradebook_url(config, self.root)
        config.CourseDirectory.root = str(self.root)
        exchange = Path(config.Exchange.get("root", "out/exchange"))
        config.Exchange.root = str(exchange if exchange.is_absolute() else self.root / exchange)
        config.CourseDirectory.db_url = db_url
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
