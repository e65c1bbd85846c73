"""Transform steps as stream functions: ``(step, tables) -> tables``, applied batch by batch.

Every handler is a generator over Arrow tables, so a ``take`` that has its rows simply stops
pulling, and the reads behind it stop too. Sampling draws each row's number from the seed and
the row's position in the stream, so the same seed keeps the same rows whatever the batch size,
thread count or machine.

Example:
    >>> from mltable_lite.plan import Take
    >>> [t.num_rows for t in apply(Take(3), iter([pa.table({"a": [1, 2]}), pa.table({"a": [3, 4]})]))]
    [2, 1]
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np
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
    remaining = step.count
    for table in stream:
        if remaining >= table.num_rows:
            remaining -= table.num_rows
            yield table.slice(0, 0)
            continue
        yield table.slice(remaining)
        remaining = 0


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
    from .expressions import compile_filter, parse

    tree = parse(step.expression)
    compiled: dict[pa.Schema, object] = {}
    for table in stream:
        expression = compiled.get(table.schema)
        if expression is None:
            expression = compiled[table.schema] = compile_filter(tree, table.schema)
        try:
            yield table.filter(expression)
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

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def row_draws(seed: int, start: int, count: int) -> np.ndarray:
    """Uniform numbers in [0, 1) for rows ``start .. start+count-1``: splitmix64 of (seed, row).

    A pure function of the seed and the row's position, so results never depend on batching.
    """
    with np.errstate(over="ignore"):
        positions = np.arange(start, start + count, dtype=np.uint64)
        z = positions * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _sample_between(low: float, high: float, seed: int, stream: Stream) -> Iterator[pa.Table]:
    position = 0
    for table in stream:
        draws = row_draws(seed, position, table.num_rows)
        position += table.num_rows
        yield table.filter(pa.array((draws >= low) & (draws < high)))


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
