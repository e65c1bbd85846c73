"""Delimited text (CSV, TSV...) data files, written so that ``from_delimited_files`` reads them back
with the same types: the MLTable pins each column's type (``column_type_overrides``) instead of
leaving it to inference, which would make a text column of digits a number or a 0/1 column bool.

Text cannot hold everything parquet can: nested and binary columns are refused (naming them);
dates come back as datetimes and time-zone-aware times as UTC without a zone, as the reader
infers them (documented in ``docs/writing.md``).

Example:
    >>> tbl.to_delimited_files("./outputs/csv", delimiter="\\t")     # doctest: +SKIP
"""

from __future__ import annotations

import codecs
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..errors import UserErrorException
from ..plan import InferOptions, ReadDelimited
from ..types import DataType

# Encodings (normalised names, as the readers take them) → the Python codec that writes them. The
# readers decode latin-1 as windows-1252 (0x80 is €), so both are written as windows-1252.
_CODECS = {"utf8": None, "utf8bom": "utf-8-sig", "ascii": "ascii", "utf16": "utf-16", "iso88591": "cp1252",
           "latin1": "cp1252", "windows1252": "cp1252"}


class DelimitedFormat:
    """``delimiter`` (one character), ``header`` (write the column names first) and ``encoding``
    (any the reader takes)."""

    def __init__(self, delimiter: str = ",", header: bool = True, encoding: str = "utf8"):
        from ..readers.delimited_options import validate_delimiter, validate_encoding

        delimiter = validate_delimiter(delimiter)
        if len(delimiter) != 1:
            raise UserErrorException(f"Writing delimited files takes a one-character delimiter, not {delimiter!r}.")
        if not isinstance(header, bool):
            raise UserErrorException(f"`header` must be True (write the column names) or False, not {header!r}")
        self.delimiter = delimiter
        self.header = header
        self.encoding = validate_encoding(encoding)
        if self.encoding not in _CODECS:
            raise UserErrorException(f"Writing delimited files in {encoding!r} is not supported; use one of "
                                     f"{sorted(_CODECS)}.")
        self.extension = "tsv" if delimiter == "\t" else "csv"

    def check(self, schema: pa.Schema) -> None:
        for field in schema:
            if not _writable(field.type):
                raise UserErrorException(
                    f"Column '{field.name}' holds {field.type} values, which delimited text cannot hold. Drop it "
                    f"(drop_columns('{field.name}')), convert it to text, or write Parquet (to_parquet_files).")

    def open(self, handle, schema: pa.Schema) -> "_DelimitedSink":
        return _DelimitedSink(handle, schema, self)

    def read_back(self, schema: pa.Schema, sinks: Sequence["_DelimitedSink"]) -> tuple:
        overrides = tuple(((field.name,), dtype) for field in schema
                          if (dtype := _pinned_type(field.type)) is not None)
        step = ReadDelimited(delimiter=self.delimiter,
                             header="all_files_same_headers" if self.header else "no_header",
                             support_multi_line=any(sink.multi_line for sink in sinks),
                             encoding=self.encoding,
                             infer_column_types=InferOptions(overrides=overrides) if overrides else True)
        return step, ()


def _writable(kind: pa.DataType) -> bool:
    return not (pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                or pa.types.is_fixed_size_binary(kind) or pa.types.is_dictionary(kind))


def _pinned_type(kind: pa.DataType) -> DataType | None:
    """The type to read a column back as; ``None`` leaves it to inference (dates and times, which
    the reader recognises in the form written)."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_decimal(kind):
        return DataType.to_string()
    if pa.types.is_integer(kind):
        return DataType.to_int()
    if pa.types.is_floating(kind):
        return DataType.to_float()
    if pa.types.is_boolean(kind):
        return DataType.to_bool()
    return None


class _DelimitedSink:
    def __init__(self, handle, schema: pa.Schema, file_format: DelimitedFormat):
        codec = _CODECS[file_format.encoding]
        self._output = handle if codec is None else _Transcoded(handle, codec, file_format.encoding)
        options = pcsv.WriteOptions(include_header=file_format.header, delimiter=file_format.delimiter,
                                    quoting_style="needed")
        self._writer = pcsv.CSVWriter(self._output, schema, write_options=options)
        self._text_columns = [field.name for field in schema
                              if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)]
        self.multi_line = False  # whether a value holds a line break (the reader must then allow them)

    def write(self, table: pa.Table) -> None:
        if not self.multi_line:
            self.multi_line = any(pc.any(pc.match_substring_regex(table.column(name), r"[\r\n]")).as_py()
                                  for name in self._text_columns)
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
        if isinstance(self._output, _Transcoded):
            self._output.finish()


class _Transcoded:
    """A binary sink that takes UTF-8 (what Arrow writes) and passes it on in another encoding."""

    def __init__(self, handle, codec: str, encoding: str):
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._encoder = codecs.getincrementalencoder(codec)()
        self._encoding = encoding
        self.closed = False

    def write(self, data) -> int:
        text = self._decoder.decode(bytes(data))
        try:
            self._handle.write(self._encoder.encode(text))
        except UnicodeEncodeError as error:
            raise UserErrorException(
                f"The value {error.object[max(0, error.start - 20):error.end + 20]!r} holds "
                f"{error.object[error.start:error.end]!r}, which {self._encoding} cannot encode. Write utf8, or "
                "replace those characters first.") from None
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        self._handle.write(self._encoder.encode(self._decoder.decode(b"", final=True), final=True))

    def close(self) -> None:  # the handle belongs to the destination, which commits it
        self.closed = True
