"""JSON lines data files: one object per row, ``null`` for missing values, nested values as JSON.

JSON has no time type: times are written as ISO 8601 text and the MLTable converts them back
(``convert_column_types`` with the format written), so they read back as datetimes. Binary
columns are refused, naming them.

Example:
    >>> tbl.to_json_lines_files("./outputs/jsonl")                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import UserErrorException
from ..plan import ReadJsonLines
from ..types import DataType

SECONDS = "%Y-%m-%dT%H:%M:%S"
FRACTIONS = "%Y-%m-%dT%H:%M:%S.%f"


class JsonLinesFormat:
    extension = "jsonl"

    def check(self, schema: pa.Schema) -> None:
        for field in schema:
            if _has_binary(field.type):
                raise UserErrorException(
                    f"Column '{field.name}' holds {field.type} values, which JSON cannot hold. Drop it "
                    f"(drop_columns('{field.name}')) or write Parquet (to_parquet_files).")

    def open(self, handle, schema: pa.Schema) -> "_JsonLinesSink":
        return _JsonLinesSink(handle, schema)

    def read_back(self, schema: pa.Schema, sinks: Sequence["_JsonLinesSink"]) -> tuple:
        conversions = []
        for field in schema:
            if pa.types.is_timestamp(field.type):
                fractions = any(field.name in sink.fractions for sink in sinks)
                conversions.append(((field.name,), DataType.to_datetime([SECONDS, FRACTIONS] if fractions
                                                                        else SECONDS)))
        return ReadJsonLines(), tuple(conversions)


def _has_binary(kind: pa.DataType) -> bool:
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return True
    if pa.types.is_struct(kind):
        return any(_has_binary(kind.field(index).type) for index in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _has_binary(kind.value_type)
    return False


def _without_nan(value):
    """JSON has no NaN or infinity: they are written as null, as pandas writes them."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    return value


class _JsonLinesSink:
    def __init__(self, handle, schema: pa.Schema):
        self._handle = handle
        self._times = [field.name for field in schema if pa.types.is_timestamp(field.type)]
        self._nested = any(pa.types.is_nested(field.type) for field in schema)
        self.fractions: set[str] = set()  # time columns that needed sub-second digits

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        for name in self._times:
            table = table.set_column(table.schema.get_field_index(name), name, self._as_text(table.column(name), name))
        if self._nested:
            # Row by row through Python's json: pandas would turn nested ints into floats.
            text = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False) + "\n"
                           for row in _without_nan(table.to_pylist()))
        else:
            frame = table.to_pandas(date_as_object=False)  # not self_destruct: a slice shares buffers
            text = frame.to_json(orient="records", lines=True, force_ascii=False, default_handler=str)
            text = text if text.endswith("\n") else text + "\n"
        self._handle.write(text.encode("utf-8"))

    def _as_text(self, column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
        """ISO 8601 text for a time column (UTC for zone-aware times); fractions only where needed."""
        if column.type.tz is not None:
            column = column.cast(pa.timestamp(column.type.unit))
        whole_seconds = column.cast(pa.timestamp("s"), safe=False).cast(column.type)
        if not pc.all(pc.fill_null(pc.equal(column, whole_seconds), True)).as_py():
            micros = column.cast(pa.timestamp("us"), safe=False)
            if not pc.all(pc.fill_null(pc.equal(micros.cast(column.type), column), True)).as_py():
                raise UserErrorException(
                    f"Column '{name}' holds times with nanoseconds, which the JSON lines reader cannot read back "
                    "exactly. Write Parquet (to_parquet_files), or round the column first.")
            self.fractions.add(name)
            return pc.strftime(micros, format=SECONDS)  # %S of a µs time carries its six digits
        return pc.strftime(whole_seconds.cast(pa.timestamp("s")), format=SECONDS)

    def close(self) -> None:
        pass
