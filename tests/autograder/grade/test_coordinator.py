"""The coordinator saves results while it is still registering submissions: an instructor who
stops a run of a thousand keeps what the workers finished, from the first minute on."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from autograder.grade import coordinator


class InstantRun:
    """A run whose workers finish each job as soon as it is submitted."""

    def __init__(self, events: list):
        self.events, self.back = events, []

    def submit(self, job):
        self.events.append(("submit", job))
        self.back.append(job)

    @property
    def waiting(self):
        return len(self.back)

    def finished(self, wait=0):
        while self.back:
            job = self.back.pop(0)
            yield job, job


def test_what_is_finished_is_handed_back_before_the_next_submission_is_registered():
    events = []

    def registered():
        for student in ("a", "b", "c"):
            events.append(("register", student))
            yield student

    for job, _ in coordinator.interleave(InstantRun(events), registered()):
        events.append(("save", job))
    assert events == [(step, s) for s in "abc" for step in ("register", "submit", "save")]


def test_the_local_pool_hands_back_without_waiting_then_waits_for_the_rest(monkeypatch):
    jobs = {name: SimpleNamespace(name=name) for name in ("fast", "slow", "broken")}
    go_on = threading.Event()

    def execute_job(job, limits):
        if job.name != "fast":
            go_on.wait(10)
        if job.name == "broken":
            raise MemoryError("the worker ran out of memory")
        return f"graded {job.name} with {job.course_lib}"

    monkeypatch.setattr(coordinator, "execute_job", execute_job)
    with ThreadPoolExecutor(3) as pool:
        run = coordinator.LocalRun(pool, lib="the restricted course_lib", limits=None)
        for job in jobs.values():
            run.submit(job)
        first = []
        for _ in range(200):  # until "fast" is done (a few ms)
            first += [(job.name, back) for job, back in run.finished()]
            if first:
                break
            time.sleep(0.05)
        assert first == [("fast", "graded fast with the restricted course_lib")], \
            "only what is done, and without waiting"
        assert list(run.finished()) == []
        start = time.monotonic()
        assert list(run.finished(wait=0.3)) == []
        assert time.monotonic() - start >= 0.25, "waited for one before giving up"
        go_on.set()
        rest = {}
        while run.waiting:
            rest.update((job.name, back) for job, back in run.finished(wait=5))
    assert rest["slow"] == "graded slow with the restricted course_lib"
    assert isinstance(rest["broken"], MemoryError), "the job's failure, as its outcome"
    assert list(run.finished(wait=5)) == []


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler while the test runs (whatever the test runner set)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_is_raised_where_the_run_checks_and_a_second_at_once(python_sigint):
    with coordinator.Interrupted() as stop:
        stop.check()
        os.kill(os.getpid(), signal.SIGINT)  # handled before the next line runs
        assert stop.flag, "noted, not raised here"
        with pytest.raises(KeyboardInterrupt):
            stop.check()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "put back"


def test_an_interrupted_run_stops_before_it_submits_more(python_sigint):
    events = []

    def registered():
        for student in ("a", "b", "c"):
            events.append(("register", student))
            yield student

    with coordinator.Interrupted() as stop, pytest.raises(KeyboardInterrupt):
        for job, _ in coordinator.interleave(InstantRun(events), registered(), stop):
            events.append(("save", job))
            os.kill(os.getpid(), signal.SIGINT)  # while the first result is saved
    assert events == [("register", "a"), ("submit", "a"), ("save", "a")]


def busy_then_free(monkeypatch, failures: list[Exception]):
    """coordinator.save raising ``failures`` in turn, then saving; (calls, pauses, zeroed)."""
    calls, pauses, zeroed = [], [], []

    def save(course, job, config):
        calls.append(job)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]

    monkeypatch.setattr(coordinator, "save", save)
    monkeypatch.setattr(coordinator.time, "sleep", pauses.append)
    monkeypatch.setattr(coordinator, "zero", lambda course, result: zeroed.append(result))
    return calls, pauses, zeroed


def locked():
    from sqlalchemy.exc import OperationalError

    return OperationalError("INSERT ...", {}, Exception("database is locked"))


def test_a_busy_database_is_waited_for_and_the_grades_saved(monkeypatch):
    calls, pauses, zeroed = busy_then_free(monkeypatch, [locked(), locked()])
    job = SimpleNamespace(result=SimpleNamespace(reasons=[]))
    coordinator.save_or_zero(None, job, None)
    assert len(calls) == 3 and pauses == [0.5, 1] and zeroed == []
    assert job.result.reasons == []


def test_a_database_that_stays_busy_or_another_error_zeroes_with_the_reason(monkeypatch):
    calls, pauses, zeroed = busy_then_free(monkeypatch, [locked()] * 10)
    job = SimpleNamespace(result=SimpleNamespace(reasons=[]))
    coordinator.save_or_zero(None, job, None)
    assert len(calls) == 6 and pauses == list(coordinator.SAVE_PAUSES)
    assert zeroed == [job.result]
    assert job.result.reasons == ["could not save grades: OperationalError: "
                                  "(builtins.Exception) database is locked"]

    calls, pauses, zeroed = busy_then_free(monkeypatch, [ValueError("cell ids differ")])
    job = SimpleNamespace(result=SimpleNamespace(reasons=[]))
    coordinator.save_or_zero(None, job, None)
    assert len(calls) == 1 and pauses == [] and zeroed == [job.result]
    assert job.result.reasons == ["could not save grades: ValueError: cell ids differ"]


def ended(pid: int) -> bool:
    """The process is gone (or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_worker_ends_when_its_coordinator_is_killed():
    """A pool's workers outlived a coordinator killed with SIGKILL, and went on using the
    machine's cores; a worker now ends within its watch interval."""
    import subprocess
    import sys

    worker = ("import sys, time\nfrom autograder.grade.workers import end_with_coordinator\n"
              "end_with_coordinator(int(sys.argv[1]), 0.1)\ntime.sleep(60)\n")
    coordinator_code = (
        "import os, subprocess, sys, time\n"
        f"w = subprocess.Popen([sys.executable, '-c', {worker!r}, str(os.getpid())])\n"
        "print(w.pid, flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", coordinator_code], stdout=subprocess.PIPE,
                              text=True)
    pid = int(parent.stdout.readline())
    time.sleep(1)
    assert not ended(pid), "the worker ended while its coordinator was alive"
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while not ended(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ended(pid), "the worker outlived its coordinator"
