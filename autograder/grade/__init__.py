"""Stage 3, ``submitted/`` to ``autograded/`` and the gradebook.

- :mod:`.coordinator`: ``grade()``: find the submissions, fan them out to workers, and
  record each result (the coordinator is the only process that writes the gradebook);
- :mod:`.steps`: nbgrader's preprocessors in their order, and why in that order;
- :mod:`.submissions`: reading what a student handed in, defensively;
- :mod:`.jobs`: a submitted notebook on its way through the steps, and its result;
- :mod:`.workers`: what a local worker process does with one notebook;
- :mod:`.cluster`: the same on a Dask cluster's workers (``--scheduler``; the only module
  that imports dask, and only then); :mod:`.tasks`: a notebook as a task of plain data and
  what a Dask worker does with it; :mod:`.versions`: what must be equal on every worker;
- :mod:`.database`: the configured gradebook database, checked before any work starts;
- :mod:`.gradebook`, :mod:`.schema`: sharing database engines and notebook validation.
"""
