"""Cutting a delimited file into pieces that end at line breaks, and reading them with pyarrow.

The delimited reader (:mod:`.delimited`, whose docstring tells why) reads a big UTF-8 file in
pieces: a small first one (:data:`FIRST_PIECE_SIZE`), then big ones (:data:`PIECE_SIZE`), each
parsed by one ``pyarrow.csv.read_csv`` call. Local files are cut on a memory map
(:func:`mapped_pieces`), other streams as they are read (:func:`line_pieces`); both give the same
pieces. Files with ``support_multi_line`` are streamed by ``pyarrow.csv.open_csv`` instead
(:func:`streamed`, :data:`BLOCK_SIZE`).

Example:
    >>> import io
    >>> [(piece.to_pybytes(), quoted) for piece, quoted in line_pieces(io.BytesIO(b'a,b\\n1,"x"\\n'))]
    [(b'a,b\\n1,"x"\\n', True)]
"""

from __future__ import annotations

import mmap
import re
from copy import copy
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from ._text import UTF8_BOM

# Bigger files are read in pieces, each yielded as one table: a small first one, so the first rows
# are cheap, then PIECE_SIZE ones, big enough for read_csv to parse several blocks in parallel.
# (Growing pieces gradually cost ~10% of full-read throughput: mid-sized pieces parse on one core.)
FIRST_PIECE_SIZE = 1 << 16
PIECE_SIZE = 16 << 20
# Block size of pyarrow's streaming reader, used for big files with ``support_multi_line``.
BLOCK_SIZE = 1 << 20
# pyarrow's block size within one read_csv call (blocks are parsed in parallel).
READ_BLOCK_SIZE = 1 << 22
_MIN_READ_BLOCK_SIZE = 1 << 20


def pieces_read(pieces: Iterator[tuple[pa.Buffer, bool]], options: dict) -> Iterator[tuple[pa.Table, bool]]:
    """``(table, whether the piece holds a quote)`` for each piece of the file (see :mod:`.delimited`)."""
    for number, (piece, quoted) in enumerate(pieces):
        read_options = copy(options["read_options"])
        if number:  # the header, if any, is in the first piece only
            read_options.skip_rows = 0
        # At least ~4 blocks per piece, so that the last (shorter) piece is parsed in parallel too.
        read_options.block_size = max(_MIN_READ_BLOCK_SIZE, min(READ_BLOCK_SIZE, piece.size // 4 + 1))
        yield pacsv.read_csv(piece, **{**options, "read_options": read_options}), quoted


def streamed(handle, options: dict) -> Iterator[tuple[pa.Table, bool]]:
    """The file through pyarrow's streaming reader, one table per block of :data:`BLOCK_SIZE`.

    Raises :class:`UnclosedQuote` instead of yielding the last table when the file holds an odd
    number of quote characters: pyarrow would run a quote that never closes on to the end of the
    file, where the reference splits the rest at delimiters (see ``_text.iter_records``).
    """
    read_options = copy(options["read_options"])
    read_options.block_size = BLOCK_SIZE
    counted = _QuoteCounting(handle)
    pending = None
    for batch in pacsv.open_csv(counted, **{**options, "read_options": read_options}):
        if pending is not None:
            yield pending, True
        pending = pa.Table.from_batches([batch])
    if counted.quotes % 2:
        raise UnclosedQuote()
    if pending is not None:
        yield pending, True


class UnclosedQuote(Exception):
    """A quote that never closes: the exact tokenizer reads the file."""


class _QuoteCounting:
    """A binary stream that counts the quote characters read through it."""

    def __init__(self, handle) -> None:
        self._handle = handle
        self.quotes = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.quotes += data.count(b'"')
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def line_pieces(handle) -> Iterator[tuple[pa.Buffer, bool]]:
    """The file in pieces that end at a line break (but the last), without a byte-order mark,
    each with whether it holds a quote: FIRST_PIECE_SIZE, then PIECE_SIZE bytes.

    Like :func:`._text.line_pieces`, but without copying or zero-filling a byte: a piece is a
    slice of the block read, up to its last line break, and the rest of the block is read again
    with the next one (after a seek; a file that cannot seek copies it instead). That keeps the
    full-read throughput of a single ``read_csv``.
    """
    seekable = _seekable(handle)
    size = FIRST_PIECE_SIZE
    offset = 0          # position in the file of data[0]
    carry = b""         # bytes read but not yet in a piece
    first = True
    while True:
        block = handle.read(size)
        data = carry + block if carry else block
        if first:
            first = False
            if data.startswith(UTF8_BOM):
                data, offset = data[len(UTF8_BOM):], len(UTF8_BOM)
        if not block:  # end of the file: the rest is the last piece
            if data.strip():
                yield pa.py_buffer(data), b'"' in data
            return
        cut = data.rfind(b"\n") + 1
        if not cut:  # a line longer than the block: read on
            carry = data
            continue
        yield pa.py_buffer(data).slice(0, cut), data.find(b'"', 0, cut) >= 0
        offset += cut
        if seekable and cut < len(data):
            handle.seek(offset)
            carry = b""
        else:
            carry = data[cut:]
        size = PIECE_SIZE


def memory_map(handle, file) -> mmap.mmap | None:
    """A read-only map of the local file open as ``handle``, or None (a remote file, an empty
    one, or one the operating system cannot map: a pipe, some network filesystems)."""
    from ..storage import LocalStore

    if not isinstance(file.store, LocalStore) or file.size <= 0:
        return None
    try:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError):
        return None


def mapped_pieces(mapped: mmap.mmap) -> Iterator[tuple[pa.Buffer, bool]]:
    """:func:`line_pieces` over a memory-mapped local file: each piece is a view of the page
    cache, never copied into Python bytes (the copy costs about a fifth of the parse).

    Arrow's CSV reader copies values out of its input, so no table keeps the map alive; the map
    is unmapped once the last piece is dropped.
    """
    size = len(mapped)
    start = len(UTF8_BOM) if mapped[:len(UTF8_BOM)] == UTF8_BOM else 0
    view = memoryview(mapped)
    piece_size = FIRST_PIECE_SIZE
    while start < size:
        end = start + piece_size
        if end >= size:  # the rest is the last piece, unless it is only blank
            if _NOT_BLANK.search(mapped, start, size):
                yield pa.py_buffer(view[start:size]), mapped.find(b'"', start, size) >= 0
            return
        cut = mapped.rfind(b"\n", start, end) + 1
        if not cut:  # a line longer than the piece: take a longer piece
            piece_size *= 2
            continue
        yield pa.py_buffer(view[start:cut]), mapped.find(b'"', start, cut) >= 0
        start, piece_size = cut, PIECE_SIZE


_NOT_BLANK = re.compile(rb"\S")


def _seekable(handle) -> bool:
    try:
        return bool(handle.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def read_upto(handle, size: int) -> tuple[bytes, bool]:
    """Up to ``size`` bytes from ``handle``, and whether that reached the end of the file."""
    parts, got = [], 0
    while got < size:
        part = handle.read(size - got)
        if not part:
            return b"".join(parts), True
        parts.append(part)
        got += len(part)
    return b"".join(parts), False


def line_spans(file, size: int, parts: list[int], header_lines: int) -> list[tuple[int, int, bool]] | None:
    """For the chosen ``size``-byte chunks of a local ``file``: ``(start, stop, holds the
    header)`` byte spans, each from the first line that starts in the chunk to the first that
    starts after it, so that parsing a span alone gives the chunk's rows as the executor counts
    them (lines starting in the chunk). ``None`` when that cannot be told from the bytes: a
    remote file, a quote, a blank line or a carriage return before the last span ends (records
    and lines may then differ), or a chunk in which no line starts: the file is then read whole
    and its rows counted by lines.

    Example:
        >>> import tempfile, os
        >>> from mltable_lite.storage import canonical_uri, expand_paths
        >>> from mltable_lite.plan import PathSpec
        >>> folder = tempfile.mkdtemp(); path = os.path.join(folder, "a.csv")
        >>> _ = open(path, "wb").write(b"h\\n1\\n22\\n333\\n")
        >>> line_spans(expand_paths([PathSpec("file", canonical_uri(path))])[0], 4, [0, 1], 1)
        [(0, 4, True), (4, 11, False)]
    """
    with file.store.open_input(file.path) as handle:
        mapped = memory_map(handle, file)
        if mapped is None:
            return None
        try:
            length = len(mapped)

            def line_start(offset: int) -> int:   # the first line starting at or after offset
                if offset <= 0:
                    return 0
                if offset >= length:
                    return length
                newline = mapped.find(b"\n", offset - 1)
                return length if newline < 0 else newline + 1

            limit = line_start((max(parts) + 1) * size)
            if (mapped[:3] == UTF8_BOM or mapped[:1] == b"\n" or any(
                    mapped.find(mark, 0, limit) >= 0 for mark in (b'"', b"\r", b"\n\n"))):
                return None
            spans = [(line_start(part * size), line_start((part + 1) * size), part == 0 and header_lines > 0)
                     for part in sorted(parts)]
            # A chunk no line starts in (a line longer than the chunk) has no rows to parse, and
            # then no types either: such a file is read whole.
            return None if any(start == stop for start, stop, _ in spans) else spans
        finally:
            mapped.close()
