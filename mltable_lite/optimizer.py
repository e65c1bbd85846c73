"""Lazy optimisation: decide what the reader can skip without changing the result.

* **Projection**: only the columns later steps use are read (parquet column pruning, CSV
  ``include_columns``).
* **Row groups**: filters that come before any row-changing step are handed to parquet, which
  skips row groups whose statistics prove no row can match.
* **Files**: the parts of such filters that only use partition-format columns (or ``Path``) are
  evaluated once per file, and files that cannot match are never opened.
* **Early stop** needs no planning: transforms are generators, so ``take`` stops the reads.

The filters themselves still run on every row that is read, so pruning only ever skips data that
could not have matched.

Example:
    >>> from mltable_lite.executor import list_files
    >>> tbl = mltable.load("examples/trips").extract_columns_from_partition_format("{year}-{month}.csv")
    >>> plan = tbl.filter("month == 2").keep_columns(["trip_id", "month"])._plan
    >>> print(optimise(plan, list_files(plan)).describe())
    projection: read only columns ['month', 'trip_id']
    files: 2 of 3 pruned by partition values before opening
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .plan import (DropColumns, ExtractPartitionFormat, Filter, KeepColumns, Plan, ReadDelimited, ReadParquet,
                   SelectPartitions)

# Steps that neither change nor reorder rows and values: filters before or between them see the
# file's own rows, so they may be pushed to the reader.
_ROW_PRESERVING = (Filter, KeepColumns, DropColumns, ExtractPartitionFormat, SelectPartitions)


@dataclass
class ReadPlan:
    """What the executor asks of the reader."""

    columns: list | None = None               # None: every column
    row_group_filters: list = field(default_factory=list)   # parsed filter trees for parquet pruning
    keep_files: list | None = None             # indices of files that may match; None: all
    notes: list = field(default_factory=list)

    def describe(self) -> str:
        return "\n".join(self.notes)


def optimise(plan: Plan, files: list) -> ReadPlan:
    read_plan = ReadPlan()
    if plan.reader is None or not any(isinstance(step, (Filter, KeepColumns)) for step in plan.transforms):
        return read_plan  # nothing to push down; skip importing the filter parser
    from .expressions import parse, referenced_columns

    leading_filters = []
    for step in plan.transforms:
        if not isinstance(step, _ROW_PRESERVING):
            break
        if isinstance(step, Filter):
            leading_filters.append(parse(step.expression))

    read_plan.columns = _projection(plan, parse, referenced_columns)
    if read_plan.columns is not None:
        read_plan.notes.append(f"projection: read only columns {read_plan.columns}")

    if leading_filters and isinstance(plan.reader, ReadParquet):
        read_plan.row_group_filters = leading_filters
        read_plan.notes.append("row groups: parquet statistics prune row groups for "
                               + " and ".join(f"filter({_text(tree)!r})" for tree in leading_filters))

    keep = _prune_files(plan, files, leading_filters, referenced_columns)
    if keep is not None:
        read_plan.keep_files = keep
        pruned = len(files) - len(keep)
        read_plan.notes.append(f"files: {pruned} of {len(files)} pruned by partition values before opening")
    return read_plan


def _text(tree) -> str:
    from .expressions import to_text

    return to_text(tree)


def _projection(plan: Plan, parse, referenced_columns) -> list | None:
    """Columns the reader must produce, walking the transforms backwards; None means all."""
    needed: set | None = None
    for step in reversed(plan.transforms):
        if isinstance(step, KeepColumns):
            needed = set(step.columns) if needed is None else needed & set(step.columns)
        elif isinstance(step, Filter) and needed is not None:
            needed |= set(referenced_columns(parse(step.expression)))
    if not needed:
        # Nothing kept would still need row counts; reading everything keeps that simple.
        return None
    needed |= plan.traits.columns()
    return sorted(needed)


def _prune_files(plan: Plan, files: list, filters: list, referenced_columns) -> list | None:
    partition_steps = [step for step in plan.transforms if isinstance(step, ExtractPartitionFormat)]
    path_column = plan.reader.path_column if plan.reader.include_path_column else None
    delta_partitions = bool(files) and all(getattr(file, "partition_values", ()) for file in files)
    if not filters or not files or (not partition_steps and path_column is None and not delta_partitions):
        return None
    if isinstance(plan.reader, ReadDelimited) and plan.reader.header == "from_first_file":
        return None  # the first file's first line is the header: it must be read
    import pyarrow as pa

    from .partitions import partition_columns

    columns: dict = {}
    unmatched: set = set()  # never pruned: reading them reports that the format does not fit
    for step in partition_steps:
        computed = partition_columns(step, files, plan.reader)
        columns.update(computed.columns)
        unmatched.update(computed.unmatched)
    if path_column is not None:
        columns[path_column] = pa.array([file.display for file in files], pa.string())
    if delta_partitions:
        # Delta data files carry their typed partition values from the log: prune on them too.
        snapshot = getattr(files[0], "snapshot", None)
        schema = getattr(snapshot, "schema", None)
        for name in dict(files[0].partition_values):
            if name in columns:
                continue
            values = [dict(file.partition_values).get(name) for file in files]
            arrow_type = schema.field(name).type if schema is not None and name in schema.names else None
            try:
                columns[name] = pa.array(values, arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                continue
    per_file_table = pa.table(columns)

    conjuncts = [term for tree in filters for term in _conjuncts(tree)
                 if referenced_columns(term) and referenced_columns(term) <= set(columns)]
    if not conjuncts:
        return None
    from .expressions import evaluate

    keep = [True] * len(files)
    for term in conjuncts:
        for index, matches in enumerate(evaluate(term, per_file_table).to_pylist()):
            keep[index] = keep[index] and (bool(matches) or index in unmatched)
    return [index for index, flag in enumerate(keep) if flag]


def _conjuncts(tree) -> list:
    from .expressions import And

    if isinstance(tree, And):
        return [term for operand in tree.operands for term in _conjuncts(operand)]
    return [tree]
