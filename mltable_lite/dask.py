"""``MLTable.to_dask_dataframe()``: the table as a lazy dask DataFrame, one task per partition.

Imported only when that method is called (dask is the optional ``mltable-lite[dask]`` extra).

* **Partitions** are the table's: a parquet row group, a Delta data file, a delimited or JSON
  lines file (its ``partition_size`` pieces are read by one task: a piece's rows are counted by
  lines over its whole file, so splitting it would parse the file once per piece). With
  ``select_partitions``, the ones it keeps. A plan with ``take`` or ``skip`` (global: the rows
  they keep depend on every earlier partition) or a ``from_paths`` table is one partition.
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
    >>> frame = to_dask_dataframe(tbl)
    >>> frame.npartitions, list(frame.columns[:3])
    (3, ['trip_id', 'pickup_time', 'vendor'])
    >>> len(frame.compute(scheduler="sync")) == len(tbl.to_pandas_dataframe())
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from .errors import UserErrorException
from .plan import Plan, Skip, Take

if TYPE_CHECKING:
    import dask.dataframe

    from .table import MLTable

__all__ = ["to_dask_dataframe", "read_piece", "pieces"]


def to_dask_dataframe(table: "MLTable") -> "dask.dataframe.DataFrame":
    """``table`` as a lazy ``dask.dataframe.DataFrame`` (module docstring); nothing but the
    listing and the schema is read until ``.compute()`` or another dask call that needs rows."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError:
        raise UserErrorException("to_dask_dataframe() needs dask: pip install 'mltable-lite[dask]'") from None
    from .executor import list_files, table_to_pandas
    from .plan_yaml import plan_to_dict
    from .result_schema import collect_schema

    plan, options = table._plan, table._storage_options
    files = list_files(plan, options)
    schema = collect_schema(plan, options)
    meta = table_to_pandas(schema.empty_table())
    # Paths as they are in memory (a SAS token in a URL reads, as storage_options do); the
    # document is a task argument, never saved or logged.
    document = plan_to_dict(plan, path_rewrites={spec.uri: spec.uri for spec in plan.paths})
    # Text columns keep the dtype to_pandas_dataframe() gives them (dask would otherwise convert
    # them to string[pyarrow], decided here, when the frame is made).
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(read_piece, pieces(plan, files), document=document, storage_options=options,
                           schema=schema, meta=meta, label="read-mltable", enforce_metadata=False)


def pieces(plan: Plan, files: list) -> list[tuple[int, ...] | None]:
    """The tasks of ``plan``'s frame: each the positions (in
    :func:`~mltable_lite.executor.read_partitions`) of the partitions it reads, or ``None`` for
    one task running the whole plan (``take``, ``skip``, ``from_paths``, nothing to read).

    Example:
        >>> pieces(mltable.load("examples/trips")._plan, files)   # doctest: +SKIP
        [(0,), (1,), (2,)]
    """
    if plan.reader is None or any(isinstance(step, (Take, Skip)) for step in plan.transforms):
        return [None]
    from .executor import read_partitions
    from .readers import format_for

    partitions = read_partitions(plan, files)
    if not partitions:
        return [None]
    if not format_for(plan.reader).parts_read_whole_file:
        return [(position,) for position in range(len(partitions))]
    grouped: list[tuple[int, ...]] = []
    for position, (index, _) in enumerate(partitions):
        if grouped and partitions[grouped[-1][-1]][0] == index:
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
