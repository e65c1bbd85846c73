"""Transform steps as stream functions: ``(step, tables) -> tables``, applied batch by batch.

Every handler is a generator over Arrow tables, so a ``take`` that has its rows simply stops
pulling, and the reads behind it stop too. Sampling keeps the rows the reference keeps: each
row's number comes from the seed, its partition and its position there, so the same seed keeps
the same rows whatever the batch size, thread count or machine.

Example:
    >>> from mltable_lite.plan import Take
    >>> [t.num_rows for t in apply(Take(3), iter([pa.table({"a": [1, 2]}), pa.table({"a": [3, 4]})]))]
    [2, 1]
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import pyarrow as pa

from .errors import UserErrorException
from .plan import (ConvertColumnTypes, DropColumns, Filter, KeepColumns, RandomPercentSample, Skip, Take,
                   TakeRandomSample)

Stream = Iterable[pa.Table]


def apply(step, stream: Stream) -> Iterator[pa.Table]:
    handler = _HANDLERS.get(type(step))
    if handler is None:
        raise UserErrorException(
            f"The transformation {step!r} is recorded in this table but mltable_lite cannot run it yet.")
    return handler(step, stream)


def _take(step: Take, stream: Stream) -> Iterator[pa.Table]:
    remaining = step.count
    for table in stream:
        if table.num_rows >= remaining:
            yield table.slice(0, remaining)
            return
        remaining -= table.num_rows
        yield table


def _skip(step: Skip, stream: Stream) -> Iterator[pa.Table]:
    from .sampling import partition_of, tagged

    remaining = step.count
    # Observed: after a skip the reference numbers partitions from the one the skip ends in (its
    # rest is partition 0), which changes what a later sample keeps.
    ending = None
    for table in stream:
        if ending is not None:
            yield tagged(table, partition_of(table) - ending) if ending else table
            continue
        if remaining > table.num_rows:
            remaining -= table.num_rows
            yield table.slice(0, 0)
            continue
        ending = partition_of(table)
        rest = table.slice(remaining)
        remaining = 0
        yield tagged(rest, 0) if ending else rest


def _keep_columns(step: KeepColumns, stream: Stream) -> Iterator[pa.Table]:
    wanted = set(step.columns)
    for table in stream:
        kept = [name for name in table.column_names if name in wanted]  # the table's order, as the reference
        if not kept:
            raise UserErrorException(
                f"The input data contains no columns. keep_columns({list(step.columns)}) matched none of the "
                f"columns {table.column_names}. Check the spelling; names are case-sensitive.")
        yield table.select(kept)


def _drop_columns(step: DropColumns, stream: Stream) -> Iterator[pa.Table]:
    for table in stream:
        dropped = [name for name in step.columns if name in table.column_names]
        if dropped and len(dropped) == table.num_columns:
            raise UserErrorException(
                f"The input data contains no columns. drop_columns({list(step.columns)}) removed every column.")
        yield table.drop_columns(dropped) if dropped else table


def _filter(step: Filter, stream: Stream) -> Iterator[pa.Table]:
    from .expressions import compile_filter, filter_rows, parse

    tree = parse(step.expression)
    compiled: dict[pa.Schema, object] = {}
    for table in stream:
        expression = compiled.get(table.schema)
        if expression is None:   # (compiling also checks the filter against the schema)
            expression = compiled[table.schema] = compile_filter(tree, table.schema)
        if table.num_rows == 0:
            # Nothing to drop (a file whose row groups were all pruned): the same empty table,
            # without a compute plan's set-up.
            yield table
            continue
        try:
            yield filter_rows(table, expression)
        except pa.ArrowInvalid as error:
            raise UserErrorException(
                f"filter({step.expression!r}) failed on the data: {error}. Arithmetic on int64 overflowed or a "
                "value could not be computed; compare smaller values or use floats (1.0 * col).") from None


def _convert_column_types(step: ConvertColumnTypes, stream: Stream) -> Iterator[pa.Table]:
    from .conversions import convert_array

    for table in stream:
        for columns, dtype in step.conversions:
            for name in columns:
                if name in table.column_names:  # unknown names are ignored, as in the reference
                    index = table.column_names.index(name)
                    converted = convert_array(table.column(index), dtype)
                    field = pa.field(name, converted.type, metadata=_STREAM_METADATA if dtype.kind == "stream" else None)
                    table = table.set_column(index, field, converted)
        yield table


_STREAM_METADATA = {b"mltable_lite.kind": b"stream"}


# --- sampling -----------------------------------------------------------------------------------

def _sample_between(low: float, high: float, seed: int, stream: Stream) -> Iterator[pa.Table]:
    """Keep the rows whose draw is in ``[low, high)``: the reference's generator, one stream per
    partition, one number per row reaching this step (see :mod:`mltable_lite.sampling`)."""
    from .sampling import draws, partition_of

    seen: dict[int, int] = {}  # partition → its rows drawn for so far
    for table in stream:
        partition = partition_of(table)
        start = seen.get(partition, 0)
        seen[partition] = start + table.num_rows
        values = draws(seed, partition, start, table.num_rows)
        yield table.filter(pa.array((values >= low) & (values < high)))


def _take_random_sample(step: TakeRandomSample, stream: Stream) -> Iterator[pa.Table]:
    return _sample_between(0.0, step.probability, step.seed, stream)


def _random_percent(step: RandomPercentSample, stream: Stream) -> Iterator[pa.Table]:
    return _sample_between(step.low, step.high, step.seed, stream)


_HANDLERS: dict[type, Callable] = {
    Take: _take,
    Skip: _skip,
    KeepColumns: _keep_columns,
    DropColumns: _drop_columns,
    Filter: _filter,
    TakeRandomSample: _take_random_sample,
    RandomPercentSample: _random_percent,
    ConvertColumnTypes: _convert_column_types,
}


def register(step_type: type, handler: Callable) -> None:
    """Plug in a handler for a step type defined elsewhere (partitions, conversions)."""
    _HANDLERS[step_type] = handler
