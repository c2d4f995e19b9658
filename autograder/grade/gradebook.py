"""Faster gradebook access for one process: share one SQLAlchemy engine per database URL.

nbgrader's ``Gradebook(db_url)`` creates a new engine each time it is opened, and each of
its preprocessors opens one, so every query is compiled again (most of nbgrader's own
per-submission cost). Inside :func:`shared_engines` the engines are shared, which keeps
SQLAlchemy's compiled-statement cache warm; nbgrader's code is otherwise unchanged.
"""

from __future__ import annotations

import contextlib

import nbgrader.api


@contextlib.contextmanager
def shared_engines():
    """Within the block, ``nbgrader.api.Gradebook`` reuses one engine per URL."""
    original = nbgrader.api.create_engine
    engines = {}

    def create_engine(url, **kwargs):
        key = (str(url), tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = original(url, **kwargs)
        return engines[key]

    nbgrader.api.create_engine = create_engine
    try:
        yield
    finally:
        nbgrader.api.create_engine = original
        for engine in engines.values():
            engine.dispose()
