"""Apply a :class:`~mltable_lite.types.DataType` to an Arrow column (COMPATIBILITY.md §12).

Used by ``column_type_overrides`` in the delimited reader and by ``convert_column_types``.
Conversion failures never raise: the value becomes null, as in the reference.

Example:
    >>> import pyarrow as pa
    >>> from mltable_lite.types import DataType
    >>> convert_array(pa.array(["1.5", "007", "x"]), DataType.to_int()).to_pylist()
    [1, 7, None]
"""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from .errors import UserErrorException
from .inference import FLOAT_PATTERN, INT_PATTERN
from .types import DataType

_DATE_DIRECTIVES = re.compile(r"%[YymdbBjUWaAcxDFGgVuw]")
_NULL_STRING = pa.scalar(None, pa.string())


def validate_data_type(dtype: DataType) -> None:
    """Raise :class:`UserErrorException` for a DataType that cannot work (checked at build, P18).

    Example:
        >>> validate_data_type(DataType.to_datetime("%H:%M"))
        Traceback (most recent call last):
        ...
        mltable_lite.errors.UserErrorException: DataType.to_datetime format '%H:%M' has no date part ...
    """
    if dtype.kind != "datetime":
        return
    if dtype.date_constant is not None:
        try:
            datetime.strptime(dtype.date_constant, "%Y-%m-%d")
        except (TypeError, ValueError):
            raise UserErrorException(
                f"`date_constant` must be a date written 'YYYY-MM-DD', not {dtype.date_constant!r}") from None
        return
    for fmt in dtype.formats:
        if not _DATE_DIRECTIVES.search(fmt):
            raise UserErrorException(
                f"DataType.to_datetime format '{fmt}' has no date part (%Y, %m, %d, ...); pass "
                "`date_constant='YYYY-MM-DD'` to give time-only values a date, or add the date to the format.")


def convert_array(array, dtype: DataType) -> pa.Array:
    """``array`` converted to ``dtype``; values that do not convert become null.

    Example:
        >>> convert_array(pa.array(["true", "0", "yes"]), DataType.to_bool()).to_pylist()
        [True, False, None]
        >>> convert_array(pa.array(["05/01/2024"]), DataType.to_datetime("%d/%m/%Y")).to_pylist()
        [Timestamp('2024-01-05 00:00:00')]
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    converter = _CONVERTERS[dtype.kind]
    return converter(array, dtype)


def _is_text(array: pa.Array) -> bool:
    return pa.types.is_string(array.type) or pa.types.is_null(array.type)


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _all_null_as_null_type(result: pa.Array) -> pa.Array:
    # The reference returns an object column of None when every value failed.
    if len(result) and result.null_count == len(result):
        return pa.nulls(len(result), pa.null())
    return result


def _to_string(array: pa.Array, dtype: DataType) -> pa.Array:
    kind = array.type
    if pa.types.is_string(kind):
        return array
    if pa.types.is_null(kind):
        return array.cast(pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "True", "False")
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            array = array.cast(pa.timestamp(kind.unit))
        seconds = array.cast(pa.timestamp("s"), safe=False)
        # Arrow prints fractions with %S for sub-second units: only keep them when present.
        whole = pc.all(pc.equal(seconds.cast(kind if kind.tz is None else pa.timestamp(kind.unit)), array)).as_py()
        text = pc.strftime(seconds if whole is not False else array, format="%Y-%m-%dT%H:%M:%S")
        return pc.binary_join_element_wise(text, "+00:00", "")
    return array.cast(pa.string())


def _to_int(array: pa.Array, dtype: DataType) -> pa.Array:
    # From bools (never convertible) or junk, every value is null: an object column of None.
    return _all_null_as_null_type(_int_values(array))


def _int_values(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_integer(kind):
        return array.cast(pa.int64())
    if pa.types.is_floating(kind):
        return _truncate(array.cast(pa.float64()))
    if not _is_text(array):
        # The reference gives null for bools and dates converted to int.
        return pa.nulls(len(array), pa.int64())
    values = pc.utf8_trim_whitespace(array.cast(pa.string()))
    is_int = pc.match_substring_regex(values, INT_PATTERN)
    if _has_long(values, is_int):
        # Beyond 18 digits int64 may overflow: those (rare) values are checked in Python.
        ints = pa.array([_python_int(value) if flag else None
                         for value, flag in zip(values.to_pylist(), is_int.to_pylist())], pa.int64())
    else:
        ints = pc.cast(pc.if_else(is_int, pc.replace_substring_regex(values, r"^\+", ""), _NULL_STRING), pa.int64())
    is_float = pc.and_not(pc.match_substring_regex(values, FLOAT_PATTERN), is_int)
    # Decimals truncate toward zero, as the reference does ('1.5' → 1).
    floats = _truncate(pc.cast(pc.if_else(is_float, values, _NULL_STRING), pa.float64()))
    return pc.if_else(is_int, ints, floats)


def _python_int(text: str):
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 19:  # beyond int64 whatever follows (and int() refuses more than 4300 digits)
        return None
    number = int(digits or "0") * (-1 if text.startswith("-") else 1)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def _has_long(values: pa.Array, is_int: pa.Array) -> bool:
    return bool(pc.any(pc.and_(is_int, pc.greater(pc.utf8_length(values), 18))).as_py())


def _truncate(floats: pa.Array) -> pa.Array:
    finite = pc.and_(pc.is_finite(floats), pc.less(pc.abs(floats), 9.2e18))
    kept = pc.if_else(finite, pc.trunc(floats), pa.scalar(None, pa.float64()))
    return kept.cast(pa.int64())


def _to_float(array: pa.Array, dtype: DataType) -> pa.Array:
    kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return array.cast(pa.float64())
    if not _is_text(array):
        return pa.nulls(len(array), pa.null())
    values = pc.utf8_trim_whitespace(array.cast(pa.string()))
    fits = pc.match_substring_regex(values, FLOAT_PATTERN)
    return _all_null_as_null_type(pc.cast(pc.if_else(fits, values, _NULL_STRING), pa.float64()))


def _to_bool(array: pa.Array, dtype: DataType) -> pa.Array:
    kind = array.type
    if dtype.true_values is None:
        if pa.types.is_boolean(kind):
            return array
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            return pc.not_equal(array, 0)
        if not _is_text(array):
            return pa.nulls(len(array), pa.bool_())
        values = pc.utf8_lower(pc.utf8_trim_whitespace(array.cast(pa.string())))
        true = pc.is_in(values, value_set=pa.array(["true", "1"]))
        false = pc.is_in(values, value_set=pa.array(["false", "0"]))
        return pc.if_else(true, True, pc.if_else(false, False, pa.scalar(None, pa.bool_())))
    values = _to_string(array, dtype) if not pa.types.is_string(kind) else array
    true = pc.is_in(values, value_set=pa.array(list(dtype.true_values)))
    false = pc.is_in(values, value_set=pa.array(list(dtype.false_values)))
    # mismatch_as='error' yields null, as in the reference.
    other = {"true": True, "false": False}.get(dtype.mismatch_as)
    mismatch = pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), pa.scalar(other, pa.bool_()))
    return pc.if_else(true, True, pc.if_else(false, False, mismatch))


def _to_datetime(array: pa.Array, dtype: DataType) -> pa.Array:
    kind = array.type
    if pa.types.is_timestamp(kind):
        return array.cast(pa.timestamp(kind.unit)) if kind.tz else array
    validate_data_type(dtype)
    values = array.cast(pa.string()) if not pa.types.is_string(kind) else array
    result = None
    for fmt in dtype.formats:
        subject = values
        if not _DATE_DIRECTIVES.search(fmt):
            subject = pc.binary_join_element_wise(pa.scalar(dtype.date_constant), values, " ")
            fmt = "%Y-%m-%d " + fmt
        parsed = _strptime(subject, fmt)
        result = parsed if result is None else pc.coalesce(result, parsed)
    return _all_null_as_null_type(result)


def _strptime(values: pa.Array, fmt: str) -> pa.Array:
    if "%f" not in fmt:
        return pc.strptime(values, format=fmt, unit="ns", error_is_null=True)
    # Arrow's strptime has no %f: parse those (rare) formats in Python.
    parsed = []
    for value in values.to_pylist():
        try:
            parsed.append(datetime.strptime(value, fmt) if value is not None else None)
        except ValueError:
            parsed.append(None)
    return pa.array(parsed, pa.timestamp("ns"))


def _to_stream(array: pa.Array, dtype: DataType) -> pa.Array:
    # Plain strings are not stream references: the reference returns None for each.
    return pa.nulls(len(array), pa.null())


_CONVERTERS = {"string": _to_string, "int": _to_int, "float": _to_float, "bool": _to_bool,
               "datetime": _to_datetime, "stream": _to_stream}
