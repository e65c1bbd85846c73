"""JSON lines files → Arrow tables, as the reference's ``read_json_lines`` step.

One table per file, or per piece of a big file (below). Columns are the union of the keys in
first-seen order; a missing key is null. Types follow the values: ints → ``int64``, floats (or
ints mixed with floats) → ``float64``, bools → ``bool``, strings → ``string`` (date-like strings
are *not* parsed), objects → ``struct`` (pandas: dicts), arrays → ``list`` (pandas: numpy arrays;
arrays of objects: arrays of dicts). Ints inside objects stay ints (``{"o": {"x": 1}}`` →
``{'x': 1}``); as in the reference, a field that is null anywhere in the column (missing, null,
or under a null object) comes back as floats (``{'x': 1.0}``, ``{'x': None}``).

Two paths, one result:

* **fast**: ``pyarrow.json.read_json`` on a piece of whole lines (:mod:`.json_fast`), taken
  only when PyArrow accepts every line, the row count equals the number of non-empty lines and
  no line is whitespace-only. PyArrow parses ISO dates into timestamps; they stay strings (read
  once as strings when the columns are known from earlier pieces, else read again).
* **exact**: ``json.loads`` per line, used whenever the fast path declines: mixed types, invalid
  lines (``invalid_lines='error'`` raises naming the file, the 1-based line and its start;
  ``'drop'`` skips them), whitespace-only lines (invalid, as in the reference), a line that is
  not a JSON object (``Not a JSON object``). Empty lines are skipped and CRLF is fine in both.

Pieces: every file is cut into pieces of whole lines, a small one (:data:`FIRST_PIECE_SIZE`)
then bigger ones (:data:`PIECE_SIZE`), each parsed on its own (by either path) and yielded as one
table, so ``take(20)`` reads only the first small piece. The pieces after it, of this file and
the next ones, are parsed several at once, each on one core (:func:`_read_files`); line numbers,
the exact path and errors follow file order. Local files are memory-mapped, files in other
encodings decoded whole first. Pieces differ in types the way files do (ints in one, floats or
strings in a later one); the executor reconciles them as it does for several files.

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
import mmap
from typing import Iterator, Sequence

import pyarrow as pa

from ..concurrency import LOOKAHEAD, ordered_map
from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, UserErrorException
from ..mixed_columns import (MIXED_METADATA, harmonize_json_tables, is_mixed, json_text, mixed_columns, mixed_field,
                             restore_mixed, to_mixed)
from ._csv_pieces import memory_map
from ._text import CODECS, UTF8_BOM, check_utf8, decode_error, line_pieces, to_utf8
from . import json_guards
from .arrow_types import holds_struct, nulls_under_null_objects
from .delimited_options import validate_encoding
from .format import TextFormat
from .json_fast import DateColumns, read_fast, scan_lines

__all__ = [
    "read_json_lines", "validate_invalid_lines", "restore_mixed", "harmonize_json_tables",
    "mixed_columns", "is_mixed", "to_mixed", "MIXED_METADATA", "INVALID_LINES_VALUES", "FORMAT",
]

INVALID_LINES_VALUES = ["error", "drop"]

_QUOTE_LENGTH = 80

# Piece sizes: a small first one for cheap first rows (take), then bigger ones, several parsed
# at once, each on one core: small enough that the last ones end together, big enough that the
# work per piece (a first line decoded in Python, a table) stays negligible.
FIRST_PIECE_SIZE = 1 << 16
PIECE_SIZE = 4 << 20


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
    for index, table in _read_files(files, encoding, drop):
        if wanted is not None:
            table = table.select([name for name in table.column_names if name in wanted])
        yield index, table


class _Piece:
    """Whole lines of one file (``byte``: where they start, after any byte-order mark), or the
    error met while reading them; :func:`_parse` fills in the rest.

    ``data`` is bytes-like: a view of a memory-mapped local file (``mapped``), of a file decoded
    from another encoding, or bytes read from a remote one.
    """

    __slots__ = ("index", "file", "data", "byte", "mapped", "checked", "error", "breaks", "table", "bad_byte")

    def __init__(self, index: int, file, data=b"", byte: int = 0, mapped: mmap.mmap | None = None,
                 checked: bool = False, error: Exception | None = None) -> None:
        self.index, self.file, self.data, self.byte = index, file, data, byte
        self.mapped = mapped   # the map ``data`` is a view of (after its byte-order mark, if any)
        self.checked, self.error = checked, error
        self.breaks = 0
        self.table: pa.Table | None = None
        self.bad_byte: int | None = None   # where the data stops being UTF-8


def _read_files(files: Sequence, encoding, drop: bool) -> Iterator[tuple[int, pa.Table]]:
    """``(file index, table)`` for each piece of each file holding records, in order.

    The first piece is parsed alone, here: ``take(n)`` often needs no more. Then pieces of this
    file and the next ones are parsed on :data:`~mltable_lite.concurrency.LOOKAHEAD` threads at
    once (each with PyArrow's reader on one core, :func:`.json_fast.read_fast`), while this
    thread reads ahead. Each fast parse gives the same table whatever ``dates`` holds (the date
    columns learnt so far), so pieces parsed side by side need no order. Everything that depends
    on order stays here: line numbers, the exact path, and every error (UTF-8, a file gone, an
    invalid line), raised for the first piece that has one.
    """
    dates = DateColumns()

    def parsed(piece: _Piece) -> _Piece:
        if piece.error is None:
            _parse(piece, dates)
        return piece

    pieces = _pieces(files, encoding)
    first = next(pieces, None)
    if first is None:
        return
    workers = LOOKAHEAD
    line = 1
    for piece in _chain_one(parsed(first), ordered_map(parsed, pieces, workers=workers, ahead=2 * workers)):
        if piece.error is not None:
            raise piece.error
        if piece.byte == 0:
            line = 1
        if piece.bad_byte is not None:
            raise decode_error(bytes(piece.data), piece.bad_byte, "utf-8", piece.file.display, line, piece.byte)
        table = piece.table
        if table is None:
            table = _read_exact(bytes(piece.data), piece.file, drop, line, piece.byte)
        line += piece.breaks
        _release(piece)
        if table is not None:
            yield piece.index, _with_nulls_under_null_objects(table)


def _parse(piece: _Piece, dates: DateColumns) -> None:
    """Fill in ``piece``'s line breaks, and its table when the fast path takes it (or where its
    UTF-8 breaks): the part of the work that needs no order."""
    data = piece.data
    if not piece.checked and not _is_ascii(data):
        # PyArrow's JSON reader does not validate UTF-8 inside strings.
        try:
            str(data, "utf-8")
        except UnicodeDecodeError as error:
            piece.bad_byte = error.start
            return
    scan = scan_lines(data)
    piece.breaks = scan.breaks
    piece.table = read_fast(data, scan, dates)


def _is_ascii(data) -> bool:
    if isinstance(data, (bytes, bytearray)):
        return data.isascii()
    import numpy as np

    return not len(data) or int(np.frombuffer(data, np.uint8).max()) < 0x80


def _release(piece: _Piece) -> None:
    """Drop the pages of a memory-mapped piece from this process (they stay in the page cache,
    and come back if read again): the map of a big file then holds no more memory than a piece."""
    mapped = piece.mapped
    if mapped is None or not hasattr(mapped, "madvise"):
        return
    begin = piece.byte + _bom_length(mapped)
    start = -(-begin // mmap.PAGESIZE) * mmap.PAGESIZE   # whole pages of the piece only
    stop = (begin + len(piece.data)) // mmap.PAGESIZE * mmap.PAGESIZE
    if stop > start:
        try:
            mapped.madvise(mmap.MADV_DONTNEED, start, stop - start)
        except (OSError, ValueError):
            pass


def _bom_length(data) -> int:
    return len(UTF8_BOM) if data[:len(UTF8_BOM)] == UTF8_BOM else 0


def _chain_one(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _pieces(files: Sequence, encoding) -> Iterator[_Piece]:
    """Every file's pieces, in order; after a piece carrying an error, none."""
    name = _encoding_name(encoding)
    is_utf8 = name.lower() in ("utf-8", "utf8") or CODECS.get(name) == "utf-8"
    for index, file in enumerate(files):
        try:
            if is_utf8:
                for byte, data, mapped in _utf8_pieces(file):
                    yield _Piece(index, file, data, byte, mapped)
            else:
                data = _to_utf8(_read_bytes(file), encoding, file)
                for byte, piece in _split_lines(data, FIRST_PIECE_SIZE, PIECE_SIZE):
                    yield _Piece(index, file, piece, byte, checked=True)
        except Exception as error:   # noqa: BLE001 - raised in order, after the pieces before it
            yield _Piece(index, file, error=error)
            return


def _utf8_pieces(file) -> Iterator[tuple[int, object, mmap.mmap | None]]:
    """``(first byte, piece, the map it is a view of)`` for a UTF-8 file, without the byte-order
    mark (byte offsets count from after it). A local file is memory-mapped: no byte is copied
    into Python, and its pages are dropped piece by piece (:func:`_release`)."""
    with _open(file) as handle:
        mapped = memory_map(handle, file)
        if mapped is None:
            byte = 0
            for data in line_pieces(handle, FIRST_PIECE_SIZE, PIECE_SIZE):
                yield byte, data, None
                byte += len(data)
            return
    for byte, view in _split_lines(mapped, FIRST_PIECE_SIZE, PIECE_SIZE, _bom_length(mapped)):
        yield byte, view, mapped


def _split_lines(data, first_size: int, size: int, skip: int = 0) -> Iterator[tuple[int, memoryview]]:
    """``(first byte, piece)`` for ``data`` (bytes or a memory map) after its first ``skip``
    bytes, cut as :func:`._text.line_pieces` cuts a file; each piece is a view, not a copy.

    Example:
        >>> [(byte, bytes(piece)) for byte, piece in _split_lines(b"a\\nbb\\nc", 1, 3)]
        [(0, b'a\\n'), (2, b'bb\\n'), (5, b'c')]
    """
    view = memoryview(data)
    start, want = skip, first_size
    while start < len(data):
        end = data.find(b"\n", start + want - 1)
        end = len(data) if end < 0 else end + 1
        yield start - skip, view[start:end]
        start, want = end, size


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
