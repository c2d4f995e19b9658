"""Where student code runs, kept apart from what runs inside it.

- :mod:`.limits`: every resource limit and its default (one place to change them);
- :mod:`.environment`: the environment variables of every grading process;
- :mod:`.bwrap`: the bubblewrap command line, and the probe of what works on this machine;
- :mod:`.cgroups`: rlimits and pids/memory/cpu cgroups of a kernel's process tree;
- :mod:`.launcher`: ``python -m autograder.sandbox.launcher``, the one place a kernel
  process is created;
- :mod:`.withhold`: the copy of ``course_lib`` mounted in the sandbox, without the names an
  assignment withholds.
"""
