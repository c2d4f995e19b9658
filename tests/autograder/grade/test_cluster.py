"""Grading on a Dask cluster (``course grade --scheduler``): a notebook as a task of plain
data, the check of every worker, and, marked slow, a real cluster of separate processes on
loopback that grades a class exactly as the local pool does, and loses nothing when a
worker is killed."""

from __future__ import annotations

import collections
import os
import pickle
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from fixture_course import ASSIGNMENT, FIXTURES, TEST_LIMITS, copy_fixture
from nbgrader.api import Gradebook

from autograder.demo import local_cluster
from autograder.grade import cluster, coordinator, tasks
from autograder.grade.jobs import Job, NotebookResult, resources_for
from autograder.grade.versions import differences, fingerprint
from autograder.run import plan as run_plan
from autograder.sandbox.limits import Limits

SOURCE = FIXTURES / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


# ------------------------------------------------------------------ a task is plain data


def test_plan_from_text_is_the_plan_of_the_file():
    from_file = run_plan.test_plan(str(SOURCE))
    assert run_plan.plan_from_text(SOURCE.read_text(), from_file.preload) == from_file


def with_data_files(course):
    data = course.source / ASSIGNMENT / "data"
    data.mkdir()
    (data / "points.csv").write_bytes(b"x,y\n1,2\n")
    (course.source / ASSIGNMENT / "cache.pyc").write_bytes(b"ignored")  # CourseDirectory.ignore
    return course


def test_a_bundle_carries_the_assignment_as_data_and_no_path_or_gradebook(course):
    with_data_files(course)
    bundle = tasks.pack_bundle(course, ASSIGNMENT, course.config(), TEST_LIMITS)
    assert set(bundle.sources) == {ASSIGNMENT}
    assert bundle.sources[ASSIGNMENT] == SOURCE.read_text()
    assert bundle.files == {"data/points.csv": b"x,y\n1,2\n"}
    assert bundle.withheld == ("optim.ema", "optim.gd", "optim.scale_by_learning_rate",
                               "optim.sgd", "optim.trace")
    assert bundle.config["Execute"]["timeout"] == 8  # the course's nbgrader_config.py
    assert "CourseDirectory" not in bundle.config and "Exchange" not in bundle.config
    assert bundle.limits == TEST_LIMITS and bundle.coordinator == fingerprint()
    data = pickle.dumps(bundle)
    assert str(course.root).encode() not in data and b"sqlite" not in data
    assert pickle.loads(data) == bundle


def test_a_withheld_name_course_lib_lacks_stops_the_run_before_anything_is_sent(course):
    nb = nbformat.read(str(course.source_notebook(ASSIGNMENT)), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = 'from course_lib import exercise\nexercise.withhold("optim.no_such_thing")'
    nbformat.write(nb, str(course.source_notebook(ASSIGNMENT)))
    with pytest.raises(ValueError, match="no_such_thing"):
        tasks.pack_bundle(course, ASSIGNMENT, course.config(), TEST_LIMITS)


def a_job(course, folder: Path) -> Job:
    resources = resources_for(course, ASSIGNMENT, "s001", ASSIGNMENT)
    resources["metadata"]["path"] = str(folder)
    return Job(NotebookResult("s001", ASSIGNMENT, ASSIGNMENT, reasons=["a note"]),
               str(folder / f"{ASSIGNMENT}.ipynb"), resources,
               source=str(course.source_notebook(ASSIGNMENT)), course_lib="/some/copy")


def test_a_task_carries_the_sanitized_notebook_and_the_folder_s_own_files(course, tmp_path):
    with_data_files(course)
    bundle = tasks.pack_bundle(course, ASSIGNMENT, course.config(), TEST_LIMITS)
    folder = tmp_path / "autograded" / "s001" / ASSIGNMENT
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "points.csv").write_bytes(b"x,y\n1,2\n")  # the assignment's: not sent
    (folder / "timestamp.txt").write_text("2024-01-01 10:00:00 UTC")
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")  # a notebook: never a data file
    job = a_job(course, folder)
    nb = nbformat.read(str(SOURCE), as_version=4)
    task = tasks.pack_task(job, nb, bundle)
    assert task.files == {"timestamp.txt": b"2024-01-01 10:00:00 UTC"}
    assert nbformat.reads(task.notebook, as_version=4) == nb
    sent = task.job
    assert sent.path == sent.source == sent.course_lib == ""
    assert sent.resources["metadata"]["path"] == ""
    assert "db_url" not in sent.resources["nbgrader"]
    assert sent.result == job.result and sent.result is not job.result
    data = pickle.dumps(task)
    assert str(course.root).encode() not in data and str(tmp_path).encode() not in data
    # the coordinator's own job is untouched, and takes what the worker found
    assert job.resources["nbgrader"]["db_url"] == course.db_url
    back = pickle.loads(data).job
    back.result.reasons.append("graded")
    back.nb_json, back.usable = "{executed}", True
    merged = tasks.merge(job, back)
    assert merged is job and job.nb_json == "{executed}"
    assert job.result.reasons == ["a note", "graded"]
    assert job.resources["metadata"]["path"] == str(folder)


@pytest.mark.parametrize("rel", ["../escape.txt", "/etc/passwd", "a/../../b", ""])
def test_a_worker_writes_files_only_inside_the_task_s_folder(tmp_path, rel):
    with pytest.raises(ValueError, match="not a relative path"):
        tasks.write_files({rel: b"x"}, tmp_path / "task")


def test_a_worker_writes_the_files_of_the_bundle_and_the_task(tmp_path):
    tasks.write_files({"data/points.csv": b"1", "timestamp.txt": b"2"}, tmp_path)
    assert (tmp_path / "data" / "points.csv").read_bytes() == b"1"
    assert (tmp_path / "timestamp.txt").read_bytes() == b"2"


def bare_bundle(**changes) -> tasks.Bundle:
    fields = dict(assignment=ASSIGNMENT, sources={}, files={}, withheld=(), config={},
                  limits=Limits(), coordinator=fingerprint())
    return tasks.Bundle(**{**fields, **changes})


def test_a_task_whose_source_notebook_is_missing_fails_that_notebook_only(course, tmp_path):
    job = tasks.travel_copy(a_job(course, tmp_path))
    back = tasks.run_task(bare_bundle(), tasks.Task(job, nbformat.writes(
        nbformat.read(str(SOURCE), as_version=4))))
    assert not back.usable
    assert back.result.reasons[-1] == \
        f"grading failed: ValueError: no source notebook {ASSIGNMENT}.ipynb: its tests " \
        "cannot run"
    assert back.resources["metadata"]["path"] == "" and back.course_lib == ""


def test_a_worker_unlike_the_coordinator_refuses_the_task(course, tmp_path):
    other = {**fingerprint(), "numpy": "1.0.0"}
    job = tasks.travel_copy(a_job(course, tmp_path))
    with pytest.raises(tasks.WorkerMismatch, match="numpy 1.0.0 here, .* there"):
        tasks.run_task(bare_bundle(coordinator=other), tasks.Task(job, "{}"))


# ------------------------------------------------------------------ checking the workers


def test_differences_name_what_differs():
    assert differences({"a": "1", "b": "2"}, {"a": "1", "b": "2"}) == []
    assert differences({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == \
        ["b 2 here, 3 there", "c missing here, 4 there"]


def test_the_fingerprint_covers_python_packages_and_both_code_bases():
    fp = fingerprint()
    for key in ("python", "numpy", "nbgrader", "distributed", "autograder", "course_lib",
                "autograder source", "course_lib source"):
        assert fp[key] and fp[key] != "not installed", key


class FakeClient:
    """What survey() asks of a distributed.Client."""

    def __init__(self, workers: dict, reports: dict):
        self.workers, self.reports = workers, reports
        self.scheduler = SimpleNamespace(address="tcp://127.0.0.1:8786")

    def scheduler_info(self, n_workers=-1):
        return {"workers": self.workers}

    def run(self, function, *args, on_error="raise"):
        assert function is cluster.worker_report and on_error == "return"
        return self.reports

    scheduler_report = None  # the scheduler's fingerprint (None: this machine's)

    def run_on_scheduler(self, function):
        assert function is fingerprint
        if isinstance(self.scheduler_report, BaseException):
            raise self.scheduler_report
        return self.scheduler_report or function()


def good_report() -> dict:
    return {"fingerprint": fingerprint(), "sandbox": True, "failing": []}


def test_a_matching_cluster_passes():
    client = FakeClient({"tcp://a:1": {"nthreads": 1}, "tcp://b:2": {"nthreads": 1}},
                        {"tcp://a:1": good_report(), "tcp://b:2": good_report()})
    ok, lines = cluster.survey(client)
    assert ok, lines
    assert lines[0] == "cluster: tcp://127.0.0.1:8786, 2 worker(s)"
    assert lines[1] == "  [ok] scheduler: same versions and code"
    assert lines[2] == "  [ok] tcp://a:1: one thread, sandbox usable, same versions and code"
    cluster.check(client)  # does not raise


def test_a_cluster_that_does_not_match_is_refused_and_says_why():
    edited = {**fingerprint(), "autograder source": "0123456789abcdef"}
    client = FakeClient(
        {"tcp://a:1": {"nthreads": 1}, "tcp://b:2": {"nthreads": 4},
         "tcp://c:3": {"nthreads": 1}, "tcp://d:4": {"nthreads": 1}},
        {"tcp://a:1": good_report(), "tcp://b:2": good_report(),
         "tcp://c:3": {"fingerprint": edited, "sandbox": False,
                       "failing": ["bwrap installed"]},
         "tcp://d:4": OSError("connection reset")})
    ok, lines = cluster.survey(client)
    assert not ok
    assert lines[2].startswith("  [ok] tcp://a:1")
    assert "[FAIL] tcp://b:2: 4 threads (start workers with --nthreads 1" in lines[3]
    assert "[FAIL] tcp://c:3: autograder source " in lines[4]
    assert "0123456789abcdef there" in lines[4]
    assert "the sandbox is not usable (bwrap installed)" in lines[4]
    assert "[FAIL] tcp://d:4: did not answer the check: OSError: connection reset" in lines[5]
    with pytest.raises(cluster.ClusterUnavailable, match="does not match this machine"):
        cluster.check(client)
    # without the sandbox (--no-sandbox), a worker without bubblewrap is no problem
    assert cluster.worker_problems({"nthreads": 1}, {"fingerprint": fingerprint(),
                                                     "sandbox": False}, fingerprint(),
                                   sandboxed=False) == []


def test_course_grade_refuses_a_cluster_that_does_not_match_before_sending_anything(
        course, monkeypatch):
    fake = FakeClient({"tcp://a:1": {"nthreads": 2}}, {"tcp://a:1": good_report()})
    fake.closed, fake.submit = False, None  # nothing may be submitted
    fake.close = lambda: setattr(fake, "closed", True)
    monkeypatch.setattr(cluster, "connect", lambda address: fake)
    with pytest.raises(cluster.ClusterUnavailable, match="2 threads"):
        cluster.ClusterRun("tcp://127.0.0.1:8786", course, ASSIGNMENT, TEST_LIMITS,
                           course.config())
    assert fake.closed


def test_course_doctor_with_an_unreachable_scheduler_fails(course, monkeypatch, capsys):
    from autograder.verbs import doctor

    monkeypatch.setattr(doctor, "doctor", lambda course: (True, ["(this machine: ok)"]))
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    args = SimpleNamespace(scheduler=f"tcp://127.0.0.1:{free_port()}")
    assert doctor.run(course, args) == 1
    out = capsys.readouterr().out
    assert f"cluster: [FAIL] the Dask scheduler at {args.scheduler} cannot be reached" in out
    assert "the cluster does NOT match this machine" in out


def test_a_cluster_without_workers_is_refused():
    ok, lines = cluster.survey(FakeClient({}, {}))
    assert not ok and "no workers" in lines[-1] and "--nthreads 1" in lines[-1]


def free_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_clear_error():
    with pytest.raises(cluster.ClusterUnavailable, match="cannot be reached"):
        cluster.connect(f"tcp://127.0.0.1:{free_port()}", timeout=1)


# ------------------------------------------------------------------ outcomes and settings


def test_killed_worker_is_the_notebook_s_failure_and_a_lost_scheduler_stops_the_run():
    from distributed import KilledWorker

    done = SimpleNamespace(status="finished")
    assert cluster.outcome(done, "the job") == "the job"
    killed = KilledWorker("grade-s001", SimpleNamespace(address="tcp://127.0.0.1:1"), 1)
    err = cluster.outcome(SimpleNamespace(status="error"), (KilledWorker, killed, None))
    assert isinstance(err, cluster.WorkersDied)
    assert str(err) == ("the Dask workers grading it died 2 times (killed, out of memory or "
                        "lost; last tcp://127.0.0.1:1): not retried again")
    boom = ZeroDivisionError("x")
    assert cluster.outcome(SimpleNamespace(status="error"), (ZeroDivisionError, boom, None)) \
        is boom
    with pytest.raises(cluster.ClusterUnavailable, match="scheduler was lost"):
        cluster.outcome(SimpleNamespace(status="cancelled"), None)
    # gathered, then its worker died (the grader's cluster test killed it): the result holds
    job = Job(result=None, path="ps1.ipynb", resources={})
    assert cluster.outcome(SimpleNamespace(status="lost"), job) is job
    with pytest.raises(cluster.ClusterUnavailable, match="scheduler was lost"):
        cluster.outcome(SimpleNamespace(status="lost"), None)
    # the cluster's fault, not the notebook's: the run stops, nothing is zeroed
    for err in (tasks.WorkerMismatch("numpy 2.4 here, 2.3 there"),
                RuntimeError("Error during deserialization of the task graph. This ...")):
        with pytest.raises(cluster.ClusterUnavailable, match="a worker could not grade"):
            cluster.outcome(SimpleNamespace(status="error"), (type(err), err, None))


def test_a_scheduler_without_the_course_s_code_or_with_other_code_is_refused():
    workers = {"tcp://a:1": {"nthreads": 1}}
    client = FakeClient(workers, {"tcp://a:1": good_report()})
    client.scheduler_report = ModuleNotFoundError("No module named 'autograder'")
    ok, lines = cluster.survey(client)
    assert not ok and lines[1].startswith("  [FAIL] scheduler: cannot run the course's code")
    client.scheduler_report = {**fingerprint(), "numpy": "1.0.0"}
    ok, lines = cluster.survey(client)
    assert not ok and "[FAIL] scheduler: numpy " in lines[1] and "1.0.0 there" in lines[1]


def test_the_scheduler_is_the_flag_else_the_setting_else_this_machine(course):
    assert cluster.scheduler_address(course) is None
    assert cluster.scheduler_address(course, "tcp://127.0.0.1:1") == "tcp://127.0.0.1:1"
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.CourseGrade.scheduler = "tcp://127.0.0.1:2"\n')
    assert cluster.scheduler_address(course) == "tcp://127.0.0.1:2"
    assert cluster.scheduler_address(course, "tcp://127.0.0.1:1") == "tcp://127.0.0.1:1"
    assert cluster.scheduler_address(course, "local") is None
    assert cluster.scheduler_address(course, " ") is None


def test_jobs_and_a_scheduler_do_not_go_together(course):
    with pytest.raises(ValueError, match="--jobs sizes the local process pool"):
        coordinator.grade(course, ASSIGNMENT, jobs=2, scheduler="tcp://127.0.0.1:1")


def test_without_a_scheduler_nothing_imports_dask():
    code = ("import sys\n"
            "import autograder.grade.coordinator, autograder.grade.cluster\n"
            "import autograder.verbs.grade, autograder.verbs.doctor\n"
            "from autograder.cli import parser\n"
            "args = parser().parse_args(['grade', 'ps1', '--scheduler', 'tcp://127.0.0.1:1'])\n"
            "assert args.scheduler == 'tcp://127.0.0.1:1'\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', "
            "'distributed'))\n"
            "assert not loaded, loaded\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------------ a real cluster (slow)

CLASS_SIZE = 40


def scores(course, students) -> dict:
    """student -> grade cell -> score, from the gradebook."""
    found = {}
    with Gradebook(course.db_url, course.course_id()) as gb:
        for student in students:
            sub = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            found[student] = {g.name: g.score for g in sub.grades}
    return found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, bank):
    """The fixture course, released, with a simulated class of 40 graded on the local pool:
    (course, students, scores, reasons)."""
    from autograder.demo.simulate import simulate
    from autograder.release.steps import release

    course = copy_fixture(tmp_path_factory.mktemp("cluster") / "course")
    release(course, ASSIGNMENT)
    # seed 0: no simulated student combines two mistakes that edit the same line
    students = [s.student for s in simulate(course, ASSIGNMENT, n=CLASS_SIZE, seed=0,
                                            bank=bank)]
    results = coordinator.grade(course, ASSIGNMENT, jobs=2, limits=TEST_LIMITS,
                                progress=False)
    reasons = {r.student: r.reasons for r in results}
    return course, students, scores(course, students), reasons


def count_saves(monkeypatch, after=None) -> collections.Counter:
    """Count the coordinator's saves per notebook; ``after(count)`` runs after each."""
    saved: collections.Counter = collections.Counter()
    real = coordinator.save_or_zero

    def save_or_zero(course, job, config):
        real(course, job, config)
        saved[(job.result.student, job.result.notebook)] += 1
        if after is not None:
            after(sum(saved.values()))

    monkeypatch.setattr(coordinator, "save_or_zero", save_or_zero)
    return saved


def progress_count(err: str) -> tuple[int, int]:
    """The last ``n/total`` the progress bar printed."""
    found = re.findall(r"grade ps1: .*?(\d+)/(\d+)", err)
    assert found, err[-500:]
    return int(found[-1][0]), int(found[-1][1])


@pytest.mark.slow
def test_a_cluster_grades_a_class_exactly_as_the_local_pool(graded_class, monkeypatch,
                                                            capfd):
    from autograder.verbs.doctor import cluster_check

    course, students, expected, reasons = graded_class
    assert len({str(v) for v in expected.values()}) > 3, "the class has varied scores"
    with local_cluster.running(2) as local:
        ok, lines = cluster_check(local.address)  # what `course doctor --scheduler` says
        assert ok, lines
        assert sum("[ok]" in line for line in lines) == 5  # scheduler, 2 workers, 2 kernels
        assert "[ok] scheduler: same versions and code" in lines[1]
        saved = count_saves(monkeypatch)
        capfd.readouterr()
        results = coordinator.grade(course, ASSIGNMENT, limits=TEST_LIMITS,
                                    scheduler=local.address, force=True)  # graded before
        _, err = capfd.readouterr()
    assert scores(course, students) == expected
    assert {r.student: r.reasons for r in results} == reasons
    assert saved == {(s, ASSIGNMENT): 1 for s in students}
    assert progress_count(err) == (CLASS_SIZE, CLASS_SIZE)
    for r in results:  # the autograded notebook and grading.json are written here
        assert (course.autograded / r.student / ASSIGNMENT / "grading.json").is_file()


# The scheduler of the kill test: a notebook is refused after its second dead worker (the
# default, 3, would cost two more worker restarts), and a worker holds only the task it
# runs, so a worker that dies takes no queued bystander with it.
KILL_SCHEDULER = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
                  "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
KILL_CLASS = 8


def poisoned(real, student: str):
    """run_task, except that ``student``'s notebook kills the worker process running it
    (each time: its nanny starts a new one), as a submission that exhausts a machine would.
    Defined here, sent by value."""
    def run(bundle, task):
        if task.job.result.student == student:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(bundle, task)
    return run


def busy_worker(local, client, poison: str) -> tuple[int, list[str]]:
    """A worker process group grading another notebook than ``poison``'s now: (its index,
    the students whose notebooks it holds)."""
    pids = client.run(os.getpid)
    for address, keys in sorted(client.processing().items()):
        held = [str(k).split("-")[1] for k in keys if str(k).startswith("grade-")]
        if not held or poison in held or address not in pids:
            continue
        stat = Path(f"/proc/{pids[address]}/stat").read_text()
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the nanny: the `dask worker` process
        for i, proc in enumerate(local.workers):
            if proc.pid == parent and proc.poll() is None:
                return i, held
    return 1, []


@pytest.mark.slow
def test_a_killed_worker_costs_a_retry_and_a_killing_submission_a_recorded_zero(
        graded_class, monkeypatch, capfd):
    from distributed import Client

    course, students, expected, _ = graded_class
    group = students[:KILL_CLASS]
    poison = next(s for s in reversed(group) if sum(expected[s].values()) > 0)
    monkeypatch.setattr(cluster, "run_task", poisoned(tasks.run_task, poison))
    with local_cluster.running(2, KILL_SCHEDULER) as local, \
            Client(local.address, set_as_default=False) as watcher:
        killed = []

        def kill_after_three(count):
            if count >= 3 and not killed:  # the first save after which a worker is busy
                i, held = busy_worker(local, watcher, poison)
                if held:
                    local.kill_worker(i)
                    killed.extend(held)

        saved = count_saves(monkeypatch, after=kill_after_three)
        capfd.readouterr()
        results = {r.student: r for r in coordinator.grade(
            course, ASSIGNMENT, students=group, limits=TEST_LIMITS, scheduler=local.address,
            force=True)}
        _, err = capfd.readouterr()
    assert killed, "a worker was killed while it graded a notebook"
    assert saved == {(s, ASSIGNMENT): 1 for s in group}, "each notebook saved once"
    assert progress_count(err) == (KILL_CLASS, KILL_CLASS)
    got = scores(course, group)
    assert {s: got[s] for s in group if s != poison} == \
        {s: expected[s] for s in group if s != poison}
    assert all(got[s] == expected[s] for s in killed), "retried elsewhere, graded the same"
    assert set(got[poison].values()) == {0}
    assert results[poison].reasons[-1].startswith(
        "grading failed: WorkersDied: the Dask workers grading it died 2 times")
