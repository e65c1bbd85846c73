"""The result as a stream of Arrow record batches with ONE schema, announced before the first batch.

``MLTable.to_batches()`` returns a :class:`pyarrow.RecordBatchReader`: its ``.schema`` is known
before any data is read, and every batch it yields has exactly that schema, whatever the files
hold further on. The schema is the one :func:`~mltable_lite.result_schema.collect_schema` gives
(parquet footers, the Delta log, the type-inference sample of text files): the types
``to_pandas_dataframe()`` would give, unless a text file holds, after the sample, a value the
sampled type cannot hold.

Where that happens the stream does not change the column's type mid-way (a consumer that has
allocated an int64 tensor cannot take a float one). Narrower tables are cast up (a parquet file
with int32 where the schema says int64; a column a later file lacks is all null), but a value
that needs a *wider* type raises a :class:`~mltable_lite.errors.UserErrorException` naming the
file, the line (or row) and the column, and how to fix it (convert the column first, or give
the reader a larger inference sample).

Memory holds one table of the reader (a piece of a big CSV file, a parquet row group) and one
batch at a time, whatever the number of files.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files([{"pattern": "examples/data/trips/*.csv"}])
    >>> reader = tbl.to_batches(columns=["fare", "trip_id"], batch_size=256)
    >>> reader.schema
    fare: double
    trip_id: int64
    >>> [batch.num_rows for batch in reader]
    [256, 256, 88]
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import pyarrow as pa

from .errors import UserErrorException
from .plan import ConvertColumnTypes, KeepColumns, Plan

__all__ = ["batch_reader", "check_batch_size", "check_columns"]


def batch_reader(plan: Plan, storage_options: dict | None = None, columns: Sequence[str] | None = None,
                 batch_size: int | None = None) -> pa.RecordBatchReader:
    """``plan``'s result as a :class:`pyarrow.RecordBatchReader` with one schema (module docstring).

    ``columns``: only these, in this order (projection is pushed into the read). ``batch_size``:
    every batch has exactly this many rows but the last; default: the batches as read.
    """
    from .executor import list_files
    from .result_schema import collect_schema

    batch_size = check_batch_size(batch_size)
    files = list_files(plan, storage_options)
    schema = collect_schema(plan, storage_options, files)
    if columns is not None:
        names = check_columns(columns, schema)
        schema = pa.schema([schema.field(name) for name in names], metadata=schema.metadata)
        plan = plan.with_transform(KeepColumns(tuple(names)))
    return pa.RecordBatchReader.from_batches(schema, _batches(plan, storage_options, schema, files, batch_size))


def check_batch_size(batch_size) -> int | None:
    """``batch_size`` if it is None or a positive integer, else the error that says so.

    Example:
        >>> check_batch_size(1024), check_batch_size(None)
        (1024, None)
    """
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise UserErrorException(f"batch_size must be a positive integer or None, not {batch_size!r}")
    return batch_size


def check_columns(columns, schema: pa.Schema) -> list[str]:
    """``columns`` as a list of names of ``schema``, or the error naming those it lacks.

    Example:
        >>> check_columns("b", pa.schema([("a", pa.int64()), ("b", pa.string())]))
        ['b']
    """
    names = [columns] if isinstance(columns, str) else columns
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(name, str) for name in names):
        raise UserErrorException("columns must be a column name or a non-empty list of column names")
    names = list(names)
    if len(set(names)) != len(names):
        raise UserErrorException(f"columns names a column twice: {names}")
    missing = [name for name in names if schema.get_field_index(name) < 0]
    if missing:
        raise UserErrorException(f"Column(s) {missing} are not in the table; its columns are {schema.names}. "
                                 "Names are case-sensitive.")
    return names


def fixed_tables(plan: Plan, storage_options: dict | None, schema: pa.Schema, files=None,
                 **stream_options) -> Iterator[pa.Table]:
    """The plan's tables, each with exactly ``schema`` (cast up where narrower, in its column
    order); a table that needs a wider type raises the error :func:`schema_error` describes.
    ``stream_options`` go to :func:`~mltable_lite.executor.stream_tables` (``piece``).

    Example:
        >>> tbl = mltable.load("examples/trips").keep_columns(["trip_id"])
        >>> [t.num_rows for t in fixed_tables(tbl._plan, None, tbl.collect_schema(), piece=(2,))]
        [200]
    """
    from .streaming import SchemaChanged, conformed_tables

    tracker = _LastFile()
    try:
        yield from conformed_tables(plan, storage_options, schema, files, wrap_reader=tracker, **stream_options)
    except SchemaChanged as changed:
        raise schema_error(plan, schema, changed.columns, tracker.file, tracker.position) from None


def _batches(plan: Plan, storage_options: dict | None, schema: pa.Schema, files,
             batch_size: int | None) -> Iterator[pa.RecordBatch]:
    tables = fixed_tables(plan, storage_options, schema, files)
    if batch_size is not None:
        yield from rebatched(tables, batch_size)
        return
    for table in tables:
        for batch in table.to_batches():
            if batch.num_rows:
                yield batch


def rebatched(tables, batch_size: int) -> Iterator[pa.RecordBatch]:
    """The rows of ``tables`` as batches of exactly ``batch_size`` rows, but the last.

    Example:
        >>> tables = [pa.table({"a": [1, 2, 3]}), pa.table({"a": [4, 5]})]
        >>> [batch.num_rows for batch in rebatched(tables, 2)]
        [2, 2, 1]
    """
    pending: list[pa.Table] = []
    held = 0
    for table in tables:
        while table.num_rows:
            size = min(batch_size - held, table.num_rows)
            pending.append(table.slice(0, size))
            table = table.slice(size)
            held += size
            if held == batch_size:
                yield _one_batch(pending)
                pending, held = [], 0
    if held:
        yield _one_batch(pending)


def _one_batch(tables: list[pa.Table]) -> pa.RecordBatch:
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    return table.combine_chunks().to_batches()[0]


class _LastFile:
    """A ``wrap_reader`` that remembers the file of the last table read: the tables of the
    stream come out in reading order, so that is the file of the table being conformed."""

    def __init__(self):
        self.file = None
        self.position = 0

    def __call__(self, read: Callable) -> Callable:
        def remembering(files, step, columns=None, **options):
            for position, table in read(files, step, columns, **options):
                self.file, self.position = files[position], position
                yield position, table

        return remembering


# --- the error ----------------------------------------------------------------------------------

_ALIASES = {"double": "float", "float": "float", "string": "string", "large_string": "string", "bool": "boolean",
            "int64": "int"}


def schema_error(plan: Plan, schema: pa.Schema, columns: list[str], file, position: int) -> UserErrorException:
    """The error for a table of the stream that does not fit ``schema`` in ``columns``: names the
    column, the file and (re-reading that file alone) the line or row of the first value that
    needs a wider type, and says how to fix it.

    Example:
        >>> plan = mltable.load("examples/trips")._plan
        >>> str(schema_error(plan, pa.schema([("a", pa.int64())]), ["b"], None, 0))[:60]
        "Column 'b' appears in a later file but not in the schema ann"
    """
    name = columns[0]
    where = f"file '{file.display}'" if file is not None else "a later file"
    if schema.get_field_index(name) < 0:
        return UserErrorException(
            f"Column '{name}' appears in {where} but not in the schema announced for the stream (taken from the "
            f"first rows, footers or the Delta log: {schema.names}). A stream keeps one schema: select the columns "
            "you need (to_batches(columns=[...]), keep_columns), or use to_pandas_dataframe().")
    target = schema.field(name).type
    found = _locate(plan, file, position, name, target) if file is not None else None
    detail = ""
    if found is not None:
        line, value, needed = found
        detail = f", {line} holds {value} (read as {needed})"
    alias = _ALIASES.get(str(found[2]) if found else "", "string")
    return UserErrorException(
        f"Column '{name}' is {target} in the schema announced for the stream (from the first rows, footers or the "
        f"Delta log), but in {where}{detail}, which {target} cannot hold. A stream keeps one schema for every "
        f"batch. Convert the column first (convert_column_types({{'{name}': '{alias}'}})), read it with a larger "
        "inference sample (infer_column_types={'sample_size': ...}), or use to_pandas_dataframe(), which widens "
        "the column.")


def _locate(plan: Plan, file, position: int, name: str, target: pa.DataType):
    """``(where, value, type)`` of the first value of ``name`` in ``file`` that ``target`` cannot
    hold, reading the file alone with the plan's reader; ``None`` when the column is not the file's
    own (a transform made it) or nothing there is out of place."""
    if plan.reader is None or any(isinstance(step, ConvertColumnTypes) and any(name in names for names, _ in
                                                                               step.conversions)
                                  for step in plan.transforms):
        return None
    from .readers import format_for
    from .readers.format import TextFormat
    from .streaming import fits

    form = format_for(plan.reader)
    offset = 0
    try:
        for _, table in form.read_files([file], plan.reader, [name]):
            if name in table.column_names and not fits(pa.field(name, table.column(name).type), pa.field(name, target)):
                column = table.column(name)
                row = _first_misfit(column, target)
                if row is not None:
                    number = offset + row
                    if isinstance(form, TextFormat):
                        where = f"line {number + 1 + form.header_lines(plan.reader, position)}"
                    else:
                        where = f"row {number + 1}"
                    shown = repr(column[row].as_py())
                    return where, shown if len(shown) <= 40 else shown[:37] + "...", column.type
            offset += table.num_rows
    except UserErrorException:
        return None
    return None


def _first_misfit(column: pa.ChunkedArray, target: pa.DataType) -> int | None:
    """The first row of ``column`` whose value ``target`` cannot hold (a safe cast fails); when
    every value casts but the types differ in kind, its first non-null value."""
    def fits(values) -> bool:
        try:
            values.cast(target, safe=True)
            return True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return False

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if fits(column):
        if column.null_count == len(column):
            return None
        import pyarrow.compute as pc

        return int(pc.index(pc.is_valid(column), True).as_py())
    low, high = 0, len(column)   # a value that does not fit is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(column.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    return low
