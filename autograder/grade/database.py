"""The gradebook's database, checked before any work starts.

The gradebook is SQLite at ``<root>/gradebook.db`` unless ``nbgrader_config.py`` names
another database (:attr:`autograder.core.course.Course.db_url`), e.g. PostgreSQL::

    c.CourseDirectory.db_url = "postgresql://grader:secret@db.example.org:5432/optdl"

(psycopg 3, the driver SQLAlchemy uses for ``postgresql://``: ``pip install '.[postgres]'``;
nbgrader creates its tables in an empty database on first use). ``course grade``, ``course
release`` and ``course doctor`` call :func:`check` first, so a server that is down, a wrong
password or a missing driver is one clear sentence, not a traceback from the middle of the
work. Passwords are never printed (:func:`shown`).
"""

from __future__ import annotations

import re
from pathlib import Path

CONNECT_TIMEOUT = 5  # seconds to wait for a database server before giving up
INSTALL_DRIVER = "pip install -c constraints.txt -e '.[postgres]'"


class GradebookUnavailable(ValueError):
    """The configured gradebook database cannot be used; the message says why."""


def shown(url: str) -> str:
    """``url`` with its password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


def reason(err: BaseException) -> str:
    """The driver's message on one line (psycopg's spans several)."""
    text = str(getattr(err, "orig", None) or err)
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or \
        type(err).__name__


def check_sqlite(path: str | None) -> str:
    if not path or path == ":memory:":
        return "SQLite in memory"
    file = Path(path)
    if not file.parent.is_dir():
        raise GradebookUnavailable(f"the folder of the SQLite gradebook {file} does not exist")
    return f"SQLite {file}" + ("" if file.exists() else " (created on first use)")


def check(url: str, timeout: float = CONNECT_TIMEOUT) -> str:
    """Connect to the gradebook at ``url`` once; what it is (e.g. ``PostgreSQL 15.18 at
    postgresql://grader:***@host:5432/optdl``). Raises :class:`GradebookUnavailable`."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    where = f"{shown(url)} (CourseDirectory.db_url in nbgrader_config.py)"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as err:
        raise GradebookUnavailable(f"the gradebook {where} is not a database URL "
                                   "(e.g. postgresql://user:password@host:5432/name)") from err
    if parsed.get_backend_name() == "sqlite":
        return check_sqlite(parsed.database)
    args = {"connect_timeout": max(1, round(timeout))} \
        if parsed.get_backend_name() == "postgresql" else {}
    try:
        engine = create_engine(parsed, connect_args=args)
    except (ImportError, NoSuchModuleError) as err:
        raise GradebookUnavailable(f"no database driver for the gradebook {where}: "
                                   f"{reason(err)} (PostgreSQL: {INSTALL_DRIVER})") from err
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            version = ".".join(str(v) for v in conn.dialect.server_version_info or ())
    except SQLAlchemyError as err:
        raise GradebookUnavailable(f"the gradebook database {where} cannot be reached: "
                                   f"{reason(err)}") from err
    finally:
        engine.dispose()
    name = {"postgresql": "PostgreSQL"}.get(parsed.get_backend_name(), parsed.get_backend_name())
    return f"{name} {version} at {shown(url)}".replace("  ", " ")
