"""Validation of loaded MLTable documents against our JSON Schema (``specs/mltable.schema.json``).

The schema file ships inside the package (``mltable_lite/specs``) so installed copies validate
too. ``jsonschema`` is imported only when a file is loaded.

Example:
    >>> validate_document({"paths": [{"file": "a.csv", "folder": "b"}]}, "MLTable")  # doctest: +SKIP
    UserErrorException: Given MLTable does not adhere to the AzureML MLTable schema: ...
"""

from __future__ import annotations

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
    from jsonschema.exceptions import best_match

    errors = list(_validator().iter_errors(document))
    if not errors:
        return
    # The outermost error reads like the reference's message; the best match says what to fix.
    error = min(errors, key=lambda e: len(e.absolute_path))
    closest = best_match(errors)
    where = "/".join(str(part) for part in closest.absolute_path) or "(top level)"
    detail = "" if closest is error else f"; closest problem: {closest.message}"
    raise UserErrorException(f"{SCHEMA_ERROR}{error.message} (at '{where}' in {source}{detail})")


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
