"""Reading and writing MLTable YAML text: safe parsing only, the reference's output style.

Example:
    >>> print(dump_yaml({"type": "mltable", "paths": [{"file": "a.csv"}]}), end="")
    paths:
    - file: a.csv
    type: mltable
"""

from __future__ import annotations

from typing import Any

from .errors import UserErrorException


def dump_yaml(document: dict) -> str:
    """Block style, keys sorted, as PyYAML's ``safe_dump`` (what the reference writes)."""
    import yaml

    return yaml.safe_dump(document, default_flow_style=False, sort_keys=True, allow_unicode=True)


def parse_yaml(text: str, source: str) -> Any:
    """Parse untrusted YAML text safely; errors name ``source`` and the line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        detail = str(error).replace('"<unicode string>"', f'"{source}"')
        raise UserErrorException(f"MLTable yaml is invalid: {detail}") from None
