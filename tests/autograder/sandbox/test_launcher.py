"""The kernel launcher (``autograder.sandbox.launcher``): the limits are set in the process that
then becomes the kernel, before the exec, and they bind there.

Each check runs in a fresh interpreter: a limit set in the test process would stay for the
rest of the run.
"""

import resource
import subprocess
import sys

MIB = 1024 * 1024
# Prints the address-space limit, then whether an allocation of ``sys.argv[1]`` MiB fails.
PROBE = (
    "import resource, sys\n"
    "print(resource.getrlimit(resource.RLIMIT_AS)[0])\n"
    "try:\n"
    "    _big = bytearray(int(sys.argv[1]) * 1024 * 1024)\n"
    "    print('allocated')\n"
    "except MemoryError:\n"
    "    print('MemoryError')\n"
)


def python(*args: str) -> list[str]:
    """What ``python args`` prints, line by line (it must succeed)."""
    run = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def expected(megabytes: int) -> int:
    """The soft limit asked for, as the kernel sees it (never above the hard limit)."""
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    return megabytes * MIB if hard == resource.RLIM_INFINITY else min(megabytes * MIB, hard)


def test_set_memory_limit_caps_the_address_space_of_the_calling_process():
    code = (
        "import resource, sys\n"
        "from autograder.sandbox.launcher import set_memory_limit\n"
        "before = resource.getrlimit(resource.RLIMIT_AS)\n"
        "set_memory_limit(0)  # 0: no limit, nothing changes\n"
        "assert resource.getrlimit(resource.RLIMIT_AS) == before\n"
        "set_memory_limit(400)\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
        "assert hard == before[1], 'the hard limit is left as it was'\n"
        "sys.argv[1:] = ['600']\n" + PROBE
    )
    limit, allocation = python("-c", code)
    assert int(limit) == expected(400)
    assert allocation == "MemoryError"


def test_kernel_launcher_sets_the_memory_limit_before_exec():
    # the command the launcher execs starts with the limit, and the limit binds there
    limit, allocation = python("-m", "autograder.sandbox.launcher", "--memory-mb", "400", "--",
                               sys.executable, "-c", PROBE, "600")
    assert int(limit) == expected(400)
    assert allocation == "MemoryError"
    # the same allocation under a larger limit succeeds: it is the limit that stopped it
    limit, allocation = python("-m", "autograder.sandbox.launcher", "--memory-mb", "2048", "--",
                               sys.executable, "-c", PROBE, "600")
    assert int(limit) == expected(2048)
    assert allocation == "allocated"
