"""The exceptions users catch.

The class names match Microsoft's ``mltable`` (``UserErrorException``, ``ExecutionError``) so that
``except`` clauses written for it keep working. Unlike the reference, ``str(error)`` is the clean
message alone: it names the path, the step and the fix where known, and nothing is printed.

Example:
    >>> import mltable_lite as mltable
    >>> try:
    ...     mltable.from_delimited_files([{"file": "missing.csv"}]).to_pandas_dataframe()
    ... except mltable.UserErrorException as error:
    ...     print(error.error_code)
    ScriptExecution.StreamAccess.NotFound
"""

from __future__ import annotations


class MLTableError(Exception):
    """Base of every error mltable_lite raises on purpose.

    ``message`` is the human text, ``error_code`` a stable machine-readable code in the
    reference's vocabulary (``UserError`` for argument checks done at build time).
    """

    default_code = "UserError"

    def __init__(self, message: str, error_code: str | None = None):
        # Messages quote paths and library errors, which can carry a SAS token or an account
        # key: every message is scrubbed here, once, whoever raised it.
        from .storage.secrets import redact

        message = redact(message)
        super().__init__(message)
        self.message = message
        self.error_code = error_code or self.default_code

    def __str__(self) -> str:
        return self.message


class UserErrorException(MLTableError):
    """The input is wrong (argument, path, YAML, data) and the user can fix it."""


class ExecutionError(MLTableError):
    """Reading failed in a way the reference reports as an engine error (wrong file kind,
    corrupt parquet, unsupported pattern)."""

    default_code = "ExecutionError"


class ValidationError(UserErrorException, RuntimeError):
    """``MLTable.validate()`` failed; also a ``RuntimeError``, which the reference raises there."""


NOT_FOUND_MESSAGE = "The requested stream was not found. Please make sure the request uri is correct."
NOT_FOUND_CODE = "ScriptExecution.StreamAccess.NotFound"
