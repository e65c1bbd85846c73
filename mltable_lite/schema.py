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
        raise UserErrorException(f"{SCHEMA_ERROR}the MLTable file '{source}' is empty; it needs at least "
                                 "'paths' (and usually 'transformations').")
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
    raise UserErrorException(f"{SCHEMA_ERROR}{error.message} (at '{where}' in {source})")
