"""Column types users name: ``DataType`` and the string aliases of the reference.

A ``DataType`` is an immutable description of a conversion (``DataType.to_int()``); the code that
applies it to Arrow data lives in :mod:`mltable_lite.conversions`.

Example:
    >>> from mltable_lite import DataType
    >>> DataType.to_bool(true_values=["y"], false_values=["n"], mismatch_as="false")
    DataType.to_bool(true_values=['y'], false_values=['n'], mismatch_as='false')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import UserErrorException

ALIASES = ("string", "int", "float", "boolean", "stream_info")


@dataclass(frozen=True)
class DataType:
    """A target column type for ``convert_column_types`` and ``column_type_overrides``.

    Build one with the ``to_*`` constructors, never directly.
    """

    kind: str
    true_values: tuple | None = None
    false_values: tuple | None = None
    mismatch_as: str | None = None
    formats: tuple | None = None
    date_constant: str | None = None

    @staticmethod
    def to_string() -> "DataType":
        """Convert to text. Example: ``tbl.convert_column_types({"id": DataType.to_string()})``"""
        return DataType("string")

    @staticmethod
    def to_int() -> "DataType":
        """Convert to 64-bit integers (decimals truncate toward zero; junk becomes null)."""
        return DataType("int")

    @staticmethod
    def to_float() -> "DataType":
        """Convert to 64-bit floats (junk becomes null)."""
        return DataType("float")

    @staticmethod
    def to_bool(true_values: list[str] | None = None, false_values: list[str] | None = None,
                mismatch_as: str | None = None) -> "DataType":
        """Convert to booleans.

        Without value lists, ``true``/``false`` (any case) and ``1``/``0`` are recognised. With
        lists (both required, no value in both), exact matches count; ``mismatch_as`` ('true',
        'false' or 'error') decides the rest, where 'error' yields null as in the reference.

        Example: ``DataType.to_bool(true_values=["yes"], false_values=["no"], mismatch_as="false")``
        """
        both = "`true_values` and `false_values` must both be None or non-empty list of strings"
        if (true_values is None) != (false_values is None):
            raise UserErrorException(both)
        if mismatch_as is not None and mismatch_as not in ("error", "true", "false"):
            raise UserErrorException("`mismatch_as` can only be ('error', 'true', 'false')")
        if true_values is not None:
            true_values = _string_list(true_values, "true_values")
            false_values = _string_list(false_values, "false_values")
            if not true_values or not false_values:
                raise UserErrorException(both)
            if set(true_values) & set(false_values):
                raise UserErrorException("`true_values` and `false_values` can not have overlapping values")
            return DataType("bool", tuple(true_values), tuple(false_values), mismatch_as or "error")
        if mismatch_as is not None:
            return DataType("bool", mismatch_as=mismatch_as)
        return DataType("bool")

    @staticmethod
    def to_datetime(formats: str | list[str], date_constant: str | None = None) -> "DataType":
        """Parse text with strftime-style ``formats`` (one string or a list tried in order).

        ``date_constant`` ('YYYY-MM-DD') supplies the date for time-only formats.

        Example: ``DataType.to_datetime(["%Y-%m-%d", "%d/%m/%Y"])``
        """
        if isinstance(formats, str):
            formats = [formats]
        if not isinstance(formats, (list, tuple)) or not all(isinstance(item, str) for item in formats):
            raise UserErrorException("Expect `formats` to be a single string, a list of strings, or a tuple of strings")
        if not formats:
            raise UserErrorException("`formats` needs at least one datetime format, such as '%Y-%m-%d'")
        return DataType("datetime", formats=tuple(formats), date_constant=date_constant)

    @staticmethod
    def to_stream() -> "DataType":
        """Convert a column of paths/URIs to stream references (plain strings become null)."""
        return DataType("stream")

    def __repr__(self) -> str:
        if self.kind == "bool" and self.true_values is not None:
            return (f"DataType.to_bool(true_values={list(self.true_values)!r}, "
                    f"false_values={list(self.false_values)!r}, mismatch_as={self.mismatch_as!r})")
        if self.kind == "datetime":
            extra = f", date_constant={self.date_constant!r}" if self.date_constant else ""
            return f"DataType.to_datetime({list(self.formats)!r}{extra})"
        return f"DataType.to_{self.kind}()"


_ALIAS_TYPES = {"string": "string", "int": "int", "float": "float", "boolean": "bool", "stream_info": "stream"}


def data_type_of(value) -> DataType:
    """A ``DataType`` from a ``DataType`` or one of the string aliases."""
    if isinstance(value, DataType):
        return value
    if isinstance(value, str) and value in _ALIAS_TYPES:
        return DataType(_ALIAS_TYPES[value])
    raise UserErrorException(
        f"'{value}' is not a supported string conversion for `mltable.DataType`, "
        "supported types are 'string', 'int', 'float', 'boolean', & 'stream_info'")


def _string_list(values, name: str) -> list:
    if isinstance(values, str):
        return [values]
    values = list(values)
    if not all(isinstance(item, str) for item in values):
        raise UserErrorException(f"`{name}` must only consists of strings")
    return values


class ColumnList(tuple):
    """Column names given as a list or tuple: written back as a YAML list even when there is one
    (``columns: [val]`` stays a list), where a name given as a string is written as a string.

    Equal to the plain tuple of the same names: the form changes no result.

    Example:
        >>> ColumnList(["val"]) == ("val",)
        True
    """

    __slots__ = ()


def column_type_pairs(column_types: Any) -> tuple:
    """``{name or (names...): DataType or alias}`` → ((names tuple, DataType), ...), checked as the reference.

    Example:
        >>> column_type_pairs({"a": "int", ("b", "c"): DataType.to_float()})[0]
        (('a',), DataType.to_int())
    """
    if not isinstance(column_types, dict) or not column_types:
        raise UserErrorException("Expected a non-empty dict[Union[str, tuple[str]], Union[str, mltable.DataType]]")
    pairs, seen = [], set()
    for columns, dtype in column_types.items():
        if isinstance(columns, str):
            names = (columns,)
        elif isinstance(columns, tuple) and all(isinstance(name, str) for name in columns):
            names = ColumnList(columns)
        else:
            raise UserErrorException(f"Column names must be a string or a tuple of strings, not {columns!r}")
        for name in set(names):
            if name in seen:
                raise UserErrorException(
                    f"Found duplicate column. Cannot convert column '{name}' to multiple `mltable.DataType`s.")
            seen.add(name)
        pairs.append((names, data_type_of(dtype)))
    return tuple(pairs)
