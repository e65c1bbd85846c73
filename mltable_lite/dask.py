"""``MLTable.to_dask_dataframe()``: the table as a lazy dask DataFrame, one task per partition.

Imported only when that method is called (dask is the optional ``mltable-lite[dask]`` extra).

* **Partitions** follow the table's: a parquet row group, a Delta data file; the consecutive
  ``partition_size`` pieces of a local delimited file, up to :data:`TASK_BYTES` a task (each
  parsed from its own bytes, ``Format.reads_parts_alone``); a remote delimited file or a JSON
  lines file is one task (its pieces' rows are counted by lines over the whole file, so a task
  per piece would parse the file once per piece). With ``select_partitions``, the ones it keeps. A plan with ``take`` (global, and it stops early) or a
  ``from_paths`` table is one partition.
* **skip** is global too: the rows it drops depend on every earlier partition. Its tasks run in
  stages: each partition is read and transformed up to the ``skip``; a small task adds up their
  row counts; each partition then drops its share (renumbered as the reference numbers
  partitions after a skip, so a later sample keeps the same rows) and runs the steps after it.
* **Tasks carry data, not closures**: each is :func:`read_piece` with the plan as its MLTable
  YAML dict, the storage options, the schema and the positions of its partitions. A worker
  rebuilds the plan, lists the files and reads those partitions only, numbered and typed as in
  the whole read (sampling draws per partition number; a delimited file's header and column
  types come from the first files, as in ``to_pandas_dataframe()``).
* **meta** comes from the schema (:meth:`MLTable.collect_schema`: footers, the Delta log, the
  inference sample) without reading the data, and every task's table has that schema, as a
  ``to_batches()`` stream does: a later value that needs a wider type is the same error, naming
  the file, line and column.

Credentials travel in ``storage_options`` (and, for a URL with a SAS token, in its path), as task
arguments: never in a task's key or name, never logged.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.load("examples/trips").filter("fare > 20")
    >>> frame = to_dask_dataframe(tbl._plan)
    >>> frame.npartitions, list(frame.columns[:3])
    (3, ['trip_id', 'pickup_time', 'vendor'])
    >>> len(frame.compute(scheduler="sync")) == len(tbl.to_pandas_dataframe())
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from .errors import UserErrorException
from .plan import ExtractPartitionFormat, Plan, SelectPartitions, Skip, Take

if TYPE_CHECKING:
    import dask.dataframe

#: Bytes of a text file one task parses at most when the file's pieces parse alone (the size of
#: ``dask.dataframe.read_csv``'s default blocks).
TASK_BYTES = 64 << 20

__all__ = ["to_dask_dataframe", "read_piece", "pieces", "read_stage", "continue_stage", "finish_stage"]


def to_dask_dataframe(plan: Plan, options: dict | None = None) -> "dask.dataframe.DataFrame":
    """The result of ``plan`` (read with the storage ``options``) as a lazy
    ``dask.dataframe.DataFrame`` (module docstring); nothing but the listing and the schema is
    read until ``.compute()`` or another dask call that needs rows."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise UserErrorException("to_dask_dataframe() needs dask: pip install 'mltable-lite[dask]'") from None
    from .executor import list_files, table_to_pandas
    from .plan_yaml import plan_to_dict
    from .result_schema import collect_schema

    files = list_files(plan, options)
    schema = collect_schema(plan, options, files)
    meta = table_to_pandas(schema.empty_table())
    # Paths as they are in memory (a SAS token in a URL reads, as storage_options do); the
    # document is a task argument, never saved or logged.
    document = plan_to_dict(plan, path_rewrites={spec.uri: spec.uri for spec in plan.paths})
    tasks = pieces(plan, files)
    # Text columns keep the dtype to_pandas_dataframe() gives them (dask would otherwise convert
    # them to string[pyarrow], decided here, when the frame is made).
    with dask.config.set({"dataframe.convert-string": False}):
        if tasks != [None] and any(isinstance(step, Skip) for step in plan.transforms):
            return dd.from_delayed(_staged(tasks, plan, document, options, schema), meta=meta, verify_meta=False)
        return dd.from_map(read_piece, tasks, document=document, storage_options=options,
                           schema=schema, meta=meta, label="read-mltable", enforce_metadata=False)


def pieces(plan: Plan, files: list) -> list[tuple[int, ...] | None]:
    """The tasks of ``plan``'s frame: each the positions (in
    :func:`~mltable_lite.executor.read_partitions`) of the partitions it reads, or ``None`` for
    one task running the whole plan (``take``, ``from_paths``, nothing to read).

    Example:
        >>> pieces(mltable.load("examples/trips")._plan, files)   # doctest: +SKIP
        [(0,), (1,), (2,)]
    """
    if plan.reader is None or any(isinstance(step, Take) for step in plan.transforms):
        return [None]
    from .executor import read_partitions
    from .readers import format_for

    partitions = read_partitions(plan, files)
    if not partitions:
        return [None]
    form = format_for(plan.reader)
    alone = {index: form.reads_parts_alone(files[index], plan.reader) for index in {index for index, _ in partitions}}
    # Byte-sized pieces of a text file go to a task together up to TASK_BYTES, as dask's own
    # read_csv cuts (a task per 20 MB piece would cost more in transfers than it parses).
    size = getattr(plan.reader, "partition_size", None)
    per_task = max(1, TASK_BYTES // size) if size else 1
    grouped: list[tuple[int, ...]] = []
    for position, (index, _) in enumerate(partitions):
        same_file = grouped and partitions[grouped[-1][-1]][0] == index
        if same_file and (not alone[index] or len(grouped[-1]) < per_task):
            grouped[-1] += (position,)
        else:
            grouped.append((position,))
    return grouped


def read_piece(piece: tuple[int, ...] | None, document: dict, storage_options: dict | None, schema: pa.Schema):
    """One task: the pandas frame of the partitions at ``piece``'s positions of the plan whose
    MLTable YAML dict is ``document`` (``None``: the whole plan), with ``schema``'s types and the
    dtypes ``to_pandas_dataframe()`` gives them.

    Example:
        >>> tbl = mltable.load("examples/trips")
        >>> document = tbl._to_yaml_dict()
        >>> len(read_piece((1,), document, None, tbl.collect_schema()))
        200
    """
    from .batches import fixed_tables
    from .executor import table_to_pandas
    from .plan_yaml import plan_from_dict

    plan = plan_from_dict(document, source="the task's plan")
    tables = list(fixed_tables(plan, storage_options, schema, piece=piece))
    result = pa.concat_tables(tables) if len(tables) > 1 else tables[0] if tables else schema.empty_table()
    return table_to_pandas(result)


# --- skip: staged tasks -------------------------------------------------------------------------


def _staged(tasks: list, plan: Plan, document: dict, options: dict | None, schema: pa.Schema) -> list:
    """The delayed partitions of a plan with ``skip``: read and transform each piece up to the
    first skip (:func:`read_stage`), place the skip from every piece's row count
    (:func:`skip_placements`), go on to the next (:func:`continue_stage`), then conform
    (:func:`finish_stage`)."""
    from dask import delayed

    stages = [delayed(read_stage, pure=True)(piece, document, options) for piece in tasks]
    for number, step in enumerate(_segments(plan)[2], start=1):
        counts = [delayed(stage_runs, pure=True)(tables) for tables in stages]
        placements = delayed(skip_placements, pure=True)(counts, step.count)
        stages = [delayed(continue_stage, pure=True)(tables, placements, position, document, number)
                  for position, tables in enumerate(stages)]
    return [delayed(finish_stage, pure=True)(tables, document, schema) for tables in stages]


def _segments(plan: Plan) -> tuple[list, list[list], list[Skip]]:
    """``(steps run at read time, the steps between skips, the skips)`` of ``plan``."""
    at_read = [step for step in plan.transforms if isinstance(step, (ExtractPartitionFormat, SelectPartitions))]
    segments: list[list] = [[]]
    skips: list[Skip] = []
    for step in plan.transforms:
        if isinstance(step, Skip):
            skips.append(step)
            segments.append([])
        elif not isinstance(step, (ExtractPartitionFormat, SelectPartitions)):
            segments[-1].append(step)
    return at_read, segments, skips


def read_stage(piece: tuple[int, ...], document: dict, storage_options: dict | None) -> list[pa.Table]:
    """A task: the tables of ``piece`` up to the plan's first ``skip``, each marked with its
    partition's number (:mod:`mltable_lite.sampling`).

    Example:
        >>> document = mltable.load("examples/trips").skip(5)._to_yaml_dict()
        >>> [t.num_rows for t in read_stage((0,), document, None)]
        [200]
    """
    from .executor import stream_tables
    from .plan_yaml import plan_from_dict

    plan = plan_from_dict(document, source="the task's plan")
    at_read, segments, _ = _segments(plan)
    first = plan.replace(transforms=tuple(at_read + segments[0]))
    return list(stream_tables(first, storage_options, piece=piece, tag_partitions=True))


def stage_runs(tables: list[pa.Table]) -> list[tuple[int, int]]:
    """``(partition number, rows)`` of ``tables``, in order: what a skip needs of a piece.

    Example:
        >>> from mltable_lite.sampling import tagged
        >>> stage_runs([tagged(pa.table({"a": [1, 2]}), 3), pa.table({"a": [4]})])
        [(3, 2), (0, 1)]
    """
    from .sampling import partition_of

    return [(partition_of(table), table.num_rows) for table in tables]


def skip_placements(runs: list[list[tuple[int, int]]], count: int) -> tuple[list[int], int | None]:
    """``(rows before each piece, the number of the partition the skip ends in)`` for a skip of
    ``count`` rows over pieces whose tables have ``runs``; that partition is ``None`` when the
    pieces hold no more than ``count`` rows.

    Example:
        >>> skip_placements([[(0, 3)], [(1, 2), (2, 4)]], 4)
        ([0, 3], 1)
    """
    before, seen, ending = [], 0, None
    for piece in runs:
        before.append(seen)
        for partition, rows in piece:
            if ending is None and rows and seen + rows >= count:
                ending = partition
            seen += rows
    return before, ending


def continue_stage(tables: list[pa.Table], placements: tuple[list[int], int | None], position: int,
                   document: dict, number: int) -> list[pa.Table]:
    """A task: the ``position``-th piece's ``tables`` after the plan's ``number``-th skip and the
    steps up to the next one (the reference's numbering after a skip: the partition it ends in
    is 0, the later ones count from it).

    Example:
        >>> document = mltable.load("examples/trips").skip(250)._to_yaml_dict()
        >>> tables = read_stage((1,), document, None)
        >>> [t.num_rows for t in continue_stage(tables, ([0, 200, 400], 1), 1, document, 1)]
        [150]
    """
    from .plan_yaml import plan_from_dict
    from .sampling import partition_of, tagged
    from .transforms import apply as apply_transform

    plan = plan_from_dict(document, source="the task's plan")
    _, segments, skips = _segments(plan)
    count = skips[number - 1].count
    before, ending = placements
    rows_before, rows = before[position], sum(table.num_rows for table in tables)
    if rows_before >= count:
        stream = iter([tagged(table, partition_of(table) - ending) for table in tables])
    elif rows_before + rows >= count:
        stream = apply_transform(Skip(count - rows_before), iter(tables))
    else:
        stream = iter([table.slice(0, 0) for table in tables[:1]])
    for step in segments[number]:
        stream = apply_transform(step, stream)
    return list(stream)


def finish_stage(tables: list[pa.Table], document: dict, schema: pa.Schema):
    """A task: the piece's last tables as a pandas frame with ``schema`` (as :func:`read_piece`).

    Example:
        >>> tbl = mltable.load("examples/trips").skip(250)
        >>> len(finish_stage(read_stage((2,), tbl._to_yaml_dict(), None), tbl._to_yaml_dict(), tbl.collect_schema()))
        200
    """
    from .batches import schema_error
    from .executor import table_to_pandas
    from .plan_yaml import plan_from_dict
    from .sampling import untagged
    from .streaming import SchemaChanged, fitted

    plan = plan_from_dict(document, source="the task's plan")
    try:
        tables = [fitted(plan, untagged(table), schema) for table in tables]
    except SchemaChanged as changed:
        raise schema_error(plan, schema, changed.columns, None, 0) from None
    result = pa.concat_tables(tables) if len(tables) > 1 else tables[0] if tables else schema.empty_table()
    return table_to_pandas(result)
