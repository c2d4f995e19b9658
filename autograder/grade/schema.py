"""Faster nbgrader metadata checks: each distinct cell metadata is validated once.

nbgrader checks every cell's ``nbgrader`` metadata with ``jsonschema.validate(meta,
schema)``, twice per submission; each call checks the schema against its meta-schema and
resolves its references again: about a tenth of a second of CPU per submission, for
metadata that is the same in every submission. Inside :func:`cached_schema_validation`
the validator is built (and the schema checked) once per schema, and metadata already found
valid is not checked again. Invalid metadata is always checked in full, so errors are the
same (``best_match`` of the same errors).
"""

from __future__ import annotations

import contextlib
import json
import types

import jsonschema
from jsonschema.exceptions import best_match
from nbgrader.nbgraderformat import common


def validator(schema: dict, _cache: dict = {}):  # noqa: B006  (the cache, on purpose)
    """The validator of ``schema`` (checked once), as ``jsonschema.validate`` builds it."""
    key = id(schema)
    if key not in _cache or _cache[key][0] is not schema:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _cache[key] = (schema, cls(schema))
    return _cache[key][1]


_VALID: set = set()  # (id of schema, metadata as JSON) found valid
MAX_VALID = 100_000


def validate(instance, schema) -> None:
    """``jsonschema.validate(instance, schema)``, with the validator from :func:`validator`
    and remembering what was valid."""
    check = validator(schema)
    try:
        key = (id(schema), json.dumps(instance, sort_keys=True))
    except (TypeError, ValueError):  # not JSON: always validate in full
        key = None
    if key is not None and key in _VALID:
        return
    error = best_match(check.iter_errors(instance))
    if error is not None:
        raise error
    if key is not None:
        if len(_VALID) >= MAX_VALID:
            _VALID.clear()
        _VALID.add(key)


@contextlib.contextmanager
def cached_schema_validation():
    """Within the block, nbgrader's metadata checks use :func:`validate`."""
    original = common.jsonschema
    common.jsonschema = types.SimpleNamespace(validate=validate)
    try:
        yield
    finally:
        common.jsonschema = original
