"""Running one notebook: the student's cells in a sandboxed kernel, every test cell in a
trusted process that calls the student's functions over plain data.

Read in this order:

- :mod:`.plan`: which cells of the source notebook run in the trusted process;
- :mod:`.kernels`: fresh sandboxed kernels, one booting ahead of need;
- :mod:`.execute`: ``execute_submission``, nbgrader's ``Execute`` on such a kernel, with
  the tests in the trusted process and the limits enforced;
- :mod:`.trusted`: the warm trusted server and its per-submission child;
- :mod:`.rpc`: the channel between kernel and trusted process (plain data and handles);
- :mod:`.preprocessors`: what is done to an executed notebook before it is scored.

Both ``course release`` (the source must pass its own tests) and ``course grade`` use it.
"""
