"""A throw-away Dask cluster of real processes on loopback: for the cluster tests, the
throughput benchmark and ``make soak``.

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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 90  # seconds for the scheduler and the workers to come up


def dask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


class LocalCluster:
    """A scheduler and its workers in ``folder`` (their logs: ``<name>.log``)."""

    def __init__(self, folder: Path, scheduler_config: dict | None = None):
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.scheduler_config = scheduler_config or {}  # DASK_... variables of the scheduler
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.dead: list[subprocess.Popen] = []  # workers killed on purpose
        self.address, self.client = "", None

    def start(self, n_workers: int) -> LocalCluster:
        from distributed import Client

        file = self.folder / "scheduler.json"
        self._start(dask_command("scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", str(file)),
                    "scheduler", {**self.env, **self.scheduler_config})
        self._wait_for(file.exists, "scheduler file")
        self.address = json.loads(file.read_text())["address"]
        self.client = Client(self.address, timeout=30, set_as_default=False)
        for _ in range(n_workers):
            self.add_worker()
        return self

    @property
    def scheduler(self) -> subprocess.Popen:
        return self.procs[0]

    def add_worker(self) -> None:
        """Start one more worker and wait until the scheduler has it."""
        i = len(self.workers)
        self.workers.append(self._start(
            dask_command("worker", self.address, "--nworkers", "1", "--nthreads", "1",
                         "--host", "127.0.0.1", "--no-dashboard", "--local-directory",
                         str(self.folder / f"w{i}")), f"worker-{i}", self.env))
        alive = len(self.workers) - len(self.dead)
        self._wait_for(lambda: len(self.client.scheduler_info(n_workers=-1)["workers"])
                       >= alive, f"{alive} workers")

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker ``i``'s whole process group (nanny, worker, its kernels): a
        machine lost."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait()
        self.dead.append(self.workers[i])

    def kill_busy_worker(self) -> list[str]:
        """SIGKILL a worker that is grading now; the grading tasks it held ([] if none)."""
        pids = self.client.run(os.getpid)
        for address, keys in sorted(self.client.processing().items()):
            held = [str(k) for k in keys if str(k).startswith("grade-")]
            if not held or address not in pids:
                continue
            stat = Path(f"/proc/{pids[address]}/stat").read_text()
            nanny = int(stat.rsplit(")", 1)[1].split()[1])  # the worker's parent
            for i, proc in enumerate(self.workers):
                if proc.pid == nanny and proc.poll() is None:
                    self.kill_worker(i)
                    return held
        return []

    def stop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.wait(timeout=30)

    def _start(self, cmd: list[str], name: str, env: dict) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(cmd, cwd=self.folder, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def _wait_for(self, predicate, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not predicate():
            if any(p.poll() is not None for p in self.procs if p not in self.dead) \
                    or time.monotonic() > deadline:
                logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                                 for p in sorted(self.folder.glob("*.log")))
                raise RuntimeError(f"the local cluster did not start ({what}):\n{logs}")
            time.sleep(0.2)


@contextlib.contextmanager
def running(n_workers: int = 2, scheduler_config: dict | None = None):
    """A started :class:`LocalCluster`; ``scheduler_config``: dask settings of the scheduler
    as ``DASK_...`` environment variables (e.g. its allowed-failures)."""
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="dask-local-")), scheduler_config)
    try:
        yield cluster.start(n_workers)
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)
