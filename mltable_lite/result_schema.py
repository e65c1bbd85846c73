"""``collect_schema``: the result's columns and types, without reading the data.

The plan runs as it would for ``to_arrow()`` (listing, pruning, partition columns, every
transform, the same unification of files), but each format is asked for empty tables only:

* **parquet**: each file's footer (no row group is read);
* **Delta Lake**: the snapshot's schema from the transaction log (no data file is opened);
* **delimited and JSON lines**: the first rows of the data, as far as the inference sample goes
  (:data:`SAMPLE_ROWS` rows, the head of the first file or files).

So the schema equals ``to_arrow().schema``, except where a text file holds, after the sample,
values that do not fit the sampled type: ``to_arrow()`` then widens that column (policy P2) and
the schema from the sample cannot know it.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files([{"pattern": "examples/data/trips/*.csv"}])
    >>> tbl.keep_columns(["trip_id", "fare"]).collect_schema()
    trip_id: int64
    fare: double
"""

from __future__ import annotations

from typing import Callable, Iterator

import pyarrow as pa

from .plan import Plan, ReadDeltaLake, ReadParquet

__all__ = ["collect_schema", "SAMPLE_ROWS"]

# Rows of a text format read for its schema: the delimited reader's default inference sample.
SAMPLE_ROWS = 200


def collect_schema(plan: Plan, storage_options: dict | None = None, files=None) -> pa.Schema:
    """The schema ``to_arrow()`` would return for ``plan``, from footers, the Delta log or a sample.
    ``files``: the plan's listing, when the caller has it (its footers are then read once)."""
    from .executor import to_arrow

    return to_arrow(plan, storage_options, wrap_reader=_schema_only, files=files).schema


def _schema_only(read: Callable) -> Callable:
    """A reader with the same contract as ``read`` that yields empty tables of the right types."""

    def probe(files, step, columns=None, **options) -> Iterator[tuple[int, pa.Table]]:
        if isinstance(step, ReadParquet):
            # Every file with no row group to read: the reader opens its footer and yields its columns.
            groups = options.get("row_groups")
            chosen = range(len(files)) if groups is None else groups
            yield from read(files, step, columns, row_groups={index: [] for index in chosen})
        elif isinstance(step, ReadDeltaLake):
            from .readers.delta import empty_table

            for index, file in enumerate(files):
                yield index, empty_table(file, columns)
        else:
            yield from _sampled(read(files, step, columns, **options))

    return probe


_schema_only.reads_data = False   # the executor fetches no file ahead for it


def _sampled(stream) -> Iterator[tuple[int, pa.Table]]:
    rows = 0
    try:
        for index, table in stream:
            yield index, table.slice(0, 0)
            rows += table.num_rows
            if rows >= SAMPLE_ROWS:
                return
    finally:
        stream.close()
