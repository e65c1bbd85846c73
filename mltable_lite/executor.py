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

from .errors import UserErrorException
from .logs import get_logger, log_read_plan
from .plan import ExtractPartitionFormat, Plan, ReadParquet, SelectPartitions
from .storage import FileRef, expand_paths
from .transforms import apply as apply_transform

STREAM_FIELD_METADATA = {b"mltable_lite.kind": b"stream"}
_LOOKAHEAD = max(2, min(8, (os.cpu_count() or 2)))
_log = get_logger(__name__)


def list_files(plan: Plan, storage_options: dict | None = None) -> list[FileRef]:
    from .plan import ReadDeltaLake

    if isinstance(plan.reader, ReadDeltaLake):
        # The table folder also holds _delta_log and files later commits removed: the Delta log
        # (through deltalake) says which data files make up the snapshot.
        from .readers.delta import delta_files

        return delta_files(plan, storage_options)
    return expand_paths(plan.paths, storage_options)


def stream_tables(plan: Plan, storage_options: dict | None = None, optimize: bool = True,
                  files: list[FileRef] | None = None, wrap_reader: Callable | None = None) -> Iterator[pa.Table]:
    """The plan's result as a stream of Arrow tables (the unit of every terminal call).

    ``optimize=False`` reads everything and skips nothing: the same result, for tests.
    ``files`` is the plan's listing when the caller already has it (a listing is done once per
    execution: on remote stores it costs round trips). ``wrap_reader`` decorates the format's
    read function (progress counting, schema-only probing) without changing its contract.
    """
    from .optimizer import ReadPlan, optimise

    if files is None:
        files = list_files(plan, storage_options)
    read_plan = optimise(plan, files) if optimize else ReadPlan()
    log_read_plan(_log, type(plan.reader).__name__ if plan.reader else "paths only", files, read_plan.describe())
    if plan.reader is None:
        per_file = any(isinstance(step, ExtractPartitionFormat) for step in plan.transforms)
        stream: Iterable[pa.Table] = _paths_tables(files, per_file)
    else:
        stream = _read(files, plan, read_plan, wrap_reader)
    stream = _with_partition_columns(plan, files, stream)
    for transform in plan.transforms:
        if not isinstance(transform, (ExtractPartitionFormat, SelectPartitions)):
            stream = apply_transform(transform, stream)
    return iter(stream)


def _paths_tables(files: list[FileRef], per_file: bool) -> Iterator[tuple[int, pa.Table]]:
    """``from_paths`` rows: one table for all files, or one per file when partition columns
    (computed per file) are to be added."""
    if not per_file:
        if files:
            yield 0, paths_table(files)
        return
    for index, file in enumerate(files):
        yield index, paths_table([file])


def _with_partition_columns(plan: Plan, files: list[FileRef], stream) -> Iterator[pa.Table]:
    """Add partition-format columns (placed and typed as the reader does); the step works wherever it stands (P17)."""
    steps = [step for step in plan.transforms if isinstance(step, ExtractPartitionFormat)]
    if not steps:
        for _, table in stream:
            yield table
        return
    from .partitions import partition_columns

    computed = [partition_columns(step, files, plan.reader) for step in steps]
    has_path = plan.reader is None or plan.reader.include_path_column
    for index, table in stream:
        position = 1 if has_path else 0
        for columns in computed:
            table = columns.add_to(table, index, position)
            position += len(columns.keys)
        yield table


def paths_table(files: list[FileRef]) -> pa.Table:
    """``from_paths``: one ``Path`` column whose values become StreamInfo objects in pandas."""
    field = pa.field("Path", pa.string(), metadata=STREAM_FIELD_METADATA)
    return pa.table([pa.array([f.display for f in files], pa.string())], schema=pa.schema([field]))


def _read(files: list[FileRef], plan: Plan, read_plan, wrap_reader=None) -> Iterator[tuple[int, pa.Table]]:
    from .readers import reader_for

    step = plan.reader
    read = reader_for(step) if wrap_reader is None else wrap_reader(reader_for(step))
    # Fetching small remote files ahead is for reads of the data; a schema probe opens footers only.
    fetch_ahead = getattr(wrap_reader, "reads_data", True)
    selected = _selected_partitions(plan, files)
    if selected is None and read_plan.keep_files is None and not read_plan.row_group_filters:
        files = _prefetched(files) if fetch_ahead else files
        source = read(files, step, read_plan.columns)
    else:
        if selected is None:
            selected = _partitions(plan, files)
        if read_plan.keep_files is not None:
            keep = set(read_plan.keep_files)
            selected = [(index, part) for index, part in selected if index in keep] or _schema_only(selected)
        considered = {index for index, _ in selected}
        if read_plan.row_group_filters:
            from .optimizer import prune_row_groups

            selected = prune_row_groups(files, selected, read_plan.row_group_filters)
        by_file: dict[int, list] = {index: [] for index in sorted(considered)} if isinstance(step, ReadParquet) else {}
        for file_index, part in selected:
            by_file.setdefault(file_index, []).append(part)
        files = _prefetched(files, only=set(by_file)) if fetch_ahead else files
        source = _read_selected(read, files, step, by_file, read_plan.columns)
    for index, table in source:
        if step.include_path_column:
            table = _with_path_column(table, step.path_column, files[index].display)
        yield index, table


def _prefetched(files: list[FileRef], only: set[int] | None = None) -> list[FileRef]:
    """Small remote files fetched ahead of the reader, many at once (local reads are untouched)."""
    if not any(file.store.remote for file in files):
        return files
    from .storage.remote import prefetched

    return prefetched(files, only)


# --- partitions ---------------------------------------------------------------------------------


def list_partitions(plan: Plan, storage_options: dict | None = None) -> list[tuple]:
    """Every partition as ``(file index, part)``: row groups for parquet, ``partition_size``
    byte chunks for text files, data files for Delta; one partition for ``from_paths``."""
    files = list_files(plan, storage_options)
    return _partitions(plan, files)


def _partitions(plan: Plan, files: list[FileRef]) -> list[tuple]:
    if plan.reader is None:
        return [(None, 0)] if files else []
    if isinstance(plan.reader, ReadParquet):
        from .readers.parquet import parquet_partitions

        return parquet_partitions(files)
    size = getattr(plan.reader, "partition_size", None)
    if size is None:
        return [(index, 0) for index in range(len(files))]
    # An empty file (a Spark ``_SUCCESS`` marker) is no partition; an unknown size (-1) is one.
    return [(index, part) for index, file in enumerate(files)
            for part in range(0 if file.size == 0 else max(1, -(-file.size // size)))]


def _selected_partitions(plan: Plan, files: list[FileRef]) -> list[tuple] | None:
    steps = [step for step in plan.transforms if isinstance(step, SelectPartitions)]
    if not steps:
        return None
    partitions = _partitions(plan, files)
    for step in steps:  # each selection indexes the partitions the previous one kept
        too_big = [index for index in step.indices if index >= len(partitions)]
        if too_big:
            raise UserErrorException(
                f'Invalid argument "partitions". Expected "< {len(partitions)}", Actual {too_big[0]}. '
                f"The table has {len(partitions)} partitions (get_partition_count()).")
        partitions = [partitions[index] for index in sorted(set(step.indices))]
    return partitions


def _schema_only(selected: list[tuple]) -> list[tuple]:
    """When pruning leaves nothing, still read the first partition so the result keeps its
    columns (policy P7); the pushed-down filter then removes its rows."""
    return selected[:1]


def _read_selected(read, files: list[FileRef], step, by_file: dict[int, list],
                   columns=None) -> Iterator[tuple[int, pa.Table]]:
    """Read the chosen partitions: ``by_file`` maps a file index to its parts (row groups for
    parquet, where an empty list yields the file's columns with no rows; byte chunks for text)."""
    if isinstance(step, ReadParquet):
        yield from read(files, step, columns, row_groups=by_file)
        return
    chosen = sorted(by_file)
    subset = [files[index] for index in chosen]
    size = getattr(step, "partition_size", None)
    # A reader may yield a big file as several tables: ``offset`` is where this one starts in the file.
    position_seen, offset, ranges = None, 0, []
    for position, table in read(subset, step, columns):
        if size is None:
            yield chosen[position], table
            continue
        file_index = chosen[position]
        file = files[file_index]
        parts = by_file[file_index]
        total = max(1, -(-file.size // size))
        if len(parts) == total:
            yield file_index, table
            continue
        if position != position_seen:
            position_seen, offset = position, 0
            ranges = _row_ranges(file, size, parts, header_lines=0 if step_header_is_data(step, position) else 1)
        for start, stop in ranges:
            start, stop = max(start - offset, 0), min(stop - offset, table.num_rows)
            if stop > start or offset == 0:  # the first table also gives empty parts their columns
                yield file_index, table.slice(min(start, table.num_rows), max(0, stop - start))
        offset += table.num_rows


def step_header_is_data(step, position: int) -> bool:
    header = getattr(step, "header", None)
    if header is None:  # JSON lines: no header line
        return True
    return header == "no_header" or (header == "from_first_file" and position > 0)


def _row_ranges(file: FileRef, size: int, parts: list[int], header_lines: int) -> list[tuple[int, int]]:
    """Rows of ``file`` whose lines start inside each chosen ``size``-byte chunk.

    A record belongs to the chunk its first byte is in. Counting is by physical lines, so files
    with blank lines or quoted line breaks may shift by a row at a chunk edge.
    """
    with file.store.open_input(file.path) as handle:
        data = handle.read()

    def lines_starting_before(offset: int) -> int:
        if offset <= 0:
            return 0
        offset = min(offset, len(data))
        return 1 + data.count(b"\n", 0, offset - 1) if offset < len(data) else data.count(b"\n") + (
            0 if data.endswith(b"\n") else 1)

    ranges = []
    for part in sorted(parts):
        start = max(0, lines_starting_before(part * size) - header_lines)
        stop = max(0, lines_starting_before((part + 1) * size) - header_lines)
        ranges.append((start, stop))
    return ranges


def _with_path_column(table: pa.Table, name: str, value: str) -> pa.Table:
    if name in table.column_names:
        table = table.drop_columns([name])
    return table.add_column(0, name, pa.repeat(pa.scalar(value, pa.string()), table.num_rows))


# --- concurrency --------------------------------------------------------------------------------


def ordered_map(function: Callable, items: Iterable, workers: int = _LOOKAHEAD) -> Iterator:
    """``map`` on a thread pool, results in input order, at most ``workers`` running ahead.

    Readers use it to overlap I/O and parsing of several files without holding them all in memory.
    """
    items = iter(items)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mltable_lite")
    pending: deque = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # A consumer that stopped early (take(n)) must not wait for the reads still running:
        # they finish on their own and their results are dropped.
        pool.shutdown(wait=False, cancel_futures=True)


# --- collecting ---------------------------------------------------------------------------------


def to_arrow(plan: Plan, storage_options: dict | None = None, optimize: bool = True,
             wrap_reader: Callable | None = None) -> pa.Table:
    """The whole result as one Arrow table with one schema (columns unified by name)."""
    table, unmergeable = _collect(plan, storage_options, optimize, wrap_reader=wrap_reader)
    if unmergeable is not None:
        raise UserErrorException(
            f"Column(s) {_conflicting_columns(unmergeable)} hold values of different types in different files, "
            "which one Arrow column cannot hold. Use to_pandas_dataframe() (they become object columns), or "
            "convert_column_types(...) to one type first.")
    return table


def _collect(plan: Plan, storage_options: dict | None, optimize: bool, files: list[FileRef] | None = None,
             wrap_reader: Callable | None = None):
    """Every table of the result merged into one, reconciling types that differ between files
    or pieces: JSON lines widen (P11), delimited columns are read again as text (P2).

    Returns ``(table, None)``, or ``(None, tables)`` when only pandas object columns can hold
    the values (parquet files disagreeing on a column's type).
    """
    if files is None:
        files = list_files(plan, storage_options)
    tables = list(stream_tables(plan, storage_options, optimize, files, wrap_reader))
    try:
        return concat(tables), None
    except _MixedTypes:
        from .plan import ReadJsonLines

        if isinstance(plan.reader, ReadJsonLines):
            from .readers.json_lines import harmonize_json_tables

            return concat(harmonize_json_tables(tables)), None
        retry = _as_text_where_mixed(plan, tables)
        if retry is not None:
            return _collect(retry, storage_options, optimize, files, wrap_reader)
        return None, tables


def concat(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    if any(_has_mixed_json(table.schema) for table in tables):
        from .readers.json_lines import harmonize_json_tables

        tables = harmonize_json_tables(tables)
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
    if table.schema.equals(schema, check_metadata=True):
        return table   # the common case (files alike): rebuilding costs ~30 µs a table
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            columns.append(column if column.type == field.type else _promoted(column, field))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _promoted(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    """``column`` as the unified type. Ints meeting floats become floats as pandas makes them
    (an int beyond 2**53 takes the nearest float, as in ``pd.concat``); a cast that would lose
    anything else means the files hold different kinds of values (handled by the caller)."""
    if pa.types.is_integer(column.type) and pa.types.is_floating(field.type):
        return column.cast(field.type, safe=False)
    try:
        return column.cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise _MixedTypes() from None


def to_pandas(plan: Plan, storage_options: dict | None = None, optimize: bool = True,
              wrap_reader: Callable | None = None):
    """The result as a pandas DataFrame with the reference's dtypes and a fresh RangeIndex."""
    table, unmergeable = _collect(plan, storage_options, optimize, wrap_reader=wrap_reader)
    if unmergeable is not None:
        return _concat_in_pandas(unmergeable)
    return table_to_pandas(table)


def _conflicting_columns(tables: list[pa.Table]) -> list[str]:
    """Columns whose (non-null) Arrow type differs between tables."""
    kinds: dict[str, set] = {}
    for table in tables:
        for field in table.schema:
            if not pa.types.is_null(field.type):
                kinds.setdefault(field.name, set()).add(str(field.type))
    return sorted(name for name, found in kinds.items() if len(found) > 1)


def _as_text_where_mixed(plan: Plan, tables: list[pa.Table]) -> Plan | None:
    """A delimited plan that reads the columns whose type changed between files as text.

    Type inference looks at the first rows only; when a later file holds text in a column
    inferred as a number, the values are all kept as written (policy P2) by reading again.
    """
    from dataclasses import replace

    from .plan import InferOptions, ReadDelimited
    from .types import DataType

    if not isinstance(plan.reader, ReadDelimited) or plan.reader.infer_column_types is False:
        return None
    mixed = tuple(_conflicting_columns(tables))
    infer = plan.reader.infer_column_types
    options = infer if isinstance(infer, InferOptions) else InferOptions()
    if not mixed or any(name in {n for names, _ in options.overrides for n in names} for name in mixed):
        return None
    options = replace(options, overrides=options.overrides + ((mixed, DataType.to_string()),))
    return plan.replace(reader=replace(plan.reader, infer_column_types=options))


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
    schema = table.schema  # read before self_destruct frees the table
    # One block per dtype, as pandas itself builds frames: pyarrow fills the blocks on all cores,
    # which matters in a fresh process where the copy is mostly first-touch page faults (one block
    # per column is filled on one thread, and pandas may consolidate it later, copying again).
    # self_destruct frees each Arrow column once copied, so peak memory stays near one copy.
    frame = table.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=False, self_destruct=True)
    if _has_mixed_json(schema):
        from .readers.json_lines import restore_mixed

        restore_mixed(frame, schema)
    if stream_columns:
        from .streams import StreamInfo

        for name in stream_columns:
            frame[name] = [None if value is None else StreamInfo(value) for value in frame[name].tolist()]
            frame[name] = frame[name].astype(object)
    return frame


def _has_mixed_json(schema: pa.Schema) -> bool:
    """JSON lines columns holding values of several types travel as JSON text (policy P11)."""
    return any(field.metadata and b"mltable_lite.json" in field.metadata for field in schema)


def _decode_dictionaries(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(index, field.with_type(field.type.value_type),
                                     table.column(index).cast(field.type.value_type))
    return table
