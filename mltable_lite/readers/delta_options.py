"""Build-time checks of ``from_delta_lake``'s time-travel arguments (the reference's messages).

Example:
    >>> validate_delta_options("2024-01-05T10:00:00Z", None)
    ('2024-01-05T10:00:00Z', None)
"""

from __future__ import annotations

import re

from ..errors import UserErrorException

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def validate_delta_options(timestamp_as_of, version_as_of):
    if timestamp_as_of is not None and version_as_of is not None:
        raise UserErrorException("Both timestamp_as_of and version_as_of parameters were provided, but only one of "
                                 "version_as_of or timestamp_as_of can be specified.")
    if timestamp_as_of is not None:
        if not isinstance(timestamp_as_of, str) or not _RFC3339.match(timestamp_as_of):
            raise UserErrorException(
                f"Provided timestamp_as_of: {timestamp_as_of} is not in RFC-3339/ISO-8601 format. Please make sure "
                "that it adheres to RFC-3339/ISO-8601 format. For example: \"2022-10-01T00:00:00Z\", "
                "\"2022-10-01T22:10:57+02:00\", \"2022-10-01T16:32:11.8+00:00\" are correctly formatted.")
    if version_as_of is not None and (isinstance(version_as_of, bool) or not isinstance(version_as_of, int)
                                      or version_as_of < 0):
        raise UserErrorException("version_as_of must be a non-negative integer")
    return timestamp_as_of, version_as_of
