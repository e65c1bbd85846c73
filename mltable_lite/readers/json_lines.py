"""JSON lines files → Arrow tables, as the reference's ``read_json_lines`` step.

One table per file, or per piece of a big file (below). Columns are the union of the keys in
first-seen order; a missing key is null. Types follow the values: ints → ``int64``, floats (or
ints mixed with floats) → ``float64``, bools → ``bool``, strings → ``string`` (date-like strings
are *not* parsed), objects → ``struct`` (pandas: dicts), arrays → ``list`` (pandas: numpy arrays;
arrays of objects: arrays of dicts). Ints inside objects stay ints (``{"o": {"x": 1}}`` →
``{'x': 1}``); as in the reference, a field that is null anywhere in the column (missing, null,
or under a null object) comes back as floats (``{'x': 1.0}``, ``{'x': None}``).

Two paths, one result:

* **fast**: ``pyarrow.json.read_json`` on the whole (UTF-8) file or piece, taken only when PyArrow
  accepts every line, the row count equals the number of non-empty lines and no line is
  whitespace-only. PyArrow parses ISO dates into timestamps, so a file holding any is read a
  second time with those fields forced to strings. Later pieces and files name those columns as
  strings up front and are read once (:class:`_DateColumns`), falling back to the two reads
  whenever that single read could differ from them.
* **exact**: ``json.loads`` per line, used whenever the fast path declines: mixed types, invalid
  lines (``invalid_lines='error'`` raises naming the file, the 1-based line and its start;
  ``'drop'`` skips them), whitespace-only lines (invalid, as in the reference), a line that is
  not a JSON object (``Not a JSON object``). Empty lines are skipped and CRLF is fine in both.

Early stop: a UTF-8 file is read in pieces of whole lines, a small one
(:data:`FIRST_PIECE_SIZE`) then big ones (:data:`PIECE_SIZE`), each parsed on its own (by either
path) and yielded as one table, so ``take(20)`` reads only the first small piece while big pieces
keep PyArrow's parallel parser busy. Pieces differ in types the way files do (ints in one, floats or
strings in a later one); the executor reconciles them as it does for several files. Other
encodings are decoded whole.

Mixed columns (policy P11; the reference nulls every value whose type differs from the first)
keep the original values, carried as marked JSON text (:mod:`mltable_lite.mixed_columns`, whose
names this module re-exports): :func:`restore_mixed` turns them back after ``to_pandas``, and
:data:`FORMAT` widens the tables of several files or pieces with :func:`harmonize_json_tables`
(int64 + float64 → float64; any other clash → mixed) when their types differ.

Example:
    >>> from mltable_lite.plan import PathSpec, ReadJsonLines
    >>> from mltable_lite.storage import expand_paths
    >>> _ = open("/tmp/doc.jsonl", "w").write('{"v": 1}\\n{"v": "two"}\\n')
    >>> files = expand_paths([PathSpec("file", "file:///tmp/doc.jsonl")])
    >>> (_, table), = read_json_lines(files, ReadJsonLines())
    >>> df = restore_mixed(table.to_pandas(), table.schema)
    >>> list(df["v"])
    [1, 'two']
"""

from __future__ import annotations

import json
import re
from typing import Iterator, NamedTuple, Sequence

import pyarrow as pa

from ..concurrency import ordered_map
from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, UserErrorException
from ..mixed_columns import (MIXED_METADATA, harmonize_json_tables, is_mixed, json_text, mixed_columns, mixed_field,
                             restore_mixed, to_mixed)
from ._text import CODECS, check_utf8, decode_error, line_pieces, to_utf8
from . import json_guards
from .arrow_types import holds_struct, map_arrow_type, nulls_under_null_objects
from .delimited_options import validate_encoding
from .format import TextFormat

__all__ = [
    "read_json_lines", "validate_invalid_lines", "restore_mixed", "harmonize_json_tables",
    "mixed_columns", "is_mixed", "to_mixed", "MIXED_METADATA", "INVALID_LINES_VALUES", "FORMAT",
]

INVALID_LINES_VALUES = ["error", "drop"]

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
_QUOTE_LENGTH = 80

# Piece sizes for UTF-8 files: a small first one for cheap first rows, then big ones so that
# PyArrow parses several blocks of each in parallel.
FIRST_PIECE_SIZE = 1 << 16
PIECE_SIZE = 16 << 20
# A piece's first line is decoded in Python to place the date columns read as strings
# (_read_with_date_columns); a longer one would cost more than the parse it spares.
_FIRST_RECORD_LIMIT = 1 << 16


def validate_invalid_lines(value) -> str:
    """Check ``invalid_lines`` at build time; returns it unchanged.

    Example:
        >>> validate_invalid_lines("drop")
        'drop'
        >>> validate_invalid_lines("skip")
        Traceback (most recent call last):
        mltable_lite.errors.UserErrorException: Invalid value for invalid_lines, the supported values are ['error', 'drop']
    """
    if not isinstance(value, str) or value not in INVALID_LINES_VALUES:
        raise UserErrorException(
            f"Invalid value for invalid_lines, the supported values are {INVALID_LINES_VALUES}"
        )
    return value


def read_json_lines(files: Sequence, step, columns: Sequence[str] | None = None
                    ) -> Iterator[tuple[int, pa.Table]]:
    """Yield ``(file index, table)`` for every JSON lines file holding at least one record.

    ``step`` is a :class:`~mltable_lite.plan.ReadJsonLines` (``encoding``, ``invalid_lines``).
    ``columns`` keeps only those named (a file holding none of them still yields its rows, with
    no columns). Mixed-type columns come as marked JSON text: see :func:`restore_mixed`.

    Example:
        >>> for index, table in read_json_lines(files, ReadJsonLines()):   # doctest: +SKIP
        ...     print(index, table.column_names)
        0 ['v']
    """
    encoding = getattr(step, "encoding", "utf8")
    drop = getattr(step, "invalid_lines", "error") == "drop"
    wanted = None if columns is None else set(columns)
    dates = _DateColumns()
    for index, file in enumerate(files):
        for table in _read_file(file, encoding, drop, dates):
            if wanted is not None:
                table = table.select([name for name in table.column_names if name in wanted])
            yield index, table


def _read_file(file, encoding, drop: bool, dates: _DateColumns | None = None) -> Iterator[pa.Table]:
    """The tables of one file: one per piece of a UTF-8 file, one for other encodings.

    ``dates`` carries the date columns found so far from piece to piece (and file to file).
    After the first piece, two pieces are parsed at once on threads while this one reads and
    scans the next: PyArrow's JSON reader keeps barely one core busy on its own. Each fast
    parse gives the same table whatever ``dates`` holds (:func:`_read_with_date_columns`), so
    pieces parsed side by side need no order; the exact path and its errors stay here, in order.
    """
    name = _encoding_name(encoding)
    is_utf8 = name.lower() in ("utf-8", "utf8") or CODECS.get(name) == "utf-8"
    if is_utf8:
        pieces: Iterator = _utf8_pieces(file)
    else:
        pieces = iter([(_to_utf8(_read_bytes(file), encoding, file), 1, 0, None)])

    def parsed(piece):
        return piece, _read_fast(piece[0], piece[3], dates)

    first = next(pieces, None)
    if first is None:
        return
    # The first piece alone, on this thread: take(n) often needs no more.
    for (data, line, byte, _), table in _chain_one(parsed(first), ordered_map(parsed, pieces, workers=2)):
        if table is None:
            table = _read_exact(data, file, drop, line, byte)
        if table is not None:
            yield _with_nulls_under_null_objects(table)


def _chain_one(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _utf8_pieces(file) -> Iterator[tuple[bytes, int, int, LineScan]]:
    """``(piece, its first line number, its first byte, its :func:`_scan_lines`)`` for a UTF-8
    file: whole lines, validated, without the byte-order mark (byte offsets count from after it)."""
    line, byte = 1, 0
    with _open(file) as handle:
        for piece in line_pieces(handle, FIRST_PIECE_SIZE, PIECE_SIZE):
            if not piece.isascii():
                # PyArrow's JSON reader does not validate UTF-8 inside strings.
                check_utf8(piece, file.display, line, byte)
            scan = _scan_lines(piece)
            yield piece, line, byte, scan
            line += scan.breaks
            byte += len(piece)


# --- reading ------------------------------------------------------------------------------------


def _read_bytes(file) -> bytes:
    with _open(file) as handle:
        return handle.read()


def _open(file):
    try:
        return file.store.open_input(file.path)
    except FileNotFoundError:
        raise UserErrorException(
            f"{NOT_FOUND_MESSAGE} file '{file.display}' disappeared before it could be read.",
            error_code=NOT_FOUND_CODE,
        ) from None


def _encoding_name(encoding) -> str:
    """The normalised name the CSV reader uses (``'latin1'``, ``'utf16'`` ...) for ``encoding``."""
    try:
        return validate_encoding(encoding)
    except UserErrorException:
        # The builder has already checked it; a hand-made plan may hold a codec name CODECS lacks.
        return str(getattr(encoding, "value", encoding))


def _to_utf8(data: bytes, encoding, file) -> bytes:
    """``data`` as UTF-8 without a byte-order mark, decoded exactly as the CSV reader does."""
    name = _encoding_name(encoding)
    if name not in CODECS and name.lower() not in ("utf-8", "utf8"):
        try:
            text = data.decode(name)
        except LookupError:
            raise UserErrorException(f"Unsupported encoding '{name}' for '{file.display}'.") from None
        except UnicodeDecodeError as error:
            raise decode_error(data, error.start, name, file.display) from None
        return text.lstrip("\ufeff").encode("utf-8")
    data = to_utf8(data, name, file.display)
    if CODECS.get(name, "utf-8") == "utf-8" and not data.isascii():
        # PyArrow's JSON reader does not validate UTF-8 inside strings.
        check_utf8(data, file.display)
    return data


class LineScan(NamedTuple):
    """What one vectorised pass over a piece tells (:func:`_scan_lines`)."""

    breaks: int          # line breaks
    blank_led: bool      # some line break is followed by a blank character or another break
    longest: int         # bytes in the longest line
    null_led: bool       # some line starts with "n" (it could be a JSON null)


def _scan_lines(data: bytes) -> LineScan:
    """The :class:`LineScan` of ``data``: what :func:`_record_count` and the fast path's guards
    need, in one vectorised pass (about half the time of a ``count`` plus a regex search, both
    single-threaded over every byte of a big piece).

    Example:
        >>> tuple(_scan_lines(b'{"a": 1}\\n{"a": 2}\\n')), tuple(_scan_lines(b'{}\\n\\nnull'))
        ((2, False, 8, False), (2, True, 4, True))
    """
    import numpy as np

    codes = np.frombuffer(data, np.uint8)
    breaks = np.flatnonzero(codes == _NEWLINE)
    starts = breaks + 1
    if len(starts) and starts[-1] == len(codes):
        starts = starts[:-1]
    blank_or_break = np.frombuffer(_BLANK_OR_BREAK, np.bool_)
    firsts = codes[starts]
    ends = np.concatenate((breaks, [len(codes)]))
    longest = int((ends - np.concatenate(([-1], breaks))).max()) - 1
    null_led = data[:1] == b"n" or bool((firsts == _N).any())
    return LineScan(len(breaks), bool(blank_or_break[firsts].any()), longest, null_led)


def _record_count(data: bytes, scan: LineScan | None = None) -> int | None:
    """Non-empty lines in ``data`` (``scan``: its :func:`_scan_lines`, if done already);
    ``None`` when some line holds only whitespace."""
    scan = _scan_lines(data) if scan is None else scan
    breaks, blank_after_break = scan.breaks, scan.blank_led
    lines = breaks + (0 if data.endswith(b"\n") else 1)
    if not _has_blank_line(data, blank_after_break):
        return lines
    blank = 0
    for match in _EACH_BLANK_LINE.finditer(data):
        if match.end() == len(data) and (not data or data.endswith(b"\n")):
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
    searched for only if ``blank_after_break`` (see :func:`_scan_lines`). Looked for in place:
    a padded copy of a big piece costs more than the search itself.
    """
    if _LEADING_BLANK_LINE.match(data) or (blank_after_break and _BLANK_LINE.search(data)):
        return True
    if data.endswith(b"\n"):
        return False
    last = data.rfind(b"\n")
    return last >= 0 and not data[last + 1:].strip(_BLANKS)


class _DateColumns:
    """The top-level columns the last piece inferred as timestamps, by name.

    Reading such a piece costs two parses (infer, then again with the dates as strings); pieces
    and files mostly share one layout, so the next piece names these columns as strings up front
    and is parsed once (:func:`_read_with_date_columns`). Empty when nothing is worth carrying.
    """

    __slots__ = ("names",)

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()


def _read_fast(data: bytes, scan: LineScan | None = None,
               dates: _DateColumns | None = None) -> pa.Table | None:
    """The file via PyArrow's JSON reader, or ``None`` when only the exact path is right.

    ``scan`` is its :func:`_scan_lines`, if done already. ``dates`` (if given) names the columns
    to try as strings first, and learns the ones inferred here for the next piece. The guards of
    :mod:`.json_guards` send deep, ``null`` and huge-number lines to the exact path.
    """
    scan = _scan_lines(data) if scan is None else scan
    expected = _record_count(data, scan)
    if not expected or json_guards.may_nest_too_deep(data, scan.longest):
        return None
    table = _parsed_fast(data, expected, dates)
    if table is None or json_guards.has_inexact_floats(table):
        return None
    if (scan.null_led or scan.blank_led) and json_guards.has_null_line(data, scan.blank_led):
        return None
    return table


def _parsed_fast(data: bytes, expected: int, dates: _DateColumns | None) -> pa.Table | None:
    import pyarrow.json as pj

    read = pj.ReadOptions(block_size=max(1 << 20, min(len(data) // 8, 16 << 20)))
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
    table :func:`_read_fast` would make by inferring then reading again, or ``None`` whenever it
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
    start = 0
    while data.startswith(b"\n", start) or data.startswith(b"\r\n", start):
        start = data.index(b"\n", start) + 1
    end = data.find(b"\n", start)
    end = len(data) if end < 0 else end
    if end - start > _FIRST_RECORD_LIMIT:
        return None
    try:
        record = json.loads(data[start:end])
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


def _with_nulls_under_null_objects(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if holds_struct(field.type):
            table = table.set_column(index, field, nulls_under_null_objects(table.column(index)))
    return table


def _read_exact(data: bytes, file, drop: bool, start_line: int = 1, start_byte: int = 0) -> pa.Table | None:
    """The file (or a piece of it starting at ``start_line``, ``start_byte``) parsed line by line
    with ``json.loads``; ``None`` when it holds no records."""
    text = check_utf8(data, file.display, start_line, start_byte)
    rows: list[dict] = []
    names: dict[str, None] = {}
    loads = json.loads
    for number, line in enumerate(text.split("\n"), start_line):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        try:
            record = loads(line)
            reason = json_guards.line_problem(line, record) if isinstance(record, dict) else "Not a JSON object"
        except RecursionError:
            reason = f"nests more than {json_guards.MAX_DEPTH} levels deep"
        except ValueError as error:
            reason = "only whitespace" if not line.strip() else _json_reason(error)
        if reason is not None:
            if drop:
                continue
            shown = line if len(line) <= _QUOTE_LENGTH else line[:_QUOTE_LENGTH] + "..."
            raise UserErrorException(
                f"Invalid JSON line in '{file.display}' at line {number}: {reason}. The line "
                f"starts with: {shown!r}. Each non-empty line must hold one JSON object; fix the "
                "line or pass invalid_lines='drop' to skip invalid lines."
            )
        if len(record) != len(names) or any(key not in names for key in record):
            for key in record:
                names.setdefault(key, None)
        rows.append(record)
    if not rows:
        return None
    fields, arrays = [], []
    for name in names:
        field, array = _column(name, [row.get(name) for row in rows])
        fields.append(field)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _json_reason(error: ValueError) -> str:
    if "integer string conversion" in str(error):  # Python's own limit, not a JSON syntax error
        return "it holds an integer of more than 4300 digits, more than can be read"
    return f"not valid JSON ({error})"


_SIMPLE_TYPES = {
    frozenset({int}): pa.int64(),
    frozenset({float}): pa.float64(),
    frozenset({int, float}): pa.float64(),
    frozenset({bool}): pa.bool_(),
    frozenset({str}): pa.string(),
}


def _column(name: str, values: list) -> tuple[pa.Field, pa.Array]:
    """One column's Arrow field and array, widening per policy P11."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return pa.field(name, pa.null()), pa.nulls(len(values))
    try:
        simple = _SIMPLE_TYPES.get(frozenset(kinds))
        if simple is not None:
            # An int beyond int64, or beyond ±2**53 among floats, fails here: the column is then
            # mixed, which keeps every value exactly (P11).
            return pa.field(name, simple), pa.array(values, simple)
        if kinds == {dict} or kinds == {list}:
            array = pa.array(values)
            return pa.field(name, array.type), array
    except (pa.ArrowException, ValueError, TypeError, OverflowError, UnicodeError):
        pass
    field = mixed_field(name)
    return field, pa.array([None if v is None else json_text(v) for v in values], field.type)


class JsonLinesFormat(TextFormat):
    """JSON lines to the executor: ``partition_size`` byte chunks; types that differ between
    files or pieces widen (policy P11)."""

    def read_files(self, files, step, columns=None, **options):
        return read_json_lines(files, step, columns)

    def widen(self, tables):
        return harmonize_json_tables(tables)


FORMAT = JsonLinesFormat()
