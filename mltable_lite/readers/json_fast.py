"""The JSON lines fast path: a piece of whole lines through ``pyarrow.json``, when that is exact.

:func:`read_fast` parses a piece of UTF-8 JSON lines with PyArrow's reader on the calling thread
(no threads of its own: the reader parses several pieces at once on its pool, which keeps every
core busy where one multi-threaded parse keeps barely one), or returns ``None`` when only the
exact path (``json.loads`` per line, :mod:`.json_lines`) gives the right result: a line that is
whitespace only, ``null``, not one object, nested too deep, or a number PyArrow would round.

One vectorised pass (:func:`scan_lines`) gives what the guards need and the piece's line count,
which the reader uses to number lines in error messages. PyArrow parses ISO dates into
timestamps; they stay the strings they are (:func:`_read_with_date_columns`, :class:`DateColumns`).

Example:
    >>> read_fast(b'{"a": 1, "b": "x"}\\n{"a": 2}\\n').to_pydict()
    {'a': [1, 2], 'b': ['x', None]}
    >>> read_fast(b'{"a": 1} {"a": 2}\\n') is None     # two objects on one line: the exact path
    True
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

import pyarrow as pa

from . import json_guards
from .arrow_types import map_arrow_type

# A line made only of blanks between two newlines: an empty line (skipped) or a whitespace-only
# one (invalid). Searching for it is ~10x cheaper than classifying every line.
_BLANK_LINE = re.compile(rb"\n[ \t\x0b\x0c\r]*\n")
_LEADING_BLANK_LINE = re.compile(rb"[ \t\x0b\x0c\r]*(?:\n|\Z)")
_BLANKS = b" \t\x0b\x0c\r"
_NEWLINE = ord("\n")
_N = ord("n")
# Byte → whether it is blank or a line break, as a lookup table for numpy (imported on use).
_BLANK_OR_BREAK = bytes(byte in _BLANKS + b"\n" for byte in range(256))
_EACH_BLANK_LINE = re.compile(rb"^[ \t\x0b\x0c\r]*$", re.M)
# A piece's first line is decoded in Python to place the date columns read as strings
# (_read_with_date_columns); a longer one would cost more than the parse it spares.
_FIRST_RECORD_LIMIT = 1 << 16
# PyArrow's block size is a 32-bit int; a piece is far smaller, unless decoded whole from another encoding.
_MAX_BLOCK = 1 << 30


class LineScan(NamedTuple):
    """What one vectorised pass over a piece tells (:func:`scan_lines`)."""

    breaks: int          # line breaks
    blank_led: bool      # some line break is followed by a blank character or another break
    longest: int         # bytes in the longest line
    null_led: bool       # some line starts with "n" (it could be a JSON null)


def scan_lines(data: bytes) -> LineScan:
    """The :class:`LineScan` of ``data``: what :func:`record_count` and the fast path's guards
    need, in one vectorised pass (about half the time of a ``count`` plus a regex search, both
    single-threaded over every byte of a big piece).

    Example:
        >>> tuple(scan_lines(b'{"a": 1}\\n{"a": 2}\\n')), tuple(scan_lines(b'{}\\n\\nnull'))
        ((2, False, 8, False), (2, True, 4, True))
    """
    import numpy as np

    codes = np.frombuffer(data, np.uint8)
    size = len(codes)
    breaks = np.flatnonzero(codes == _NEWLINE)
    count = len(breaks)
    if not count:
        return LineScan(0, False, size, data[:1] == b"n")
    # The first byte of every line after the first (none after a final line break).
    firsts = codes[breaks[:-1] + 1 if breaks[-1] == size - 1 else breaks + 1]
    longest = max(int(breaks[0]), size - 1 - int(breaks[-1]), int(np.diff(breaks).max()) - 1 if count > 1 else 0)
    null_led = data[:1] == b"n" or bool((firsts == _N).any())
    blank_or_break = np.frombuffer(_BLANK_OR_BREAK, np.bool_)
    return LineScan(count, bool(blank_or_break[firsts].any()), longest, null_led)


def record_count(data: bytes, scan: LineScan | None = None) -> int | None:
    """Non-empty lines in ``data`` (``scan``: its :func:`scan_lines`, if done already);
    ``None`` when some line holds only whitespace."""
    scan = scan_lines(data) if scan is None else scan
    breaks, blank_after_break = scan.breaks, scan.blank_led
    lines = breaks + (0 if _ends_line(data) else 1)
    if not _has_blank_line(data, blank_after_break):
        return lines
    blank = 0
    for match in _EACH_BLANK_LINE.finditer(data):
        if match.end() == len(data) and (not data or _ends_line(data)):
            continue  # the position after the final newline is not a line
        text = match.group()
        if text not in (b"", b"\r"):
            return None
        blank += 1
    return lines - blank


def _has_blank_line(data: bytes, blank_after_break: bool = True) -> bool:
    """Whether some line of ``data`` is empty or holds only whitespace: the first, a middle one
    or a last one without a line break (the end of a final line break starts no line).

    A middle one starts with a blank character or a break right after a break, so it is
    searched for only if ``blank_after_break`` (see :func:`scan_lines`). Looked for in place:
    a padded copy of a big piece costs more than the search itself.
    """
    if _LEADING_BLANK_LINE.match(data) or (blank_after_break and _BLANK_LINE.search(data)):
        return True
    if _ends_line(data):
        return False
    last = _last_line(data)
    return last is not None and not last.strip(_BLANKS)


def _ends_line(data) -> bool:
    """Whether ``data`` (bytes, or a view of them) ends with a line break."""
    return data[-1:] == b"\n"


def _last_line(data) -> bytes | None:
    """The bytes after the last line break of ``data``; ``None`` if it has none. A view is
    copied from its end only, a little more at a time."""
    size = 1 << 12
    while True:
        tail = bytes(data[-size:])
        cut = tail.rfind(b"\n")
        if cut >= 0:
            return tail[cut + 1:]
        if size >= len(data):
            return None
        size *= 4


class DateColumns:
    """The top-level columns the last piece inferred as timestamps, by name.

    Reading such a piece costs two parses (infer, then again with the dates as strings); pieces
    and files mostly share one layout, so the next piece names these columns as strings up front
    and is parsed once (:func:`_read_with_date_columns`). Empty when nothing is worth carrying.
    """

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()


def read_fast(data: bytes, scan: LineScan | None = None,
               dates: DateColumns | None = None) -> pa.Table | None:
    """The file via PyArrow's JSON reader, or ``None`` when only the exact path is right.

    ``scan`` is its :func:`scan_lines`, if done already. ``dates`` (if given) names the columns
    to try as strings first, and learns the ones inferred here for the next piece. The guards of
    :mod:`.json_guards` send deep, ``null`` and huge-number lines to the exact path.
    """
    scan = scan_lines(data) if scan is None else scan
    expected = record_count(data, scan)
    if not expected or json_guards.may_nest_too_deep(data, scan.longest):
        return None
    table = _parsed_fast(data, expected, dates)
    if table is None or json_guards.has_inexact_floats(table):
        return None
    if (scan.null_led or scan.blank_led) and json_guards.has_null_line(data, scan.blank_led):
        return None
    return table


def _parsed_fast(data: bytes, expected: int, dates: DateColumns | None) -> pa.Table | None:
    import pyarrow.json as pj

    # One block for the whole piece, parsed on this thread: the caller runs pieces side by side.
    read = pj.ReadOptions(use_threads=False, block_size=min(max(len(data) + 1, 1 << 20), _MAX_BLOCK))
    if dates is not None and dates.names:
        table = _read_with_date_columns(data, read, expected, dates.names)
        if table is not None:
            return table
    options = pj.ParseOptions(newlines_in_values=False)
    try:
        table = pj.read_json(pa.BufferReader(data), read_options=read, parse_options=options)
        if table.num_rows != expected or _too_deep(table.schema):
            return None  # e.g. two objects on one line: the exact path reports it
        if dates is not None:
            dates.names = _top_level_timestamps(table.schema)
        if _has_timestamp(table.schema):
            # Read again with the dates as the strings they are.
            options = pj.ParseOptions(newlines_in_values=False, explicit_schema=_dates_as_strings(table.schema))
            table = pj.read_json(pa.BufferReader(data), read_options=read, parse_options=options)
        return table
    except (pa.ArrowException, ValueError):
        return None


def _read_with_date_columns(data: bytes, read, expected: int, names: tuple[str, ...]) -> pa.Table | None:
    """``data`` parsed once with the columns ``names`` as strings and the rest inferred: the
    table :func:`read_fast` would make by inferring then reading again, or ``None`` whenever it
    could differ from that one (the caller then takes that usual path).

    Strings are the only JSON values a string column accepts (PyArrow rejects a number, bool,
    array or object there), so the named columns hold exactly what the second read would. The
    other columns are inferred as usual; any timestamp among them needs the second read after
    all. Each named column must hold a string in the first record: then it has at least one,
    so inference gives it a type that becomes string, and its place in the column order is
    known (PyArrow puts named columns first; inference orders columns as first seen).
    """
    import pyarrow.json as pj

    record = _first_record(data)
    if record is None or not all(isinstance(record.get(name), str) for name in names):
        return None
    schema = pa.schema([(name, pa.string()) for name in names])
    options = pj.ParseOptions(newlines_in_values=False, explicit_schema=schema,
                              unexpected_field_behavior="infer")
    try:
        table = pj.read_json(pa.BufferReader(data), read_options=read, parse_options=options)
        if table.num_rows != expected or _too_deep(table.schema):
            return None
        table = table.select(list(record) + [name for name in table.column_names if name not in record])
        return None if _has_timestamp(table.schema) else table
    except (pa.ArrowException, ValueError, KeyError):
        return None


def _too_deep(schema: pa.Schema) -> bool:
    """Nested deeper than a line may be: the exact path names the line."""
    return any(json_guards.type_depth(field.type) > json_guards.MAX_DEPTH for field in schema)


def _first_record(data: bytes) -> dict | None:
    """The first non-empty line of ``data`` as a dict; ``None`` if it is not a JSON object or
    is too long to be worth decoding in Python."""
    # Its head only is copied out of a view: more than the longest line decoded, and a few blank lines.
    head = bytes(data[:2 * _FIRST_RECORD_LIMIT])
    start = 0
    while head.startswith(b"\n", start) or head.startswith(b"\r\n", start):
        start = head.index(b"\n", start) + 1
    end = head.find(b"\n", start)
    if end < 0:
        if len(head) < len(data):
            return None   # a longer line, or many blank lines: not worth it
        end = len(head)
    if end - start > _FIRST_RECORD_LIMIT:
        return None
    try:
        record = json.loads(head[start:end])
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _top_level_timestamps(schema: pa.Schema) -> tuple[str, ...]:
    """The top-level timestamp columns of ``schema``; none if a timestamp sits inside a nested
    column (naming the top-level ones would not spare the second read then)."""
    names = tuple(field.name for field in schema if pa.types.is_timestamp(field.type))
    nested = [field for field in schema if not pa.types.is_timestamp(field.type)]
    return () if _has_timestamp(pa.schema(nested)) else names


def _has_timestamp(schema: pa.Schema) -> bool:
    found: list[pa.DataType] = []

    def note(data_type: pa.DataType) -> pa.DataType:
        if pa.types.is_timestamp(data_type):
            found.append(data_type)
        return data_type

    for field in schema:
        map_arrow_type(field.type, note)
    return bool(found)


def _dates_as_strings(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every timestamp, top-level or nested, as a string."""
    return pa.schema([field.with_type(map_arrow_type(field.type, _timestamp_as_string)) for field in schema])


def _timestamp_as_string(data_type: pa.DataType) -> pa.DataType:
    return pa.string() if pa.types.is_timestamp(data_type) else data_type


