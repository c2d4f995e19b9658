"""A throw-away Dask cluster of real processes on loopback, for the cluster grading tests.

``dask scheduler`` and N ``dask worker --nworkers 1 --nthreads 1`` processes, each started
as a subprocess in a session of its own (a worker's nanny, its worker process and the
kernels it started are one process group), on 127.0.0.1 with ports the operating system
chooses (the scheduler writes its address to a scheduler file). :func:`running` kills every
process group and removes the files when the block ends, also when it failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 90  # seconds for the scheduler and the workers to come up


@dataclass
class LocalCluster:
    address: str
    folder: Path
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker ``i``'s whole process group (nanny, worker, its kernels): a
        machine lost."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait()


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


def _start(cmd: list[str], folder: Path, name: str, env: dict) -> subprocess.Popen:
    log = open(folder / f"{name}.log", "wb")  # noqa: SIM115  (kept open by the process)
    try:
        return subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()


def _wait_for(predicate, what: str, procs, folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not predicate():
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                             for p in sorted(folder.glob("*.log")))
            raise RuntimeError(f"the test cluster did not start ({what}):\n{logs}")
        time.sleep(0.2)


def _stop(procs) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.wait(timeout=30)


@contextlib.contextmanager
def running(n_workers: int = 2, scheduler_config: dict | None = None):
    """A scheduler and ``n_workers`` workers; ``scheduler_config``: dask settings of the
    scheduler as ``DASK_...`` environment variables (e.g. its allowed-failures)."""
    from distributed import Client

    folder = Path(tempfile.mkdtemp(prefix="dask-test-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    file = folder / "scheduler.json"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_start(_dask("scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(file)),
                            folder, "scheduler", {**env, **(scheduler_config or {})}))
        _wait_for(file.exists, "scheduler file", procs, folder)
        address = json.loads(file.read_text())["address"]
        for i in range(n_workers):
            procs.append(_start(_dask("worker", address, "--nworkers", "1", "--nthreads", "1",
                                      "--host", "127.0.0.1", "--no-dashboard",
                                      "--local-directory", str(folder / f"w{i}")),
                                folder, f"worker-{i}", env))
        with Client(address, timeout=30, set_as_default=False) as client:
            _wait_for(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) >= n_workers,
                      f"{n_workers} workers", procs, folder)
        yield LocalCluster(address, folder, procs[0], procs[1:])
    finally:
        _stop(procs)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
