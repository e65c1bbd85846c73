"""Plan → files → concurrent reads → transforms → Arrow tables → pandas.

Everything is a generator: closing the stream (``take`` has enough rows) stops the reads. Readers
run ahead on a small thread pool so that file I/O and parsing overlap, while tables come out in
file order.

Example:
    >>> from mltable_lite.executor import to_pandas
    >>> to_pandas(mltable.from_parquet_files([{"file": "a.parquet"}])._plan)   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Sequence

import pyarrow as pa

from .errors import UserErrorException
from .logs import get_logger, log_read_plan
from .mixed_columns import harmonize_json_tables, has_mixed, restore_mixed
from .plan import ExtractPartitionFormat, Plan, RandomPercentSample, SelectPartitions, Take, TakeRandomSample
from .storage import FileRef, expand_paths
from .transforms import apply as apply_transform

STREAM_FIELD_METADATA = {b"mltable_lite.kind": b"stream"}
_log = get_logger(__name__)


def list_files(plan: Plan, storage_options: dict | None = None) -> list[FileRef]:
    """The plan's data files, in order, as its format lists them (``from_paths``: its paths)."""
    if plan.reader is None:
        return expand_paths(plan.paths, storage_options)
    from .readers import format_for

    return format_for(plan.reader).list_files(plan, storage_options)


def stream_tables(plan: Plan, storage_options: dict | None = None, optimize: bool = True,
                  files: list[FileRef] | None = None, wrap_reader: Callable | None = None,
                  piece: Sequence[int] | None = None, tag_partitions: bool = False) -> Iterator[pa.Table]:
    """The plan's result as a stream of Arrow tables (the unit of every terminal call).

    ``optimize=False`` reads everything and skips nothing: the same result, for tests.
    ``files`` is the plan's listing when the caller already has it (a listing is done once per
    execution: on remote stores it costs round trips). ``wrap_reader`` decorates the format's
    ``read_files`` (progress counting, schema-only probing) without changing its contract.
    ``piece``: read only the partitions at these positions of :func:`read_partitions` (one task
    of ``to_dask_dataframe``), each numbered and read as in the whole read (sampling draws per
    partition number; a delimited file's header and types come from the files before it). The
    transforms run on the piece's rows alone: the caller handles ``take`` and ``skip``.
    ``tag_partitions``: number the partitions (as a plan that samples does) and leave each
    table marked with its partition's number (:func:`mltable_lite.sampling.partition_of`), for a
    caller that runs later steps itself.
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
        stream = _read(files, plan, read_plan, wrap_reader, piece, _samples(plan) or tag_partitions)
    stream = _with_partition_columns(plan, files, stream)
    for transform in plan.transforms:
        if not isinstance(transform, (ExtractPartitionFormat, SelectPartitions)):
            stream = apply_transform(transform, stream)
    if _samples(plan) and not tag_partitions:
        from .sampling import untagged

        stream = map(untagged, stream)
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


def _read(files: list[FileRef], plan: Plan, read_plan, wrap_reader=None,
          piece: Sequence[int] | None = None, numbering: bool = False) -> Iterator[tuple[int, pa.Table]]:
    from .readers import format_for

    step = plan.reader
    form = format_for(step) if wrap_reader is None else format_for(step).with_reader(wrap_reader)
    # Fetching small remote files ahead is for reads of the data; a schema probe opens footers only.
    fetch_ahead = getattr(wrap_reader, "reads_data", True)
    early_stop = any(isinstance(step, Take) for step in plan.transforms)
    selected = _selected_partitions(plan, files)
    # Sampling draws per partition, numbered in the data read (after select_partitions, before
    # pruning): the tables are cut at partition edges and marked with that number.
    numbered = (selected if selected is not None else form.partitions(files, step)) if numbering else None
    context = None
    if piece is not None:
        everything = selected if selected is not None else form.partitions(files, step)
        numbered = everything if numbered is not None else None
        # The files the whole read opens (pruning keeps a file's columns, P7): the piece's
        # format reads its files among them, as the whole read would.
        kept = everything if read_plan.keep_files is None else [
            pair for pair in everything if pair[0] in set(read_plan.keep_files)]
        context = sorted({index for index, _ in kept or everything[:1]})
        selected = [everything[position] for position in piece]
        if not selected:
            return
    if piece is None and selected is None and read_plan.keep_files is None and not read_plan.row_group_filters:
        files = _prefetched(files, early_stop=early_stop) if fetch_ahead else files
        source = form.read(files, step, read_plan.columns)
        if numbered is not None:
            source = _cut_at_partitions(form, files, step, numbered, numbered, range(len(files)), source)
    else:
        # (Parquet footers are read once: counting again costs nothing.)
        every = form.partitions(files, step, read_plan.row_group_filters)
        if selected is None:
            selected = every
        listed = _part_counts(every)
        if read_plan.keep_files is not None:
            keep = set(read_plan.keep_files)
            kept = [(index, part) for index, part in selected if index in keep]
            if piece is not None and not kept and context != sorted({index for index, _ in selected}):
                return   # pruned away: the whole read gives the columns from another partition
            selected = kept or _schema_only(selected)
        # Every file still considered, even one whose parts pruning drops: it gives its columns (P7).
        parts: dict[int, list] = {index: [] for index, _ in selected}
        if read_plan.row_group_filters:
            selected = form.prune(files, selected, read_plan.row_group_filters)
        for file_index, part in selected:
            parts[file_index].append(part)
        # Only files read whole are fetched whole ahead: of the others, ranged reads fetch just
        # the parts chosen (a pruned parquet file: its footer, then one row group).
        whole = {index for index, chosen in parts.items() if len(chosen) == listed.get(index)}
        files = _prefetched(files, only=whole, early_stop=early_stop) if fetch_ahead else files
        if context is not None:
            context = sorted(set(context) | set(parts))
        # Rows the leading filters drop may be left unread, unless the rows are numbered (sampling
        # cuts them at partition edges by row counts) or a filter reads a column added after the read.
        filters = None if numbered is not None else _row_filters(plan, read_plan.row_group_filters)
        source = form.read(files, step, read_plan.columns, parts, context or None, row_filters=filters)
        if numbered is not None:
            source = _cut_at_partitions(form, files, step, numbered, selected, context or sorted(parts), source)
    for index, table in source:
        if step.include_path_column:
            table = _with_path_column(table, step.path_column, files[index].display)
        yield index, table


def _row_filters(plan: Plan, filters: list) -> list | None:
    """``filters`` (the plan's leading filters) when they read only the format's own columns:
    no partition-format column, no path column (both added after the read)."""
    if not filters or any(isinstance(step, ExtractPartitionFormat) for step in plan.transforms):
        return None
    if getattr(plan.reader, "include_path_column", False):
        from .expressions import referenced_columns

        if any(plan.reader.path_column in referenced_columns(tree) for tree in filters):
            return None
    return filters


def _samples(plan: Plan) -> bool:
    return any(isinstance(step, (TakeRandomSample, RandomPercentSample)) for step in plan.transforms)


def _cut_at_partitions(form, files: list[FileRef], step, numbered: list[tuple], reading: list[tuple],
                       files_read, source) -> Iterator[tuple[int, pa.Table]]:
    """``source``'s tables cut where a partition ends, each marked with its partition's number in
    ``numbered``. ``reading`` is the partitions read, in order; ``files_read`` the indices of the
    files the read opens, in order (a text format's header depends on the position)."""
    from .sampling import tagged

    number = {pair: position for position, pair in enumerate(numbered)}
    parts: dict[int, list] = {}
    for index, part in reading:
        parts.setdefault(index, []).append(part)
    position = {index: place for place, index in enumerate(files_read)}
    runs: dict[int, list] = {}  # file index → [[partition number, rows left (None: all)], ...]
    for index, table in source:
        if index not in runs:
            chosen = parts.get(index, [])
            counts = form.part_rows(files[index], step, chosen, position.get(index, 0)) if chosen else None
            runs[index] = ([[number[(index, chosen[0])] if chosen else 0, None]] if counts is None else
                           [[number[(index, part)], count] for part, count in zip(chosen, counts)])
        queue, offset = runs[index], 0
        while True:
            current = queue[0]
            if current[1] is None or len(queue) == 1 or table.num_rows == 0:
                # The last partition of the file takes what is left (rows counted by lines may differ).
                yield index, tagged(table.slice(offset) if offset else table, current[0])
                break
            size = min(current[1], table.num_rows - offset)
            if size:
                yield index, tagged(table.slice(offset, size), current[0])
            offset += size
            current[1] -= size
            if current[1] == 0:
                queue.pop(0)
            if offset >= table.num_rows:
                break


def _part_counts(selected: list[tuple]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for index, _ in selected:
        counts[index] = counts.get(index, 0) + 1
    return counts


def _prefetched(files: list[FileRef], only: set[int] | None = None, early_stop: bool = False) -> list[FileRef]:
    """Small remote files fetched ahead of the reader, many at once (local reads are untouched).
    A read that may stop early (``take``) fetches only smaller files whole."""
    if not any(file.store.remote for file in files):
        return files
    from .storage.remote import SMALL_FILE, SMALL_FILE_EARLY_STOP, prefetched

    return prefetched(files, only, SMALL_FILE_EARLY_STOP if early_stop else SMALL_FILE)


# --- partitions ---------------------------------------------------------------------------------


def partition_count(plan: Plan, storage_options: dict | None = None) -> int:
    """How many partitions the plan's result has: row groups for parquet, ``partition_size``
    byte chunks for text files, data files for Delta, one for ``from_paths``; as in the reference,
    ``select_partitions`` keeps the ones it names and ``take`` leaves one."""
    files = list_files(plan, storage_options)
    return len(_walk_partitions(plan, files)[1])


def read_partitions(plan: Plan, files: list[FileRef]) -> list[tuple]:
    """The partitions a read of ``plan`` reads, in order, as ``(file index, part)``: every
    partition, or those ``select_partitions`` keeps. Positions in this list are the partition
    numbers sampling draws by, and what :func:`stream_tables`' ``piece`` names.

    Example:
        >>> read_partitions(mltable.load("examples/trips").select_partitions([0, 2])._plan, files)   # doctest: +SKIP
        [(0, 0), (2, 0)]
    """
    selected = _selected_partitions(plan, files)
    return selected if selected is not None else _partitions(plan, files)


def list_partitions(plan: Plan, storage_options: dict | None = None) -> list[tuple]:
    """Every partition of the files as ``(file index, part)`` (the plan's steps not applied)."""
    files = list_files(plan, storage_options)
    return _partitions(plan, files)


def _partitions(plan: Plan, files: list[FileRef]) -> list[tuple]:
    if plan.reader is None:
        return [(None, 0)] if files else []
    from .readers import format_for

    return format_for(plan.reader).partitions(files, plan.reader)


def _selected_partitions(plan: Plan, files: list[FileRef]) -> list[tuple] | None:
    """The partitions to read when the plan selects some, else ``None``."""
    if not any(isinstance(step, SelectPartitions) for step in plan.transforms):
        return None
    return _walk_partitions(plan, files)[0]


def _walk_partitions(plan: Plan, files: list[FileRef]) -> tuple[list[tuple], list]:
    """``(partitions to read, the partitions the result has)``, following the steps in order.

    Each selection indexes the partitions the previous steps left. After a ``take`` the reference
    has one partition holding the rows so far: selecting its index 0 keeps them, any other fails.
    """
    partitions = _partitions(plan, files)
    visible: list = partitions
    for step in plan.transforms:
        if isinstance(step, Take):
            visible = visible[:1]
        elif isinstance(step, SelectPartitions):
            too_big = [index for index in step.indices if index >= len(visible)]
            if too_big:
                raise UserErrorException(
                    f'Invalid argument "partitions". Expected "< {len(visible)}", Actual {too_big[0]}. '
                    f"The table has {len(visible)} partitions (get_partition_count()).")
            if visible is partitions:
                partitions = visible = [partitions[index] for index in sorted(set(step.indices))]
    return partitions, visible


def _schema_only(selected: list[tuple]) -> list[tuple]:
    """When pruning leaves nothing, still read the first partition so the result keeps its
    columns (policy P7); the pushed-down filter then removes its rows."""
    return selected[:1]


def _with_path_column(table: pa.Table, name: str, value: str) -> pa.Table:
    if name in table.column_names:
        table = table.drop_columns([name])
    return table.add_column(0, name, pa.repeat(pa.scalar(value, pa.string()), table.num_rows))


# --- collecting ---------------------------------------------------------------------------------


def to_arrow(plan: Plan, storage_options: dict | None = None, optimize: bool = True,
             wrap_reader: Callable | None = None, files: list[FileRef] | None = None) -> pa.Table:
    """The whole result as one Arrow table with one schema (columns unified by name). ``files``:
    the plan's listing when the caller has it (what formats learnt of them, a parquet footer, is
    then shared with the caller's next read)."""
    table, unmergeable = _collect(plan, storage_options, optimize, files, wrap_reader=wrap_reader)
    if unmergeable is not None:
        raise UserErrorException(
            f"Column(s) {_conflicting_columns(unmergeable)} hold values of different types in different files, "
            "which one Arrow column cannot hold. Use to_pandas_dataframe() (they become object columns), or "
            "convert_column_types(...) to one type first.")
    return table


def _collect(plan: Plan, storage_options: dict | None, optimize: bool, files: list[FileRef] | None = None,
             wrap_reader: Callable | None = None):
    """Every table of the result merged into one, reconciling types that differ between files
    or pieces as the format says (:func:`widened`, :func:`retry_plan`).

    Returns ``(table, None)``, or ``(None, tables)`` when only pandas object columns can hold
    the values (parquet files disagreeing on a column's type).
    """
    if files is None:
        files = list_files(plan, storage_options)
    tables = list(stream_tables(plan, storage_options, optimize, files, wrap_reader))
    try:
        return concat(tables), None
    except _MixedTypes:
        tables_widened = widened(plan, tables)
        if tables_widened is not None:
            return concat(tables_widened), None
        retry = retry_plan(plan, tables)
        if retry is not None:
            return _collect(retry, storage_options, optimize, files, wrap_reader)
        return None, tables


def widened(plan: Plan, tables: list[pa.Table]) -> list[pa.Table] | None:
    """``tables`` (of ``plan``'s result) with one type per column, where the plan's format has a
    rule for types that differ between files (JSON lines: ints and floats → floats, anything else
    → mixed, policy P11); ``None`` where it has none.

    Example:
        >>> widened(mltable.from_json_lines_files(paths)._plan, tables)   # doctest: +SKIP
    """
    if plan.reader is None:
        return None
    from .readers import format_for

    return format_for(plan.reader).widen(tables)


def retry_plan(plan: Plan, tables: list[pa.Table]) -> Plan | None:
    """``plan`` reading the columns whose types differ between ``tables`` with one type, where
    its format can (delimited: as text, policy P2); ``None`` where reading again would not help.

    Example:
        >>> retry_plan(mltable.from_delimited_files(paths)._plan, tables)   # doctest: +SKIP
    """
    if plan.reader is None:
        return None
    from .readers import format_for

    step = format_for(plan.reader).retry_step(plan.reader, _conflicting_columns(tables))
    return None if step is None else plan.replace(reader=step)


def concat(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    if any(has_mixed(table.schema) for table in tables):
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
    """``column`` as the unified type. A cast that would change a value means the files hold
    different kinds of values (handled by the caller): that includes an int beyond ±2**53 meeting
    floats, which no float64 holds exactly (``pd.concat`` would round it without a word)."""
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
    exact = _ints_pandas_would_round(table)
    # One block per dtype, as pandas itself builds frames: pyarrow fills the blocks on all cores,
    # which matters in a fresh process where the copy is mostly first-touch page faults (one block
    # per column is filled on one thread, and pandas may consolidate it later, copying again).
    # self_destruct frees each Arrow column once copied, so peak memory stays near one copy.
    # Small tables are converted on this thread: the pool's hand-off costs more than it saves there.
    # (The buffers' size counts a slice's whole buffers, but costs nothing to ask, unlike nbytes.)
    frame = table.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=False, self_destruct=True,
                            use_threads=table.get_total_buffer_size() >= _THREADED_BYTES)
    if has_mixed(schema):
        restore_mixed(frame, schema)
    for position, values in exact.items():
        import pandas as pd

        frame.isetitem(position, pd.Series(values, dtype=object, index=frame.index))
    if stream_columns:
        from .streams import StreamInfo

        for name in stream_columns:
            frame[name] = [None if value is None else StreamInfo(value) for value in frame[name].tolist()]
            frame[name] = frame[name].astype(object)
    return frame


_THREADED_BYTES = 16 << 20


def _ints_pandas_would_round(table: pa.Table) -> dict[int, list]:
    """Integer columns holding nulls (pandas makes them float64, as the reference does) and a value
    beyond ±2**53, which float64 would round without a word: by position, their values as Python
    ints and ``None``, to go in object columns instead."""
    import pyarrow.compute as pc

    exact = {}
    for position, column in enumerate(table.columns):
        if pa.types.is_integer(column.type) and column.null_count and column.null_count < len(column):
            low, high = (scalar.as_py() for scalar in pc.min_max(column).values())
            if low < -(1 << 53) or high > (1 << 53):
                exact[position] = column.to_pylist()
    return exact


def _decode_dictionaries(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(index, field.with_type(field.type.value_type),
                                     table.column(index).cast(field.type.value_type))
    return table
