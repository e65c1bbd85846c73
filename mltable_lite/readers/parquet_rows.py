"""Reading only the rows of parquet row groups that a filter may keep (late materialisation).

Statistics (:func:`.parquet.prune_row_groups`) skip row groups where no row can match; a row group
that survives is often matched only in part (a range filter on sorted data matches a prefix of
it). :func:`read_matching` reads the filter's columns of the row groups first, finds the rows the
filter keeps, and then reads the other columns only of row groups with a match and only up to the
last matching row (PyArrow decodes a column chunk's values in order, so stopping early skips the
decoding of the rest).

The rows given are those from a row group's first match to its last, in order, with the columns
and types of a whole read: a contiguous run that holds every row the filter keeps. The caller
still applies the filter (so a filter's errors are raised where they always are); rows are never
reordered or changed, so the result is the same as filtering whole row groups.

Example:
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> from mltable_lite.expressions import parse
    >>> pq.write_table(pa.table({"id": range(10), "x": range(10)}), "/tmp/late.parquet", row_group_size=5)
    >>> read = lambda groups, columns: parquet.read_row_groups(groups, columns=columns)
    >>> parquet = pq.ParquetFile("/tmp/late.parquet")
    >>> [t.num_rows for t in read_matching(parquet, [0, 1], ["id", "x"], [parse("id < 3")], {}, read)]
    [3]
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UserErrorException
from .arrow_types import no_rows, normalise

__all__ = ["read_matching"]

# A row group matched up to this share of its rows (or beyond) is read whole: stopping a little
# short saves little decoding, and one multi-threaded read over several row groups is faster.
_WHOLE_SHARE = 0.8


def read_matching(parquet: pq.ParquetFile, groups: Sequence[int], names: Sequence[str], filters: list,
                  compiled: dict, read: Callable[[list, list], pa.Table]) -> list[pa.Table] | None:
    """The rows of ``groups`` that ``filters`` (parsed trees, all to hold) may keep, as tables of
    the columns ``names`` (normalised, as ``read`` gives them); ``None`` when this way cannot tell
    (a filter on a column not read, one that does not compile or fails on the data): read whole
    then, and the caller's filter reports any problem.

    ``read(groups, columns)`` reads columns of row groups as one normalised table, raising the
    reader's clear errors. ``compiled`` caches the compiled filter by the filter columns' schema
    across the files of one read.
    """
    from ..expressions import compile_filter, filter_mask, referenced_columns

    referenced = set().union(*(referenced_columns(tree) for tree in filters))
    if (not referenced or not referenced <= set(names) or len(set(names)) != len(names)
            or any("." in name for name in names)):
        return None   # (a dotted name could be taken for a nested column's path)
    keys = [name for name in names if name in referenced]
    others = [name for name in names if name not in referenced]
    if not others:
        return None   # only filter columns: nothing to leave unread
    tested = read(list(groups), keys)
    expression = compiled.get(tested.schema)
    if expression is None:
        try:
            for tree in filters:
                one = compile_filter(tree, tested.schema)
                expression = one if expression is None else expression & one
        except UserErrorException:
            return None
        compiled[tested.schema] = expression
    try:
        matched = np.flatnonzero(filter_mask(tested, expression).to_numpy())
    except (pa.ArrowException, ValueError):
        return None

    # Per row group: the run from its first match to its last (offsets within the group).
    runs, start = [], 0
    for group in groups:
        count = parquet.metadata.row_group(group).num_rows
        low, high = np.searchsorted(matched, [start, start + count])
        if high > low:
            runs.append((group, start, int(matched[low]) - start, int(matched[high - 1]) - start + 1, count))
        start += count
    if not runs:
        return [no_rows(parquet.schema_arrow, tuple(names))]

    whole = [group for group, _, _, stop, count in runs if stop > _WHOLE_SHARE * count]
    read_whole = read(whole, others) if whole else None
    whole = set(whole)
    pieces, offset = [], 0
    for group, begin, first, stop, count in runs:
        if group in whole:
            rest = read_whole.slice(offset + first, stop - first)
            offset += count
        else:
            rest = _read_head(parquet, group, others, stop, read).slice(first)
        kept = tested.slice(begin + first, stop - first)
        columns = {name: (kept.column(name), kept.schema.field(name)) for name in keys}
        columns.update((name, (rest.column(name), rest.schema.field(name))) for name in others)
        pieces.append(pa.Table.from_arrays([columns[name][0] for name in names],
                                           schema=pa.schema([columns[name][1] for name in names])))
    return [pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)]


def _read_head(parquet: pq.ParquetFile, group: int, columns: list, rows: int,
               read: Callable[[list, list], pa.Table]) -> pa.Table:
    """The first ``rows`` rows of ``columns`` of row group ``group``, decoding no further."""
    try:
        batches = parquet.iter_batches(batch_size=rows, row_groups=[group], columns=columns, use_threads=True)
        try:
            batch = next(batches)
        finally:
            batches.close()
    except (pa.ArrowException, OSError):
        return read([group], columns).slice(0, rows)   # the reader's own read names the damage
    return normalise(pa.Table.from_batches([batch]))


