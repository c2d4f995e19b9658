"""The warm phase-B process: each check runs in a fresh fork, in its own folder, and a check
that dies, hangs or pollutes its process costs only its own verdict."""

from __future__ import annotations

import pytest

from autograder import sandbox, verify


def run(source: str, timeout: float = 60, sandboxed: bool = False, workdir=None):
    steps = [{"kind": "run", "gid": "t", "cell": 1, "test": True, "source": source}]
    return verify.run_check(steps, [], timeout, sandboxed, names=[], workdir=workdir,
                            preload=["numpy"])


@pytest.fixture(autouse=True)
def fresh_server():
    verify.close_server()
    yield
    verify.close_server()


def passed(check) -> bool:
    return check.get("verdict", {}).get("t", {}).get("passed", False)


def test_the_server_stays_warm_across_checks():
    assert passed(run("assert 1 + 1 == 2"))
    server = verify.check_server(False, 2048, ("numpy",))
    pid = server.proc.pid
    assert passed(run("import numpy as np\nassert np.sum([1, 2]) == 3"))
    assert verify.check_server(False, 2048, ("numpy",)).proc.pid == pid


def test_a_failing_test_is_reported_with_its_error():
    check = run("assert 2 + 2 == 5, 'arithmetic'")
    assert check["verdict"]["t"] == {"passed": False, "error": "AssertionError: arithmetic",
                                     "evidence": ["the test failed here: AssertionError: "
                                                  "arithmetic"]}


def test_each_check_starts_from_a_pristine_process():
    assert passed(run("import numpy\nnumpy.polluted = True\nimport builtins\nbuiltins.len = None"))
    assert passed(run("import numpy, builtins\nassert not hasattr(numpy, 'polluted')\n"
                      "assert builtins.len([1]) == 1"))


def test_each_check_works_in_its_own_folder_with_the_data_files(tmp_path):
    (tmp_path / "data.txt").write_text("42")
    (tmp_path / "notebook.ipynb").write_text("{}")
    assert passed(run("import os\nassert open('data.txt').read() == '42'\n"
                      "assert not os.path.exists('notebook.ipynb')\n"
                      "open('left-behind.txt', 'w').write('x')", workdir=str(tmp_path)))
    assert passed(run("import os\nassert not os.path.exists('left-behind.txt')"))


def test_a_check_that_dies_is_an_error_and_the_next_check_still_runs():
    check = run("import os\nos._exit(3)")
    assert "did not complete (exit code 3)" in check["error"]
    assert passed(run("assert True"))


def test_a_check_that_hangs_times_out_and_the_next_check_gets_a_new_server():
    server = verify.check_server(False, 2048, ("numpy",))
    check = run("import time\ntime.sleep(60)", timeout=1)
    assert "took more than 1 s" in check["error"]
    assert not server.alive()
    assert passed(run("assert True"))


@pytest.mark.skipif(not sandbox.available(), reason="bubblewrap is not usable here")
def test_the_sandboxed_server_has_no_network_and_no_course_files():
    assert passed(run("import socket\n"
                      "s = socket.socket()\n"
                      "try:\n"
                      "    s.connect(('1.1.1.1', 53))\n"
                      "    raise SystemError('connected')\n"
                      "except OSError:\n"
                      "    pass\n"
                      "import os\nassert not os.path.exists(os.path.expanduser('~/.ssh'))",
                      sandboxed=True))


def test_preload_lists_what_instructor_cells_import():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    locked = new_code_cell("import numpy as np\nfrom course_lib import optim, checks\n")
    locked.metadata["nbgrader"] = {"grade_id": "setup", "locked": True, "solution": False,
                                   "grade": False, "schema_version": 3}
    student = new_code_cell("import secret_module\n")
    student.metadata["nbgrader"] = {"grade_id": "answer", "locked": False, "solution": True,
                                    "grade": False, "schema_version": 3}
    nb = new_notebook(cells=[locked, student])
    nbformat.validate(nb)
    assert verify.imported_modules(nb) == ["course_lib", "course_lib.checks",
                                           "course_lib.optim", "numpy"]
