"""Validation of loaded MLTable documents against our JSON Schema (``specs/mltable.schema.json``).

The schema file ships inside the package (``mltable_lite/specs``) so installed copies validate
too. ``jsonschema`` is imported only when a file is loaded.

Example:
    >>> validate_document({"paths": [{"file": "a.csv", "folder": "b"}]}, "MLTable")  # doctest: +SKIP
    UserErrorException: Given MLTable does not adhere to the AzureML MLTable schema: ...
"""

from __future__ import annotations

import heapq
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import UserErrorException
from .plan_yaml import SCHEMA_ERROR


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    text = resources.files("mltable_lite").joinpath("specs/mltable.schema.json").read_text("utf-8")
    schema = json.loads(text)
    return jsonschema.Draft202012Validator(schema)


def validate_document(document: Any, source: str) -> None:
    """Raise ``UserErrorException`` naming the offending key when ``document`` breaks the schema."""
    if document is None:
        raise UserErrorException(f"{SCHEMA_ERROR}None is not of type 'object' (the MLTable file '{source}' is "
                                 "empty; it needs at least 'paths', and usually 'transformations').")
    errors = list(_validator().iter_errors(document))
    if not errors:
        return
    message, path = _reported(errors, document)
    where = "/".join(str(part) for part in path) or "(top level)"
    raise UserErrorException(f"{SCHEMA_ERROR}{message} (at '{where}' in {source})")


def _reported(errors: list, document: Any) -> tuple[str, tuple]:
    """The violation the reference reports when a file breaks several rules, as ``(message, path)``.

    Observed: the reference reports jsonschema's ``best_match`` against its own schema, which
    checks each transformation against a ``oneOf`` of all step schemas. So the shallowest problem
    wins (the later one in the file on a tie), but every problem inside one step counts as a
    problem of that step, and within it the deepest one wins (the earlier key on a tie): a bad
    ``header`` is reported before a bad path entry, a bad ``encoding`` before a bad ``header``.
    """
    from jsonschema.exceptions import best_match, relevance

    def anchor(error) -> tuple:
        path = tuple(error.absolute_path)
        return path[:2] if len(path) > 2 and path[0] == "transformations" else path

    top = max({anchor(error) for error in errors}, key=lambda path: (-len(path), path))
    group = [error for error in errors if anchor(error) == top]
    if len(top) == 2 and top[0] == "transformations" and any(len(error.absolute_path) > 2 for error in group):
        deepest = heapq.nsmallest(2, group, key=relevance)
        if len(deepest) == 2 and relevance(deepest[0]) == relevance(deepest[1]):
            step = document["transformations"][top[1]]
            return f"{step!r} is not valid under any of the given schemas", top
        group = deepest[:1]
    # A document without 'paths' breaks the reference's two-way top-level oneOf ('paths' or
    # 'query_source'), whose message it reports as is.
    chosen = max(group, key=relevance) if not top else best_match(group)
    return chosen.message, tuple(chosen.absolute_path)


def normalise_loaded(document: Any) -> Any:
    """Undo YAML's implicit typing where the format wants text.

    ``date_constant: 2020-01-01`` (how the reference writes it) parses as a date; it is a string.
    """
    import datetime

    if isinstance(document, dict):
        return {key: (value.isoformat() if key == "date_constant" and isinstance(value, datetime.date)
                      else normalise_loaded(value)) for key, value in document.items()}
    if isinstance(document, list):
        return [normalise_loaded(item) for item in document]
    return document
