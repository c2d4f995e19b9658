"""A throw-away PostgreSQL server for the tests that use a PostgreSQL gradebook.

Debian's ``postgresql`` package (``make test`` installs it when missing and run as root): a
new cluster on a temporary directory, owned by an unprivileged user (``initdb`` refuses to
run as root; as root the cluster belongs to the ``postgres`` user the package creates),
listening on a free loopback port and a private socket directory, with password
authentication. :func:`running` stops the server and removes every file when the block ends,
also when it failed. Nothing of the machine's own clusters is read or changed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SKIP = "COURSE_SKIP_POSTGRES"
MISSING = ("PostgreSQL's server programs (initdb, pg_ctl) are not installed (Debian: "
           "`apt-get install postgresql`; `make test` installs it when run as root)")
SUPERUSER = "grader"
# Speed over durability: the cluster lives for one test session.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: Debian's newest
    ``/usr/lib/postgresql/<version>/bin``, else wherever PATH has them; None if missing."""
    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.split("/")[-3]))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found and Path(found[-1]).with_name("pg_ctl").exists():
        return Path(found[-1]).parent
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    return None


def unprivileged_user() -> str | None:
    """Who runs the server: None (this user) unless we are root, then ``postgres``
    (created by Debian's package) or ``nobody``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and there is no unprivileged user (postgres, nobody) "
                       "to run PostgreSQL as")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running throw-away server; :meth:`database` creates a database on it."""

    port: int
    password: str
    directory: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def database(self, name: str, template: str | None = None) -> str:
        """Create the database ``name``, empty or a copy of ``template`` (which nobody may
        be connected to); its URL."""
        import psycopg

        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def tables(self, database: str) -> list[str]:
        """The tables in ``database`` (every schema but the system ones)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            rows = conn.execute("SELECT table_schema || '.' || table_name FROM "
                                "information_schema.tables WHERE table_schema NOT IN "
                                "('pg_catalog', 'information_schema')").fetchall()
        return sorted(r[0] for r in rows)


def run_as(user: str | None, cmd: list[str], cwd: Path, timeout: float = 120):
    prefix = ["runuser", "-u", user, "--"] if user else []
    done = subprocess.run(prefix + cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed ({done.returncode}): "
                           f"{(done.stdout + done.stderr)[-2000:]}")
    return done


def start(bin_dir: Path, user: str | None, top: Path, attempts: int = 3) -> Server:
    """initdb on ``top/data``, then pg_ctl start on a free port (again on another port if
    that one was taken meanwhile)."""
    data, sockets, pwfile = top / "data", top / "sockets", top / "password"
    sockets.mkdir()
    password = secrets.token_hex(12)
    pwfile.write_text(password + "\n")
    if user:
        for path in (top, sockets, pwfile):
            shutil.chown(path, user=user)
    run_as(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A",
                  "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C",
                  "--no-sync"], cwd=top)
    for attempt in range(attempts):
        port = free_port()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 {SERVER_OPTIONS}"
        try:
            run_as(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(top / "log"),
                          "-w", "-t", "60", "-o", options, "start"], cwd=top)
            return Server(port, password, top)
        except RuntimeError:
            if attempt == attempts - 1:
                log = top / "log"
                raise RuntimeError("PostgreSQL did not start: " +
                                   (log.read_text()[-2000:] if log.exists() else "")) from None
    raise AssertionError("unreachable")


def stop(bin_dir: Path, user: str | None, top: Path) -> None:
    """pg_ctl stop (immediate); the postmaster is killed if that did not work."""
    data = top / "data"
    pidfile = data / "postmaster.pid"
    if not pidfile.exists():
        return
    with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
        run_as(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                      "-t", "30", "stop"], cwd=top, timeout=60)
    if pidfile.exists():
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
            time.sleep(0.5)


@contextlib.contextmanager
def running(bin_dir: Path):
    """A fresh server for the block; stopped and removed afterwards, whatever happened."""
    user = unprivileged_user()
    top = Path(tempfile.mkdtemp(prefix="course-postgres-"))
    try:
        yield start(bin_dir, user, top)
    finally:
        stop(bin_dir, user, top)
        shutil.rmtree(top, ignore_errors=True)
