"""The grading environment (``autograder.sandbox.environment``): what every grading process
is started with, whatever the grader's own environment holds. (That the kernel and the
trusted process really run with it, side by side: ``run/test_grading_environment.py``.)"""

from __future__ import annotations

import pytest

from autograder.run import execute, trusted
from autograder.sandbox import bwrap, environment
from autograder.sandbox.environment import grading_env

# A grader whose environment says a lot: BLAS and OpenMP settings (numerical: passed to
# every grading process alike, thread counts forced to one) and things course code must not
# see.
NOISY_PARENT = {
    "OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3",
    "OMP_PROC_BIND": "false", "NPY_PROMOTION_STATE": "weak", "PYTHONPATH": "/nowhere",
    "PYTHONWARNINGS": "error", "JUPYTER_RUNTIME_DIR": "/nowhere", "HTTPS_PROXY": "x:1",
    "IPYTHONDIR": "/nowhere", "MPLBACKEND": "TkAgg", "HOME": "/root",
}


def test_numerical_variables_pass_to_every_grading_process_alike_with_one_thread():
    parent = {**NOISY_PARENT, "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512000"}
    for sandboxed in (True, False):
        env = grading_env(sandboxed, parent)
        assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["OPENBLAS_L2_SIZE"] == "512000"
        assert env["OMP_PROC_BIND"] == "false" and env["NPY_PROMOTION_STATE"] == "weak"
        for name in environment.THREADS:
            assert env[name] == "1", name
        for name in ("PYTHONPATH", "PYTHONWARNINGS", "JUPYTER_RUNTIME_DIR", "HTTPS_PROXY",
                     "IPYTHONDIR"):
            assert name not in env, name
        assert env["MPLBACKEND"] == "Agg" and env["PYTHONHASHSEED"] == "0"
    assert grading_env(True, parent)["HOME"] == "/tmp"
    assert grading_env(False, parent)["HOME"] == "/root"
    assert environment.leaked(grading_env(True, parent), parent) == {}
    assert environment.leaked({**grading_env(True, parent), "OMP_NUM_THREADS": "3"},
                              parent) == {"OMP_NUM_THREADS": "3"}
    # the kernel and the trusted process both take it from here (no second definition)
    assert not hasattr(execute, "KERNEL_ENV") and not hasattr(trusted, "ENV")


def test_the_sandbox_sets_home_as_the_environment_says(tmp_path):
    if bwrap.executable() is None:
        pytest.skip("bubblewrap is not installed")
    args = bwrap.bwrap_args([tmp_path])
    set_by_bwrap = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "--setenv"}
    assert set_by_bwrap == environment.SANDBOX_HOME
