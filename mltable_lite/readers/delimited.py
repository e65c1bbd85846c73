"""Delimited text (CSV, TSV, ...) → Arrow tables, matching the reference (COMPATIBILITY.md §5).

Fast path: types are inferred once from a small sample parsed in Python (:mod:`..inference`),
then each file is parsed by ``pyarrow.csv`` with those types given explicitly. Anything pyarrow
cannot express (``+1``, a value that does not fit the sampled type, ragged rows, a quoted line
break without ``support_multi_line``) falls back, for that column or file only, to reading the
raw strings and converting them in ``pyarrow.compute`` (widening rather than losing values, P2)
or to the exact Python tokenizer of :mod:`._text`.

Early stop: only the head of a file (:data:`HEAD_SIZE`) is read to find its header and sample
rows. A bigger UTF-8 file with a one-byte delimiter is then read in *pieces* cut at line breaks,
a small one then big ones (sizes and cutting in :mod:`._csv_pieces`), each parsed by
``pyarrow.csv.read_csv`` (multi-threaded, so throughput stays that of a whole-file read) and
yielded as one table: ``take(20)`` costs the head and one small piece, not the file. Local files
are cut on a memory map (the pieces are never copied), remote ones from their byte stream. Cutting
at any line break is what pyarrow's own
block splitting does without ``newlines_in_values``; with ``support_multi_line`` a line break may be
inside quotes, so those files are streamed by ``pyarrow.csv.open_csv`` instead.

If a later piece cannot be read as typed (a value that does not fit, a ragged row, a bad byte),
the rest of the file takes the whole-file path above, which widens or reports the error exactly as
before. The pieces already yielded keep their narrower type: the executor reconciles the tables of
one read as it does for several files (int → float by schema unification, anything else by reading
the column again as text), so no value is lost (P2).

Example:
    >>> from mltable_lite.plan import PathSpec, ReadDelimited
    >>> from mltable_lite.storage import canonical_uri, expand_paths
    >>> files = expand_paths([PathSpec("pattern", canonical_uri("examples/data/trips/*.csv"))])
    >>> [(i, t.num_rows) for i, t in read_delimited(files, ReadDelimited())]
    [(0, 200), (1, 200), (2, 200)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import UserErrorException
from ..inference import (FALSE_TOKENS, STRING, TRUE_TOKENS, ZONE_PATTERN, ColumnType, convert_widening,
                         infer_column)
from ..plan import InferOptions, ReadDelimited
from . import _csv_pieces
from ._csv_ahead import Ahead, has_line_break, inexact_floats, read_ahead
from ._text import CODECS, check_utf8, iter_records, quoted_newline_error, to_utf8
from .delimited_options import validate_delimiter, validate_encoding, validate_header
from .format import TextFormat

# Bytes read first from each file for its header and inference sample (grown while too short).
# A file that fits is read whole, as one table.
HEAD_SIZE = 1 << 16

DEFAULT_SAMPLE_SIZE = 200

_SUBSTITUTES = (b"\x1f", b"\x1e", b"\x1d", b"\x1c", b"\x1b", b"\x1a", b"\x19", b"\x18")
_COLUMN_ERROR = re.compile(r"In CSV column #(\d+)")
_ZONE = re.compile(ZONE_PATTERN)
_TRUE, _FALSE = frozenset(TRUE_TOKENS), frozenset(FALSE_TOKENS)


def read_delimited(files, step: ReadDelimited, columns=None, only: frozenset | None = None,
                   spans: dict | None = None) -> Iterator[tuple[int, pa.Table]]:
    """Read delimited ``files`` per ``step``; yields ``(file index, table)`` (see readers contract).

    A big file yields one table per piece (module docstring). ``only``: yield the files at these
    indices only; the others give the header and inference sample as they would in the read of
    all the files (while the sample is not full, only their head is read; after, nothing).
    ``spans``: for a file (by path), the byte spans to parse instead of the whole file (chunks of
    it, :func:`._csv_pieces.line_spans`), one table each.

    Example:
        >>> from mltable_lite.plan import PathSpec
        >>> from mltable_lite.storage import canonical_uri, expand_paths
        >>> files = expand_paths([PathSpec("file", canonical_uri("examples/data/trips/2024-01.csv"))])
        >>> [table.column_names[:3] for _, table in read_delimited(files, ReadDelimited(), columns=["fare"])]
        [['fare']]
    """
    reader = _Reader(step, columns)
    # Files parsed ahead (small ones) while the inference sample is not yet full: the reference
    # samples the first rows of the whole dataset, not of the first file.
    pending: list = []
    numbered = enumerate(files) if only is None else ((index, file) for index, file in enumerate(files)
                                                      if index in only or not reader.fixed)
    for index, file in numbered:
        prepared = reader.prepare(file)
        if prepared is None:
            continue
        if spans and file.path in spans:
            prepared.spans = spans[file.path]
        if only is None or index in only:
            pending.append((index, prepared))
        if reader.add_sample(prepared):
            for pending_index, item in pending:
                for table in reader.read(item):
                    yield pending_index, table
            yield from read_ahead(reader, numbered, spans, HEAD_SIZE)
            return
    reader.fix_types()
    for pending_index, item in pending:
        for table in reader.read(item):
            yield pending_index, table


@dataclass
class _Prepared:
    """One file, decoded and with its header understood, ready to be read."""

    data: bytes | None     # the whole file as UTF-8; None when it is to be streamed (not read yet)
    delimiter: str
    restore: tuple | None
    names: list
    has_header: bool
    rows: list | None      # the sample rows; None when only the header was parsed (Reader.prepare)
    display: str
    file: object = None    # the FileRef, reopened to stream it
    spans: list | None = None   # byte spans to parse instead of the whole file (read_delimited)


class _Reader:
    """State shared across the files of one read: header names and column types so far."""

    def __init__(self, step: ReadDelimited, columns):
        self.step = step
        self.mode = validate_header(step.header)
        self.encoding = validate_encoding(step.encoding)
        self.delimiter = validate_delimiter(step.delimiter)
        self.columns = set(columns) if columns is not None else None
        infer = step.infer_column_types
        self.infer = infer is not False
        self.sample_size = DEFAULT_SAMPLE_SIZE
        self.overrides: dict = {}
        if isinstance(infer, InferOptions):
            self.sample_size = infer.sample_size or DEFAULT_SAMPLE_SIZE
            for names, dtype in infer.overrides:
                for name in names:
                    self.overrides[name] = dtype
        self.names: list[str] | None = None   # header of the first file (positional modes)
        self.types: dict[str, ColumnType] = {}
        self.zones: dict[str, set] = {}       # ISO date columns: whether sampled values carry a zone
        self.files_seen = 0
        self.bool_tokens: set = set()
        self.sample: dict[str, list] = {}
        self.sampled = 0
        self.fixed = False

    # --- one file ------------------------------------------------------------------------------

    def prepare(self, file, header_only: bool = True, whole: bytes | None = None) -> _Prepared | None:
        """Decode ``file`` and parse its header and first rows; ``None`` for an empty file.

        A file that can be streamed is read only as far as its header and sample rows need.
        Once the column types are fixed, the rows of a small file are not needed up front
        (``header_only``): only its header is parsed here, ``rows`` is ``None``, and :meth:`read`
        prepares it fully only if pyarrow cannot read it as it is. ``whole``: the file's bytes,
        already read (a small file read ahead).
        """
        if whole is not None:
            return self._prepared(file, whole, True, None, header_only)
        # pyarrow reads UTF-8 (skipping a byte-order mark) and splits on one byte; other
        # encodings are transcoded and longer delimiters substituted, which needs the whole file.
        streamable = CODECS.get(self.encoding, "utf-8") == "utf-8" and len(self.delimiter.encode("utf-8")) == 1
        with file.store.open_input(file.path) as handle:
            if streamable:
                raw, complete = _csv_pieces.read_upto(handle, HEAD_SIZE)
            else:
                raw, complete = handle.read(), True
            return self._prepared(file, raw, complete, handle, header_only)

    def _prepared(self, file, raw: bytes, complete: bool, handle, header_only: bool) -> _Prepared | None:
        """:meth:`prepare` from the first bytes of the file, ``raw`` (all of it when ``complete``;
        else more is read from ``handle`` as needed)."""
        while True:
            data = to_utf8(raw, self.encoding, file.display)
            data, delimiter, substitute = self._single_byte_delimiter(data)
            header_only = header_only and complete and self.fixed and self.mode != "no_header"
            head = self._head_records(data, complete, delimiter, file.display, 1 if header_only else None)
            if head is not None:
                break
            more, complete = _csv_pieces.read_upto(handle, 3 * len(raw))
            raw += more
        if not raw:
            return None
        if complete and not data[:4096].strip() and not data.strip():
            return None
        first_file = self.files_seen == 0
        self.files_seen += 1
        if not head:
            return None
        restore = (delimiter, substitute) if substitute and b'"' in data else None
        return self._laid_out(file, data, complete, delimiter, restore, head, first_file, header_only)

    def _laid_out(self, file, data: bytes, complete: bool, delimiter: str, restore, head: list,
                  first_file: bool, header_only: bool) -> _Prepared:
        """The file's column names and sample rows from its first records ``head``; with
        ``header_only``, rows are parsed only if the header names a column not known yet."""
        has_header = self.mode in ("all_files_same_headers", "all_files_different_headers") or (
            self.mode == "from_first_file" and first_file)
        names = self._names_for(head[0][1] if has_header else None, first_file)
        if header_only:
            if all(name in self.types for name in names):
                return _Prepared(data, delimiter, restore, names, has_header, None, file.display, file)
            # New columns: their types come from the file's rows (all of it is in ``data``).
            head = self._head_records(data, complete, delimiter, file.display)
        rows = [row for _, row in (head[1:] if has_header else head)]
        row_width = max((len(row) for row in rows), default=0)
        if row_width > len(names):
            names = self._extend(names, row_width)
        elif rows and not first_file and self.mode != "all_files_different_headers":
            # Positional modes: a later file with fewer fields fills only the first columns.
            names = names[:row_width]
        return _Prepared(data if complete else None, delimiter, restore, names, has_header, rows, file.display,
                         file)

    # --- small files parsed many at once (._csv_ahead) ------------------------------------------

    def batches_files(self) -> bool:
        """Whether small files may be parsed many at once: their bytes are what pyarrow parses
        (UTF-8, a one-byte delimiter) and a header line tells their names."""
        return (CODECS.get(self.encoding, "utf-8") == "utf-8" and len(self.delimiter.encode("utf-8")) == 1
                and self.mode != "no_header")

    def prepared_like(self, names: list, file, data: bytes) -> _Prepared:
        """``file`` (UTF-8 ``data`` without a byte-order mark) as :meth:`prepare` prepares it,
        without parsing it: its header line is one that gave ``names`` to a file prepared before."""
        self.files_seen += 1
        return _Prepared(data, self.delimiter, None, names, True, None, file.display, file)

    def batch_options(self, names: list) -> dict:
        """``read_csv``'s options for the joined bodies (no header lines) of files with ``names``,
        and under ``read_types`` the type each column is read as."""
        internal, read_types, wanted = self._read_plan(names)
        return {**self._csv_options(self.delimiter, internal, False, read_types, names, wanted),
                "read_types": read_types}

    def still_typed(self, names: list, ahead: Ahead) -> bool:
        """Whether a parse of files with ``names`` started ahead has the types they are read with now."""
        return ahead.typed_as(self._read_plan(names)[1], self.bool_tokens)

    def finish_batch(self, names: list, ahead: Ahead, rows: int) -> pa.Table | None:
        """The joined parse of a batch of files with ``names`` (:mod:`._csv_ahead`), finished as
        each file's read finishes it; None when its files are to be read one by one instead: the
        parse failed, a float may have rounded an integer, a column widens (each file's read
        decides where), or the types changed since it was started (:meth:`still_typed`)."""
        internal, read_types, wanted = self._read_plan(names)
        if not ahead.typed_as(read_types, self.bool_tokens):
            ahead.parse.cancel()
            return None
        try:
            table = ahead.parse.result()
        except pa.ArrowException:
            return None
        selected = [names[i] for i in wanted]
        if table.num_rows != rows or inexact_floats(table, selected, read_types):
            return None
        types = dict(self.types)
        try:
            table = self._finish(table.rename_columns(selected), None)
        except Exception:  # noqa: BLE001 - each file's read raises it, naming the file
            table = None
        if self.types != types:
            table, self.types = None, types
        return table

    def _with_rows(self, prepared: _Prepared) -> _Prepared:
        """A file prepared from its header only, prepared again with its sample rows, from the
        bytes already read."""
        head = self._head_records(prepared.data, True, prepared.delimiter, prepared.display)
        return self._laid_out(prepared.file, prepared.data, True, prepared.delimiter, prepared.restore, head,
                              first_file=False, header_only=False)

    def add_sample(self, prepared: _Prepared) -> bool:
        """Add the file's first rows to the sample; True once types are fixed."""
        if self.fixed:
            return True
        for row in prepared.rows[:self.sample_size - self.sampled]:
            for position, name in enumerate(prepared.names):
                self.sample.setdefault(name, []).append(row[position] if position < len(row) else None)
            self.sampled += 1
        for name in prepared.names:
            self.sample.setdefault(name, [])
        if self.sampled >= self.sample_size:
            self.fix_types()
        return self.fixed

    def fix_types(self) -> None:
        if not self.fixed:
            self.fixed = True
            for name, values in self.sample.items():
                self._infer(name, values)

    def parse_ahead(self, prepared: _Prepared, pool) -> Ahead | None:
        """For a file prepared from its header only: ``read_csv`` of it started on ``pool`` with
        the types as they are now (:meth:`read` checks they still are)."""
        if prepared.rows is None and prepared.spans is None:
            internal, read_types, wanted = self._read_plan(prepared.names)
            options = self._csv_options(prepared.delimiter, internal, prepared.has_header, read_types,
                                        prepared.names, wanted)
            return Ahead(read_types, frozenset(self.bool_tokens),
                          pool.submit(pacsv.read_csv, pa.py_buffer(prepared.data), **options))
        return None

    def read(self, prepared: _Prepared, ahead: Ahead | None = None) -> Iterator[pa.Table]:
        """The file's tables: one for a file read whole, one per piece for a bigger file, one
        per span for a file read in spans."""
        if prepared.spans is not None:
            yield from self._read_spans(prepared)
            return
        if prepared.rows is None:
            try:
                yield self._read_fast(prepared.data, prepared.delimiter, prepared.restore, prepared.names,
                                      prepared.has_header, prepared.display, ahead)
                return
            except _SlowPath:
                # Ragged rows, a quoted line break, a value pyarrow cannot parse as typed: take the
                # full path from the start, as if the file had been prepared with its rows.
                prepared = self._with_rows(prepared)
        names = prepared.names
        for position, name in enumerate(names):
            if name not in self.types:
                self._infer(name, [row[position] if position < len(row) else None
                                   for row in prepared.rows[:self.sample_size]])
        if prepared.data is not None:
            yield self._read_whole(prepared, prepared.data)
            return
        done = 0
        try:
            for table in self._read_stream(prepared):
                done += table.num_rows
                yield table
            return
        except _SlowPath:
            pass
        # A piece pyarrow cannot read as typed: the whole-file path widens the column (or uses
        # the exact tokenizer, or reports the error with its line); the rows already yielded
        # are skipped. Both paths split records the same way, so the rows line up.
        with prepared.file.store.open_input(prepared.file.path) as handle:
            data = to_utf8(handle.read(), self.encoding, prepared.display)
        table = self._read_whole(prepared, data)
        yield table.slice(done) if done else table

    def _read_spans(self, prepared: _Prepared) -> Iterator[pa.Table]:
        """Each span of the file parsed alone, as the whole file's read would parse its records
        (the spans hold whole lines, and no quote or blank line: ``line_spans``)."""
        from dataclasses import replace

        for position, name in enumerate(prepared.names):
            if name not in self.types:
                self._infer(name, [row[position] if position < len(row) else None
                                   for row in (prepared.rows or [])[:self.sample_size]])
        with prepared.file.store.open_input(prepared.file.path) as handle:
            for start, stop, header in prepared.spans:
                handle.seek(start)
                data = handle.read(stop - start)
                yield self._read_whole(replace(prepared, has_header=header), data)

    def _read_whole(self, prepared: _Prepared, data: bytes) -> pa.Table:
        args = (data, prepared.delimiter, prepared.restore, prepared.names, prepared.has_header, prepared.display)
        try:
            return self._read_fast(*args)
        except _SlowPath:
            return self._read_slow(*args)

    def _extend(self, names: list[str], width: int) -> list[str]:
        """Names for ``width`` fields: the header's where it has one, else ColumnN (1-based)."""
        base = self.names if self.mode in ("all_files_same_headers", "from_first_file") and self.names else []
        extended = list(names)
        for position in range(len(names), width):
            extended.append(base[position] if position < len(base) else f"Column{position + 1}")
        return _dedupe(extended)

    def _single_byte_delimiter(self, data: bytes):
        """pyarrow splits on one byte: stand in for a longer delimiter with an unused byte."""
        encoded = self.delimiter.encode("utf-8")
        if len(encoded) == 1:
            return data, self.delimiter, None
        for byte in _SUBSTITUTES:
            if byte not in data:
                return data.replace(encoded, byte), byte.decode(), self.delimiter
        raise UserErrorException(f"Cannot split on the delimiter {self.delimiter!r}: the file holds control "
                                 "characters 0x18-0x1f that the multi-character delimiter support needs.")

    def _head_records(self, data: bytes, complete: bool, delimiter: str, display: str,
                      need: int | None = None) -> list | None:
        """The first ``need`` records (default: header + sample rows), parsed exactly in Python.

        ``data`` is the start of the file (all of it when ``complete``); ``None`` means it holds
        too few records to tell and more of the file is needed.
        """
        need = self.sample_size + 1 if need is None else need
        size = 1 << 16
        while True:
            chunk = data[:size]
            whole = size >= len(data)
            if not (whole and complete):
                chunk = chunk[:chunk.rfind(b"\n") + 1] or chunk
            text = chunk.decode("utf-8", errors="replace")
            records = list(islice(iter_records(text, delimiter, self.step.support_multi_line, display), need + 1))
            if len(records) > need:
                return records[:need]
            if whole:
                return records if complete else None
            size *= 4

    def _names_for(self, header, first_file: bool) -> list[str]:
        if self.mode == "no_header":
            return self.names or []
        if self.mode == "all_files_different_headers":
            return _header_names(header)
        if first_file:
            self.names = _header_names(header)
        names = list(self.names or [])
        if self.mode == "all_files_same_headers" and header is not None and not first_file:
            own = _header_names(header)
            if own != names and sorted(own) == sorted(names):
                # The same names in another order: matched by position, as the reference does,
                # every value would land in another column without a word. They go by name.
                return own
        return names

    def _infer(self, name: str, values: list) -> None:
        if name in self.overrides or not self.infer:
            self.types[name] = STRING
            return
        self.types[name] = infer_column(values, self.step.empty_as_string)
        if self.types[name].kind == "bool":
            # Few tokens keep pyarrow's bool parsing fast; other spellings take the fallback.
            for value in values:
                if value and value.strip():
                    token = value.strip()
                    self.bool_tokens.update({token, token.lower(), token.title(), token.upper()})
        if self.types[name].kind == "datetime":
            self.zones[name] = {_ZONE.search(value.strip()) is not None for value in values
                                if value and value.strip()}

    # --- fast path: pyarrow.csv with explicit types --------------------------------------------

    def _read_plan(self, names: list) -> tuple[list, dict, list]:
        """pyarrow's column names, the type to read each column as, and the positions to keep."""
        internal = [f"f{i}" for i in range(len(names))]
        read_types = {name: self._arrow_read_type(name) for name in names}
        _resolve_date_conflicts(read_types)
        wanted = [i for i, name in enumerate(names) if self.columns is None or name in self.columns]
        return internal, read_types, wanted or list(range(len(names)))

    def _read_stream(self, prepared: _Prepared) -> Iterator[pa.Table]:
        """The file piece by piece, types as inferred; raises :class:`_SlowPath` at the first piece
        pyarrow cannot read that way."""
        names = prepared.names
        internal, read_types, wanted = self._read_plan(names)
        options = self._csv_options(prepared.delimiter, internal, prepared.has_header, read_types, names, wanted)
        selected = [names[i] for i in wanted]
        multi_line = self.step.support_multi_line
        yielded = False
        with prepared.file.store.open_input(prepared.file.path) as handle:
            mapped = None if multi_line else _csv_pieces.memory_map(handle, prepared.file)
            if multi_line:
                tables = _csv_pieces.streamed(handle, options)
            else:
                pieces = _csv_pieces.line_pieces(handle) if mapped is None else _csv_pieces.mapped_pieces(mapped)
                tables = _csv_pieces.pieces_read(pieces, options)
            try:
                for table, quoted in tables:
                    if not table.num_rows:
                        continue
                    table = table.rename_columns(selected)
                    # Only a quoted value can hold a line break (P15): look for them only then.
                    if quoted and not multi_line and has_line_break(table):
                        raise _SlowPath()
                    if inexact_floats(table, selected, read_types):
                        raise _SlowPath()
                    yielded = True
                    yield self._finish(table, None)
            except (pa.ArrowInvalid, _csv_pieces.UnclosedQuote):
                raise _SlowPath() from None
        if not yielded:
            raise _SlowPath()  # no data rows: the whole-file path gives the columns (P7)

    def _read_fast(self, data, delimiter, restore, names, has_header, display, ahead=None) -> pa.Table:
        if self.step.support_multi_line and data.count(b'"') % 2:
            raise _SlowPath()  # a quote that never closes: pyarrow would run it to the end of the file
        internal, read_types, wanted = self._read_plan(names)
        if ahead is not None and not ahead.typed_as(read_types, self.bool_tokens):
            ahead.parse.cancel()
            ahead = None   # parsed with types that an earlier file has since widened
        for attempt in range(4):
            try:
                if attempt == 0 and ahead is not None:
                    table = ahead.parse.result()   # raises what read_csv raised
                else:
                    table = pacsv.read_csv(pa.py_buffer(data), **self._csv_options(
                        delimiter, internal, has_header, read_types, names, wanted))
            except pa.ArrowInvalid as error:
                message = str(error)
                if "invalid UTF8" in message or "UTF-8" in message:
                    check_utf8(data, display)
                found = _COLUMN_ERROR.search(message)
                if not found or "conversion error" not in message:
                    raise _SlowPath() from None
                # Read the offending column as strings; it is converted (and widened) below.
                read_types[names[int(found.group(1))]] = ("string", None)
                if attempt == 2:
                    read_types = {name: ("string", None) for name in names}
                continue
            inexact = inexact_floats(table, [names[i] for i in wanted], read_types)
            if not inexact:
                break
            for name in inexact:  # converted from the text instead, which keeps such a value (P2)
                read_types[name] = ("string", None)
        else:
            raise _SlowPath()
        selected = [names[i] for i in wanted]
        table = table.rename_columns(selected)
        if b'"' in data and any(pa.types.is_string(t.type) for t in table.columns):
            if not self.step.support_multi_line and has_line_break(table):
                raise _SlowPath()  # the exact tokenizer reports the line (P15)
        return self._finish(table, restore)

    def _arrow_read_type(self, name: str):
        ctype = self.types[name]
        kind = ctype.kind
        if name in self.overrides or kind in ("string", "null"):
            return ("string", None)
        if kind == "datetime":
            if ctype.family.assembled:
                return ("string", None)  # rewritten as ISO text after the read
            zones = self.zones.get(name, {False})
            if ctype.family.strptime is None and len(zones) > 1:
                return ("string", None)  # zoned and local values mixed: converted after the read
            return ("datetime_utc" if True in zones and ctype.family.strptime is None else "datetime",
                    ctype.family)
        return (kind, None)

    def _csv_options(self, delimiter, internal, has_header, read_types, names, wanted) -> dict:
        empty_as_string = self.step.empty_as_string
        column_types, parsers = {}, []
        for name, column in zip(names, internal):
            kind, family = read_types[name]
            if kind in ("datetime", "datetime_utc"):
                column_types[column] = pa.timestamp("ns", "UTC" if kind == "datetime_utc" else None)
                parsers.append(family.strptime or pacsv.ISO8601)
            else:
                column_types[column] = _ARROW_TYPES[kind]
        return dict(
            read_options=pacsv.ReadOptions(column_names=internal, skip_rows=1 if has_header else 0,
                                           use_threads=True, block_size=_csv_pieces.READ_BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                              escape_char=False, ignore_empty_lines=True,
                                              newlines_in_values=self.step.support_multi_line),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types, include_columns=[internal[i] for i in wanted],
                null_values=[] if empty_as_string else [""], strings_can_be_null=not empty_as_string,
                quoted_strings_can_be_null=False, true_values=sorted(self.bool_tokens & _TRUE) or ["true"],
                false_values=sorted(self.bool_tokens & _FALSE) or ["false"], timestamp_parsers=_unique(parsers) or None,
                check_utf8=True),
        )

    def _finish(self, table: pa.Table, restore) -> pa.Table:
        """Restore delimiters, convert string-read columns, apply overrides, record widenings."""
        from ..conversions import convert_array

        arrays = []
        for name, column in zip(table.column_names, table.columns):
            kind = column.type
            if pa.types.is_timestamp(kind) and kind.tz is not None:
                column = column.cast(pa.timestamp("ns"))
            elif pa.types.is_string(kind) or pa.types.is_null(kind):
                # Columns pyarrow typed are kept chunked as they are: copying them costs time.
                needs_conversion = name in self.overrides or self.types[name].kind != "string"
                if restore or needs_conversion:
                    column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
                if restore:
                    column = pc.replace_substring(column.cast(pa.string()), *restore)
                if name in self.overrides:
                    column = convert_array(column, self.overrides[name])
                elif needs_conversion:
                    column, self.types[name] = convert_widening(column, self.types[name], self.step.empty_as_string)
            arrays.append(column)
        return pa.Table.from_arrays(arrays, names=table.column_names)

    # --- slow path: exact Python tokenizer ---------------------------------------------------------

    def _read_slow(self, data, delimiter, restore, names, has_header, display) -> pa.Table:
        text = check_utf8(data, display)
        records = iter_records(text, delimiter, self.step.support_multi_line, display)
        if has_header:
            next(records, None)
        rows = [fields for _, fields in records]
        width = max([len(names)] + [len(row) for row in rows])
        if width > len(names):
            names = self._extend(names, width)
            for position, name in enumerate(names):
                if name not in self.types:
                    self._infer(name, [row[position] if position < len(row) else None
                                       for row in rows[:self.sample_size]])
        columns: list = [[] for _ in range(width)]
        for row in rows:
            if len(row) < width:
                row = row + [None] * (width - len(row))
            for values, value in zip(columns, row):
                values.append(value)
        table = pa.Table.from_arrays([pa.array(values, pa.string()) for values in columns], names=names)
        return self._finish(table, restore)


class _SlowPath(Exception):
    """pyarrow cannot read this file as typed; use the exact tokenizer."""


_ARROW_TYPES = {"string": pa.string(), "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}


def _resolve_date_conflicts(read_types: dict) -> None:
    """timestamp_parsers apply to every column: month-first and day-first cannot share a read."""
    families = {family.name for kind, family in read_types.values() if family is not None}
    for name, (kind, family) in list(read_types.items()):
        if family is not None and family.order == "dmy" and family.name.replace("dmy", "mdy") in families:
            read_types[name] = ("string", None)


def _unique(items: list) -> list:
    result: list = []
    for item in items:
        if not any(item is seen or (isinstance(item, str) and item == seen) for seen in result):
            result.append(item)
    return result


def _header_names(fields) -> list[str]:
    """Header fields → column names, as the reference makes them: blanks around a name are trimmed
    (`` name `` → ``name``), blanks become ColumnN, duplicates get _1, _2, ..."""
    names = [(field or "").strip() or f"Column{position}" for position, field in enumerate(fields or [], 1)]
    return _dedupe(names)


def _dedupe(names: list[str]) -> list[str]:
    seen: set = set()
    result = []
    for name in names:
        candidate, suffix = name, 0
        while candidate in seen:
            suffix += 1
            candidate = f"{name}_{suffix}"
        seen.add(candidate)
        result.append(candidate)
    return result


class DelimitedFormat(TextFormat):
    """Delimited text to the executor: ``partition_size`` byte chunks; a column whose type
    differs between files is read again as text (policy P2)."""

    def read_files(self, files, step, columns=None, **options):
        return read_delimited(files, step, columns, **options)

    def read_in_context(self, files, step, columns, wanted, **options):
        """The earlier files give the header (``from_first_file``) and the type-inference sample,
        as in the read of all of them; only the ``wanted`` ones are read beyond their head."""
        if len(wanted) == len(files):
            return self.read_files(files, step, columns, **options)
        return self.read_files(files, step, columns, only=frozenset(wanted), **options)

    def ranged(self, step):
        """UTF-8 text split at one-byte delimiters, with no record spanning lines: a chunk of a
        file parses alone (when its bytes hold no quote or blank line, checked per file)."""
        return (not step.support_multi_line and validate_encoding(step.encoding) == "utf8"
                and len(validate_delimiter(step.delimiter).encode("utf-8")) == 1)

    def header_lines(self, step, position):
        header_is_data = step.header == "no_header" or (step.header == "from_first_file" and position > 0)
        return 0 if header_is_data else 1

    def retry_step(self, step, columns):
        """``step`` reading ``columns`` as text, unless types are not inferred or an override
        already names one of them.

        Type inference looks at the first rows only; when a later file holds text in a column
        inferred as a number, the values are all kept as written (policy P2) by reading again.
        """
        from dataclasses import replace

        from ..types import DataType

        infer = step.infer_column_types
        if infer is False or not columns:
            return None
        options = infer if isinstance(infer, InferOptions) else InferOptions()
        if any(name in {n for names, _ in options.overrides for n in names} for name in columns):
            return None
        options = replace(options, overrides=options.overrides + ((tuple(columns), DataType.to_string()),))
        return replace(step, infer_column_types=options)


FORMAT = DelimitedFormat()
