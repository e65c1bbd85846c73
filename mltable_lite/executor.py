"""Plan → files → concurrent reads → transforms → Arrow tables → pandas.

Everything is a generator: closing the stream (``take`` has enough rows) stops the reads. Readers
run ahead on a small thread pool so that file I/O and parsing overlap, while tables come out in
file order.

Example:
    >>> from mltable_lite.executor import to_pandas
    >>> to_pandas(mltable.from_parquet_files([{"file": "a.parquet"}])._plan)   # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

import pyarrow as pa

from .plan import Plan
from .storage import FileRef, expand_paths
from .transforms import apply as apply_transform

STREAM_FIELD_METADATA = {b"mltable_lite.kind": b"stream"}
_LOOKAHEAD = max(2, min(8, (os.cpu_count() or 2)))


def list_files(plan: Plan, storage_options: dict | None = None) -> list[FileRef]:
    return expand_paths(plan.paths, storage_options)


def stream_tables(plan: Plan, storage_options: dict | None = None) -> Iterator[pa.Table]:
    """The plan's result as a stream of Arrow tables (the unit of every terminal call)."""
    files = list_files(plan, storage_options)
    if plan.reader is None:
        stream: Iterable[pa.Table] = [paths_table(files)] if files else []
    else:
        stream = _read(files, plan)
    for transform in plan.transforms:
        stream = apply_transform(transform, stream)
    return iter(stream)


def paths_table(files: list[FileRef]) -> pa.Table:
    """``from_paths``: one ``Path`` column whose values become StreamInfo objects in pandas."""
    field = pa.field("Path", pa.string(), metadata=STREAM_FIELD_METADATA)
    return pa.table([pa.array([f.display for f in files], pa.string())], schema=pa.schema([field]))


def _read(files: list[FileRef], plan: Plan) -> Iterator[pa.Table]:
    from .readers import reader_for

    step = plan.reader
    read = reader_for(step)
    for index, table in read(files, step):
        if step.include_path_column:
            table = _with_path_column(table, step.path_column, files[index].display)
        yield table


def _with_path_column(table: pa.Table, name: str, value: str) -> pa.Table:
    if name in table.column_names:
        table = table.drop_columns([name])
    column = pa.array([value] * table.num_rows, pa.string()) if table.num_rows else pa.array([], pa.string())
    return table.add_column(0, name, column)


# --- concurrency --------------------------------------------------------------------------------


def ordered_map(function: Callable, items: Iterable, workers: int = _LOOKAHEAD) -> Iterator:
    """``map`` on a thread pool, results in input order, at most ``workers`` running ahead.

    Readers use it to overlap I/O and parsing of several files without holding them all in memory.
    """
    items = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mltable_lite") as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(function, item))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


# --- collecting ---------------------------------------------------------------------------------


def to_arrow(plan: Plan, storage_options: dict | None = None) -> pa.Table:
    """The whole result as one Arrow table with one schema (columns unified by name)."""
    tables = list(stream_tables(plan, storage_options))
    return concat(tables)


def concat(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    schema = unified_schema([t.schema for t in tables])
    return pa.concat_tables([_conform(table, schema) for table in tables])


def unified_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """Union of columns by name in first-seen order; types promoted (ints → wider int → float)."""
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise _MixedTypes() from None


class _MixedTypes(Exception):
    """Columns of incompatible types across files: only pandas object columns can hold them."""


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def to_pandas(plan: Plan, storage_options: dict | None = None):
    """The result as a pandas DataFrame with the reference's dtypes and a fresh RangeIndex."""
    tables = list(stream_tables(plan, storage_options))
    if not tables:
        import pandas as pd

        return pd.DataFrame()
    try:
        table = concat(tables)
    except _MixedTypes:
        return _concat_in_pandas(tables)
    del tables
    return table_to_pandas(table)


def _concat_in_pandas(tables: list[pa.Table]):
    import pandas as pd

    frames = [table_to_pandas(table) for table in tables]
    mixed = {}
    for frame in frames:
        for name, dtype in frame.dtypes.items():
            mixed.setdefault(name, set()).add(str(dtype))
    # Columns whose dtypes differ keep each value as the Python object it was (1, 'two').
    frames = [frame.astype({name: object for name, kinds in mixed.items() if len(kinds) > 1 and name in frame})
              for frame in frames]
    return pd.concat(frames, ignore_index=True, sort=False)


def table_to_pandas(table: pa.Table):
    """Arrow → pandas with the reference's conventions (see COMPATIBILITY.md §18)."""
    table = _decode_dictionaries(table)
    stream_columns = [field.name for field in table.schema
                      if field.metadata and field.metadata.get(b"mltable_lite.kind") == b"stream"]
    frame = table.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=False,
                            split_blocks=True, self_destruct=True)
    if stream_columns:
        from .streams import StreamInfo

        for name in stream_columns:
            frame[name] = [None if value is None else StreamInfo(value) for value in frame[name].tolist()]
            frame[name] = frame[name].astype(object)
    return frame


def _decode_dictionaries(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(index, field.with_type(field.type.value_type),
                                     table.column(index).cast(field.type.value_type))
    return table
