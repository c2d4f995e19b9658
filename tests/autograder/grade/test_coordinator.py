"""The coordinator saves results while it is still registering submissions: an instructor who
stops a run of a thousand keeps what the workers finished, from the first minute on."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from autograder.grade import coordinator


class InstantRun:
    """A run whose workers finish each job as soon as it is submitted."""

    def __init__(self, events: list):
        self.events, self.back = events, []

    def submit(self, job):
        self.events.append(("submit", job))
        self.back.append(job)

    def finished(self):
        while self.back:
            job = self.back.pop(0)
            yield job, job

    def outcomes(self):
        yield from self.finished()


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
        go_on.set()
        rest = {job.name: back for job, back in run.outcomes()}
    assert rest["slow"] == "graded slow with the restricted course_lib"
    assert isinstance(rest["broken"], MemoryError), "the job's failure, as its outcome"
    assert run.waiting == 0 and list(run.outcomes()) == []
