"""Parquet data files (the default output format): every Arrow type, exactly, read back as written.

Example:
    >>> tbl.to_parquet_files("./outputs/clean", row_group_size=500_000)   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UserErrorException
from ..plan import ReadParquet

_COMPRESSIONS = ("snappy", "zstd", "gzip", "brotli", "lz4", "none")


class ParquetFormat:
    """``compression`` for every column; ``row_group_size`` rows at most per row group (row groups
    are the partitions readers split the file into; default: one per table of the stream, at most
    pyarrow's 1 Mi rows)."""

    extension = "parquet"

    def __init__(self, compression: str = "snappy", row_group_size: int | None = None):
        if compression not in _COMPRESSIONS:
            raise UserErrorException(f"compression must be one of {list(_COMPRESSIONS)}, not {compression!r}")
        if row_group_size is not None and (isinstance(row_group_size, bool) or not isinstance(row_group_size, int)
                                           or row_group_size < 1):
            raise UserErrorException(f"row_group_size must be a positive integer or None, not {row_group_size!r}")
        self.compression = compression
        self.row_group_size = row_group_size

    def check(self, schema: pa.Schema) -> None:
        """Parquet holds every type the readers produce."""

    def open(self, handle, schema: pa.Schema) -> "_ParquetSink":
        return _ParquetSink(pq.ParquetWriter(handle, schema, compression=self.compression), self.row_group_size)

    def read_back(self, schema: pa.Schema, sinks: Sequence) -> tuple:
        return ReadParquet(), ()


class _ParquetSink:
    def __init__(self, writer: pq.ParquetWriter, row_group_size: int | None):
        self._writer = writer
        self._row_group_size = row_group_size

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=self._row_group_size)

    def close(self) -> None:
        self._writer.close()
