"""``partition_by``: rows go to ``key=value`` folders (hive style), the keys leave the data files.

The written MLTable takes the keys back from the folder names
(``extract_columns_from_partition_format``) and converts them to their type again, so other
engines (``pyarrow.dataset(..., partitioning="hive")``, Spark) and ours read the same table.
Keys may be integer, boolean or text columns whose values are non-empty and fit in one folder
name (no ``/``, ``\\`` or ``.``); anything else is an error naming the column and the value.

Example:
    >>> layout = PartitionLayout.of(pa.schema([("year", pa.int64()), ("v", pa.string())]), ["year"])
    >>> [(folder, piece.column_names) for folder, piece in layout.split(pa.table({"year": [2024], "v": ["a"]}))]
    [('year=2024', ['v'])]
    >>> layout.partition_format("parquet")
    'year={year}/*.parquet'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UserErrorException
from ..types import DataType

_FOLDER_VALUE = re.compile(r"[^/.\\]+")


@dataclass(frozen=True)
class PartitionLayout:
    keys: tuple
    schema: pa.Schema        # the stream's
    file_schema: pa.Schema   # what the data files hold: the stream's without the keys

    @staticmethod
    def of(schema: pa.Schema, partition_by: Sequence[str] | str | None) -> "PartitionLayout":
        if partition_by is None or partition_by == []:
            return PartitionLayout((), schema, schema)
        keys = [partition_by] if isinstance(partition_by, str) else partition_by
        if not isinstance(keys, (list, tuple)) or not all(isinstance(key, str) for key in keys) or \
                len(set(keys)) != len(keys):
            raise UserErrorException(f"partition_by must be a column name or a list of distinct column names, "
                                     f"not {partition_by!r}")
        missing = [key for key in keys if key not in schema.names]
        if missing:
            raise UserErrorException(f"partition_by names column(s) {missing} that the table does not have; its "
                                     f"columns are {schema.names}.")
        for key in keys:
            kind = schema.field(key).type
            if not (pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_string(kind)
                    or pa.types.is_large_string(kind)):
                raise UserErrorException(
                    f"Cannot partition by column '{key}' of type {kind}: partition columns must hold integers, "
                    "booleans or text (they become folder names). Convert it first, e.g. "
                    f"convert_column_types({{'{key}': 'string'}}), or partition by another column.")
        if len(keys) == len(schema.names):
            raise UserErrorException("partition_by names every column: at least one column must stay in the data "
                                     "files.")
        file_schema = pa.schema([field for field in schema if field.name not in keys], metadata=schema.metadata)
        return PartitionLayout(tuple(keys), schema, file_schema)

    def split(self, table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
        """``(folder, rows)`` pieces of ``table``; rows keep their order within each folder."""
        if not self.keys:
            yield "", table
            return
        if table.num_rows == 0:
            return
        order = pc.sort_indices(table, sort_keys=[(key, "ascending") for key in self.keys])
        table = table.take(order)
        keys = table.select(list(self.keys))
        starts = {0}  # where a run of equal keys begins: a row whose keys differ from the row before
        for key in self.keys:
            column = keys.column(key).combine_chunks()
            changed = pc.fill_null(pc.not_equal(column.slice(1), column.slice(0, len(column) - 1)), True)
            starts.update(index + 1 for index in pc.indices_nonzero(changed).to_pylist())
        boundaries = sorted(starts) + [table.num_rows]
        data = table.drop_columns(list(self.keys))
        for start, stop in zip(boundaries, boundaries[1:]):
            values = [keys.column(key)[start].as_py() for key in self.keys]
            yield "/".join(f"{key}={_folder_value(key, value)}" for key, value in zip(self.keys, values)), \
                data.slice(start, stop - start)

    def pattern(self, file_glob: str) -> str:
        """The glob naming the data files: ``key=*/.../<file_glob>``."""
        return "/".join([f"{key}=*" for key in self.keys] + [file_glob])

    def partition_format(self, extension: str) -> str:
        return "/".join([f"{key}={{{key}}}" for key in self.keys] + [f"*.{extension}"])

    def conversions(self) -> tuple:
        """Each key back to its type (folder names are text)."""
        out = []
        for key in self.keys:
            kind = self.schema.field(key).type
            target = DataType.to_int() if pa.types.is_integer(kind) else \
                DataType.to_bool() if pa.types.is_boolean(kind) else DataType.to_string()
            out.append(((key,), target))
        return tuple(out)


def _folder_value(key: str, value) -> str:
    text = str(value) if value is not None else ""
    if value is None or not _FOLDER_VALUE.fullmatch(text):
        shown = "null" if value is None else repr(value)
        raise UserErrorException(
            f"Cannot partition by column '{key}': its value {shown} cannot be a folder name (partition values must be "
            "non-null and hold no '/', '\\\\' or '.'). Filter those rows out or fill the value first, e.g. "
            f"filter('{key} != None').")
    return text
