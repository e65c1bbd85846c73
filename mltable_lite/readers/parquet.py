"""Parquet files → Arrow tables, one per row group, as the reference's ``read_parquet`` step.

Each file is yielded with its own schema (the executor unions schemas across files). What this
module adds on top of ``pyarrow.parquet``:

* **Row groups are the partitions** (as in the reference): :func:`parquet_partitions` lists them,
  :func:`prune_row_groups` drops those whose statistics rule out a filter, and
  ``read_parquet(..., row_groups=...)`` reads only the chosen ones (:data:`FORMAT` answers the
  executor's protocol with these).
* **Types the reference cannot read come out right** (policy P13): dictionary columns are decoded
  to their value type (at any depth), ``timestamp[s]`` keeps its true values, maps stay maps
  (``to_pandas`` turns them into lists of ``(key, value)`` tuples).
* **pandas metadata is dropped**: the reference ignores it, so a file written by
  ``DataFrame.to_parquet`` gives its ``__index_level_0__`` column as data and plain dtypes, never
  a restored index or a nullable/categorical extension dtype.
* **Clear errors** naming the file: a file that is not parquet at all (a CSV, say) raises
  :class:`UserErrorException` with the reference's ``Invalid Parquet file. Corrupt footer.``; a
  damaged parquet file raises :class:`ExecutionError` (:mod:`.parquet_files`).

Decisions where the reference says nothing: a 0-byte file adds no rows and no columns (like empty
files in the other formats, and so that Spark's ``_SUCCESS`` markers in an output folder do no
harm); ``timestamp[s]`` keeps its unit (``datetime64[s]``) just as ns/us/ms keep theirs.

Example:
    >>> import pyarrow.parquet as pq, pyarrow as pa
    >>> from mltable_lite.plan import PathSpec, ReadParquet
    >>> from mltable_lite.storage import expand_paths
    >>> pq.write_table(pa.table({"id": [1, 2]}), "/tmp/doc.parquet")
    >>> files = expand_paths([PathSpec("file", "file:///tmp/doc.parquet")])
    >>> [(i, t.num_rows) for i, t in read_parquet(files, ReadParquet())]
    [(0, 2)]
"""

from __future__ import annotations

from typing import Iterator, Sequence

import pyarrow as pa

from ..concurrency import ordered_map
from ..errors import ExecutionError
from .arrow_types import no_rows, normalise
from .format import Format
from .parquet_files import footer, is_empty, open_source, parquet_file, statistics_fragment

__all__ = ["read_parquet", "parquet_partitions", "prune_row_groups", "FORMAT"]


def read_parquet(files: Sequence, step=None, columns: Sequence[str] | None = None, *,
                 row_groups: dict[int, list[int]] | None = None,
                 row_filters: list | None = None) -> Iterator[tuple[int, pa.Table]]:
    """Yield ``(file index, table)`` for every row group of every parquet file, in order.

    ``columns`` limits the columns read to those named that exist in each file (a file holding
    none of them still yields its rows, with no columns). ``row_groups`` maps a file index to the
    row groups to read from it; files missing from it are skipped entirely. A file with no rows
    yields one zero-row table that keeps the file's columns (policy P7).

    ``row_filters`` (parsed filter trees) are filters the caller applies to the rows afterwards:
    local files then give, of each row group, only the run of rows from the first that can pass
    them to the last (:mod:`.parquet_rows`), which the filters reduce to the same rows.

    Example:
        >>> for index, table in read_parquet(files, ReadParquet(), columns=["id"]):   # doctest: +SKIP
        ...     print(index, table.column_names, table.num_rows)
        0 ['id'] 2
    """
    keep = None if columns is None else set(columns)
    late = None if not row_filters else _Late(row_filters)
    chosen = [index for index, file in enumerate(files)
              if (row_groups is None or index in row_groups) and file.size != 0]
    if not chosen:
        return
    # The first file's first row group alone, on this thread: take(n) often needs no more.
    first = _OpenedParquet(files[chosen[0]], keep, None if row_groups is None else row_groups[chosen[0]], late)
    started = False
    try:
        yield chosen[0], first.head()

        # Then the rest of that file and every other file, two files decoding at once: each decode
        # is multi-threaded already, but overlapping files hides the join that ends each one
        # (about 8% of a folder read on 2 cores) and, remotely, one file's round trips.
        def tables_of(position: int) -> list[tuple[int, pa.Table]]:
            index = chosen[position]
            opened = first if position == 0 else _OpenedParquet(
                files[index], keep, None if row_groups is None else row_groups[index], late)
            try:
                return [(index, table) for table in (opened.rest() if position == 0 else opened.all())]
            finally:
                opened.close()

        started = True
        positions = range(len(chosen))
        # Threads only when two or more files have row groups to decode: a filter whose statistics
        # rule out every other file (they give just their columns, policy P7) is read inline.
        decoding = sum(bool(row_groups[index]) for index in chosen[1:]) if row_groups is not None else len(chosen)
        if row_groups is not None and decoding + (len(row_groups[chosen[0]]) > 1) <= 1:
            for position in positions:
                yield from tables_of(position)
        else:
            for tables in ordered_map(tables_of, positions, workers=_FILES_AT_ONCE):
                yield from tables
    finally:
        if not started:  # stopped after the head: the first file was never handed to a worker
            first.close()


_FILES_AT_ONCE = 2
# Late materialisation goes on in a file while it leaves at least a fifth of the rows unread.
_WORTHWHILE = 0.8


class _Late:
    """Row filters for late materialisation, with their compiled forms shared by the files of one read."""

    def __init__(self, filters: list):
        self.filters, self.compiled = filters, {}


class _OpenedParquet:
    """One parquet file, its footer read and the row groups to read checked: its head (first
    row group), the rest, or all of it, as tables (a file with no row groups to read gives one
    empty table with its columns, policy P7)."""

    def __init__(self, file, keep: set | None, groups: list[int] | None, late: _Late | None = None):
        self.file = file
        # Local files only: a remote one would pay a second round of requests for the other columns.
        self.late = None if file.store.remote else late
        if groups is not None and not groups:
            # Every row group pruned: only the columns are needed, and the footer (already read to
            # prune) holds them; the file is not opened again.
            metadata = footer(file)
            self.source, self.parquet, self.groups = None, None, []
            self.schema = pa.schema([]) if metadata is None else metadata.schema.to_arrow_schema()
            self.wanted = None if keep is None else [name for name in self.schema.names if name in keep]
            return
        self.source = open_source(file)
        try:
            if file.size < 0 and is_empty(self.source):   # listed without a size, and empty
                self.parquet, self.schema, self.wanted, self.groups = None, pa.schema([]), None, []
                return
            self.parquet = parquet_file(file, self.source)
            self.schema = self.parquet.schema_arrow
            self.wanted = None if keep is None else [name for name in self.schema.names if name in keep]
            count = self.parquet.num_row_groups
            self.groups = list(range(count) if groups is None else groups)
            for group in self.groups:
                if not 0 <= group < count:
                    raise ExecutionError(f"Parquet file '{file.display}' has {count} row groups; "
                                         f"row group {group} does not exist.")
        except BaseException:
            self.source.close()
            raise

    def head(self) -> pa.Table:
        if not self.groups:
            return no_rows(self.schema, None if self.wanted is None else tuple(self.wanted))
        return self._read_matching(self.groups[:1])[0]

    def rest(self) -> list[pa.Table]:
        # The other row groups in one call: one parallel decode over all of them is faster than one per group.
        return self._read_matching(self.groups[1:]) if len(self.groups) > 1 else []

    def _read_matching(self, groups: list[int]) -> list[pa.Table]:
        if self.late is not None:
            from .parquet_rows import read_matching

            names = self.schema.names if self.wanted is None else self.wanted
            tables = read_matching(self.parquet, groups, names, self.late.filters, self.late.compiled,
                                   lambda chosen, columns: self._read(chosen, columns))
            if tables is not None:
                if sum(table.num_rows for table in tables) >= _WORTHWHILE * sum(
                        self.parquet.metadata.row_group(group).num_rows for group in groups):
                    self.late = None   # the filter keeps rows all over: read the rest of the file whole
                return tables
            self.late = None
        return [self._read(groups)]

    def all(self) -> list[pa.Table]:
        return [self.head(), *self.rest()]

    def close(self) -> None:
        if self.source is not None:
            self.source.close()

    def _read(self, groups: list[int], columns: list[str] | None = None) -> pa.Table:
        columns = self.wanted if columns is None else columns
        # One column of one row group is decoded on this thread: the pool has nothing to share out.
        threads = len(groups) > 1 or columns is None or len(columns) > 1
        try:
            table = (self.parquet.read_row_group(groups[0], columns=columns, use_threads=threads) if len(groups) == 1
                     else self.parquet.read_row_groups(groups, columns=columns, use_threads=threads))
        except (pa.ArrowException, OSError) as error:
            shown = groups[0] if len(groups) == 1 else f"{groups[0]}-{groups[-1]}"
            raise ExecutionError(
                f"Cannot read row group {shown} of parquet file '{self.file.display}': {error}. "
                "The file is damaged or truncated; write it again."
            ) from None
        return normalise(table)


def parquet_partitions(files: Sequence, statistics: bool = False) -> list[tuple[int, int]]:
    """Every ``(file index, row group index)`` pair, in file then row-group order.

    The reference counts parquet partitions as row groups: this list's length is
    ``get_partition_count()`` and ``select_partitions([i, ...])`` picks its items. Only the file
    footers are read (``statistics``: ready for :func:`prune_row_groups` too). 0-byte files have
    no partitions.

    Example:
        >>> import os, tempfile
        >>> import pyarrow as pa, pyarrow.parquet as pq
        >>> from mltable_lite.plan import PathSpec
        >>> from mltable_lite.storage import expand_paths
        >>> path = os.path.join(tempfile.mkdtemp(), "rg.parquet")
        >>> pq.write_table(pa.table({"id": range(10)}), path, row_group_size=4)
        >>> parquet_partitions(expand_paths([PathSpec("file", "file://" + path)]))
        [(0, 0), (0, 1), (0, 2)]
    """

    def count(file) -> int:
        metadata = footer(file, statistics)
        return 0 if metadata is None else metadata.num_row_groups

    if len(files) > 1 and not all(_is_local(file) for file in files):
        # Remote footers cost a round trip each; fetch them concurrently.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(16, len(files))) as pool:
            counts = list(pool.map(count, files))
    else:
        counts = [count(file) for file in files]
    return [(index, group) for index, groups in enumerate(counts) for group in range(groups)]


def _is_local(file) -> bool:
    from ..storage import LocalStore

    return isinstance(file.store, LocalStore)


def prune_row_groups(files: list, selected: list, filters: list) -> list:
    """Drop ``(file, row group)`` pairs whose statistics prove no row passes ``filters``.

    A file whose schema the filter cannot be compiled against is kept whole: the filter step
    reports the problem when it runs. The common filter (comparisons of number columns with
    numbers) is decided in Python (:mod:`.parquet_stats`), any other by PyArrow's dataset logic.

    Example:
        >>> prune_row_groups(files, [(0, 0), (0, 1)], [parse("n >= 1450")])   # doctest: +SKIP
        [(0, 1)]
    """
    from ..expressions import compile_filter
    from .parquet_stats import row_groups_passing

    by_file: dict = {}
    for file_index, group in selected:
        by_file.setdefault(file_index, []).append(group)
    surviving = set()
    compiled: dict = {}   # physical schema → the filters compiled for it (files mostly share one)
    for file_index, groups in by_file.items():
        file = files[file_index]
        kept = row_groups_passing(footer(file), filters)
        if kept is not None:
            surviving.update((file_index, group) for group in groups if group in kept)
            continue
        try:
            # The footer already read (counting row groups read it): pyarrow's statistics logic decides.
            fragment = statistics_fragment(file)
            physical = fragment.physical_schema
            expression = compiled.get(physical)
            if expression is None:
                schema = pa.schema([field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type)
                                    else field for field in physical])
                for tree in filters:
                    one = compile_filter(tree, schema)
                    expression = one if expression is None else expression & one
                compiled[physical] = expression
            kept = {part.row_groups[0].id for part in fragment.split_by_row_group(filter=expression)}
        except Exception:  # noqa: BLE001 - pruning is an optimisation; reading decides errors
            kept = set(groups)
        surviving.update((file_index, group) for group in groups if group in kept)
    return [pair for pair in selected if pair in surviving]


class ParquetFormat(Format):
    """Parquet to the executor: row groups are the partitions, pruned by statistics."""

    def read_files(self, files, step, columns=None, **options):
        return read_parquet(files, step, columns, **options)

    def partitions(self, files, step, filters=None):
        return parquet_partitions(files, statistics=bool(filters))

    def prune(self, files, selected, filters):
        return prune_row_groups(files, selected, filters)

    def part_rows(self, file, step, parts, position):
        source = open_source(file)
        try:
            metadata = parquet_file(file, source).metadata
        finally:
            source.close()
        return None if metadata.num_row_groups == 1 else [metadata.row_group(part).num_rows for part in parts]

    def read(self, files, step, columns=None, parts=None, context=None, row_filters=None):
        # Row groups are read independently: the context (the bigger read) changes nothing.
        # A file mapped to no row groups (all pruned) still gives its columns (policy P7).
        return self.read_files(files, step, columns, row_groups=parts, row_filters=row_filters)


FORMAT = ParquetFormat()
