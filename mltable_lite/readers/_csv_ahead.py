"""The delimited files after the type-inference sample: read ahead, and small ones many at once.

Once :func:`.delimited.read_delimited` has fixed the column types, :func:`read_ahead` reads the
rest of the files in order, overlapping their I/O and parsing with the caller:

* Files smaller than the head the reader reads anyway (``HEAD_SIZE``) have their bytes read on a
  thread pool, :data:`PREREAD` files ahead, so opening them costs the main thread nothing.
* Consecutive small files that the per-file read would parse with ``pyarrow.csv`` as they are
  (their header only parsed in Python, no quote, no carriage return, no blank line) and that give
  the same column names are a *batch*: their bodies (header lines cut off) are joined and parsed
  by one ``read_csv`` call with the same options, on the pool. A file whose header line is one
  already seen is not parsed in Python at all: the header line decides its names.
* Every other file is read alone as before: its ``read_csv`` started on the pool with the types
  as they are (:class:`Ahead`), used in its turn only if no earlier file has widened them since.

A batch gives what its files read one by one give, or is read one by one: with explicit column
types and no quotes, each value converts alone, so the joined parse equals the files' parses
whenever it succeeds, and the check for floats that may have rounded an integer and the
conversion of text columns (:meth:`.delimited._Reader.finish_batch`) give the same answer on all the
rows as on each file's. When any of them would change something (a value that does not fit, a
large float, a column that widens, a ragged row, a bad byte) or the types changed since the batch
was parsed, its files are read one by one from their bytes, which widens or raises exactly as
before, naming the file, line and column. Decisions stay in file order: an error found ahead is
raised only in its file's turn, so ``take(n)`` never fails on a file it did not need.

Example:
    >>> from mltable_lite.plan import PathSpec, ReadDelimited
    >>> from mltable_lite.storage import canonical_uri, expand_paths
    >>> from mltable_lite.readers.delimited import read_delimited
    >>> files = expand_paths([PathSpec("pattern", canonical_uri("examples/data/trips/*.csv"))])
    >>> [(i, t.num_rows) for i, t in read_delimited(files, ReadDelimited())]   # the sample fills in the first
    [(0, 200), (1, 200), (2, 200)]
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ._csv_pieces import read_upto
from ._text import UTF8_BOM

# Files prepared (or batches closed) ahead of the one being yielded.
AHEAD = 16
# Small files whose bytes are read on the pool ahead of their turn.
PREREAD = 64
# A batch is parsed once its files hold this many bytes; the first at FIRST_BATCH_BYTES, each next
# one four times bigger, so that the first rows come quickly (``take(n)`` reads a few files more
# than it needs, not a whole batch).
BATCH_BYTES = 1 << 20
FIRST_BATCH_BYTES = 1 << 15
_WORKERS = 2


@dataclass(frozen=True)
class Ahead:
    """A ``read_csv`` started early (:meth:`.delimited._Reader.parse_ahead`), with the types it was given."""

    read_types: dict
    bool_tokens: frozenset
    parse: Future          # of the pa.Table

    def typed_as(self, read_types: dict, bool_tokens) -> bool:
        """Whether this parse was started with the types (and boolean words) a read uses now."""
        return self.read_types == read_types and self.bool_tokens == bool_tokens


@dataclass
class _Batch:
    """Consecutive small files with the same names, their bodies parsed by one ``read_csv``."""

    names: list
    has_header: bool
    files: list = field(default_factory=list)      # (file index, _Prepared, rows in its body)
    bodies: list = field(default_factory=list)     # each file's body, ending with a line break
    size: int = 0
    ahead: Ahead | None = None
    joined: pa.Buffer | None = None                # the bodies, joined once the batch is closed


def read_ahead(reader, numbered, spans: dict | None, head_size: int) -> Iterator[tuple[int, pa.Table]]:
    """``(file index, table)`` for the files of ``numbered`` (``(index, FileRef)`` pairs), in
    order, with ``reader``'s types fixed (see the module docstring). ``head_size``: files smaller
    than this are read whole ahead; ``spans`` as in :func:`.delimited.read_delimited`."""
    pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="mltable_lite-csv")
    window: deque = deque()    # (index, _Prepared | Exception, Ahead | None) or a closed _Batch
    batching = reader.batches_files()
    known: dict[bytes, list] = {}     # header line → the names it gives (a file prepared with it)
    batch: _Batch | None = None
    limit = FIRST_BATCH_BYTES

    def close() -> None:
        nonlocal batch, limit
        if batch is not None:
            batch.ahead = _parse_batch(reader, batch, pool)
            window.append(batch)
            batch, limit = None, min(BATCH_BYTES, 4 * limit)

    try:
        for index, file, whole in _preread(numbered, pool, spans, head_size):
            prepared = _known(reader, known, file, whole) if batching and isinstance(whole, bytes) else None
            if prepared is None:
                try:
                    if isinstance(whole, Exception):
                        raise whole
                    prepared = reader.prepare(file, whole=whole)
                except Exception as error:  # noqa: BLE001 - raised in its turn, below
                    close()
                    window.append((index, error, None))
                    continue
                if prepared is None:
                    continue
                if spans and file.path in spans:
                    prepared.spans = spans[file.path]
            body = _body(prepared, known) if batching else None
            if body is None:
                close()
                window.append((index, prepared, reader.parse_ahead(prepared, pool)))
            else:
                if batch is not None and (batch.names != prepared.names or batch.has_header != prepared.has_header):
                    close()
                if batch is None:
                    batch = _Batch(prepared.names, prepared.has_header)
                batch.files.append((index, prepared, body.count(b"\n")))
                batch.bodies.append(body)
                batch.size += len(body)
                if batch.size >= limit:
                    close()
            while len(window) > AHEAD or (window and _ready(window[0])):
                yield from _read_first(reader, window)
        close()
        while window:
            yield from _read_first(reader, window)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _preread(numbered, pool: ThreadPoolExecutor, spans: dict | None, head_size: int):
    """``(index, file, its bytes, None or the error reading it raised)`` in order: the bytes of a
    file smaller than ``head_size`` (not read in spans) read on ``pool``, :data:`PREREAD` files
    ahead; None for other files, and for one grown past ``head_size`` since it was listed (they are
    opened in their turn)."""
    pending: deque = deque()
    for index, file in numbered:
        small = 0 <= file.size < head_size and not (spans and file.path in spans)
        pending.append((index, file, pool.submit(_read_small, file, head_size) if small else None))
        while len(pending) > PREREAD:
            yield _result(*pending.popleft())
    while pending:
        yield _result(*pending.popleft())


def _read_small(file, head_size: int) -> bytes | None:
    with file.store.open_input(file.path) as handle:
        raw, complete = read_upto(handle, head_size)
    return raw if complete else None   # grown since it was listed: read as a big file


def _result(index: int, file, future: Future | None):
    try:
        return index, file, None if future is None else future.result()
    except Exception as error:  # noqa: BLE001 - raised in the file's turn (retries are the store's)
        return index, file, error


def _known(reader, known: dict, file, raw: bytes):
    """``file`` (whose bytes are ``raw``) prepared as :meth:`.delimited._Reader.prepare` would,
    without parsing it, when its header line is one a batched file had; else None."""
    data = raw[len(UTF8_BOM):] if raw.startswith(UTF8_BOM) else raw
    cut = data.find(b"\n") + 1
    names = known.get(data[:cut]) if cut else None
    if names is None:
        return None
    return reader.prepared_like(names, file, data)


def _body(prepared, known: dict) -> bytes | None:
    """The rows of a file that can join a batch, ending with a line break; None when it must be
    read alone. Records its header line in ``known``."""
    data = prepared.data
    if (prepared.rows is not None or prepared.spans is not None or prepared.restore is not None or data is None
            or data[:1] == b"\n" or b'"' in data or b"\r" in data or b"\n\n" in data):
        return None   # a quote, a carriage return or a blank line: records and lines may differ
    if not prepared.has_header:
        body = data
    else:
        cut = data.find(b"\n") + 1
        header = data[:cut]
        if not cut or cut == len(data) or not header.strip():
            return None   # a header alone is read alone: pyarrow gives its columns
        known.setdefault(header, prepared.names)
        body = data[cut:]
    return body if body.endswith(b"\n") else body + b"\n"


def _parse_batch(reader, batch: _Batch, pool: ThreadPoolExecutor | None = None) -> Ahead:
    """``read_csv`` of the batch's joined bodies with the types as they are now: started on
    ``pool``, or done here (without one)."""
    options = reader.batch_options(batch.names)
    read_types = options.pop("read_types")
    if batch.joined is None:
        batch.joined = pa.py_buffer(b"".join(batch.bodies))
        batch.bodies = []
    if pool is not None:
        parse = pool.submit(pacsv.read_csv, batch.joined, **options)
    else:
        parse = Future()
        try:
            parse.set_result(pacsv.read_csv(batch.joined, **options))
        except Exception as error:  # noqa: BLE001 - as the pool's future would hold it
            parse.set_exception(error)
    return Ahead(read_types, frozenset(reader.bool_tokens), parse)


def _ready(entry) -> bool:
    ahead = entry.ahead if isinstance(entry, _Batch) else entry[2]
    return ahead is None or ahead.parse.done()


def _read_first(reader, window: deque) -> Iterator[tuple[int, pa.Table]]:
    entry = window.popleft()
    if isinstance(entry, _Batch):
        yield from _read_batch(reader, entry)
        return
    index, prepared, ahead = entry
    if isinstance(prepared, Exception):
        raise prepared
    for table in reader.read(prepared, ahead):
        yield index, table


def _read_batch(reader, batch: _Batch) -> Iterator[tuple[int, pa.Table]]:
    """The batch's tables, one per file: slices of the joined parse, or each file read alone."""
    if not reader.still_typed(batch.names, batch.ahead):
        # An earlier file widened a column since the batch was parsed: parsed again, as it is now.
        batch.ahead.parse.cancel()
        batch.ahead = _parse_batch(reader, batch)
    table = reader.finish_batch(batch.names, batch.ahead, sum(rows for _, _, rows in batch.files))
    if table is None:
        for index, prepared, _ in batch.files:
            for one in reader.read(prepared):
                yield index, one
        return
    offset = 0
    for index, _, rows in batch.files:
        yield index, table.slice(offset, rows)
        offset += rows


def inexact_floats(table: pa.Table, names: list, read_types: dict) -> list:
    """The columns pyarrow parsed as floats that hold a finite value of ±2**53 or more, where its
    parse may have rounded an integer (``9007199254740993``): their text decides (P2)."""
    found = []
    for name, column in zip(names, table.columns):
        if read_types[name][0] != "float" or not len(column):
            continue
        low, high = pc.min_max(column).values()
        # 2**53 itself is where 2**53 + 1 rounds to, so it counts as suspect too.
        if low.as_py() is None or (-_FLOAT_EXACT < low.as_py() and high.as_py() < _FLOAT_EXACT):
            continue
        finite = pc.if_else(pc.is_finite(column), pc.abs(column), 0.0)
        if pc.max(finite).as_py() >= _FLOAT_EXACT:
            found.append(name)
    return found


_FLOAT_EXACT = float(1 << 53)


def has_line_break(table: pa.Table) -> bool:
    """Whether a string column of ``table`` holds a line break."""
    for column in table.columns:
        if pa.types.is_string(column.type) and pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py():
            return True
    return False
