"""Parquet files → Arrow tables, one per row group, as the reference's ``read_parquet`` step.

Each file is yielded with its own schema (the executor unions schemas across files). What this
module adds on top of ``pyarrow.parquet``:

* **Row groups are the partitions** (as in the reference): :func:`parquet_partitions` lists them
  and ``read_parquet(..., row_groups=...)`` reads only the chosen ones.
* **Types the reference cannot read come out right** (policy P13): dictionary columns are decoded
  to their value type (at any depth), ``timestamp[s]`` keeps its true values, maps stay maps
  (``to_pandas`` turns them into lists of ``(key, value)`` tuples).
* **pandas metadata is dropped**: the reference ignores it, so a file written by
  ``DataFrame.to_parquet`` gives its ``__index_level_0__`` column as data and plain dtypes, never
  a restored index or a nullable/categorical extension dtype.
* **Clear errors** naming the file: a file that is not parquet at all (a CSV, say) raises
  :class:`UserErrorException` with the reference's ``Invalid Parquet file. Corrupt footer.``; a
  damaged parquet file raises :class:`ExecutionError`.

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

from typing import Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, ExecutionError, UserErrorException
from ..executor import ordered_map

__all__ = ["read_parquet", "parquet_partitions", "map_arrow_type"]

_MAGIC = b"PAR1"


def read_parquet(files: Sequence, step=None, columns: Sequence[str] | None = None, *,
                 row_groups: dict[int, list[int]] | None = None) -> Iterator[tuple[int, pa.Table]]:
    """Yield ``(file index, table)`` for every row group of every parquet file, in order.

    ``columns`` limits the columns read to those named that exist in each file (a file holding
    none of them still yields its rows, with no columns). ``row_groups`` maps a file index to the
    row groups to read from it; files missing from it are skipped entirely. A file with no rows
    yields one zero-row table that keeps the file's columns (policy P7).

    Example:
        >>> for index, table in read_parquet(files, ReadParquet(), columns=["id"]):   # doctest: +SKIP
        ...     print(index, table.column_names, table.num_rows)
        0 ['id'] 2
    """
    keep = None if columns is None else set(columns)
    chosen = [index for index, file in enumerate(files)
              if (row_groups is None or index in row_groups) and file.size != 0]
    if not chosen:
        return
    # The first file's first row group alone, on this thread: take(n) often needs no more.
    first = _OpenedParquet(files[chosen[0]], keep, None if row_groups is None else row_groups[chosen[0]])
    started = False
    try:
        yield chosen[0], first.head()

        # Then the rest of that file and every other file, two files decoding at once: each decode
        # is multi-threaded already, but overlapping files hides the join that ends each one
        # (about 8% of a folder read on 2 cores) and, remotely, one file's round trips.
        def tables_of(position: int) -> list[tuple[int, pa.Table]]:
            index = chosen[position]
            opened = first if position == 0 else _OpenedParquet(
                files[index], keep, None if row_groups is None else row_groups[index])
            try:
                return [(index, table) for table in (opened.rest() if position == 0 else opened.all())]
            finally:
                opened.close()

        started = True
        for tables in ordered_map(tables_of, range(len(chosen)), workers=_FILES_AT_ONCE):
            yield from tables
    finally:
        if not started:  # stopped after the head: the first file was never handed to a worker
            first.close()


_FILES_AT_ONCE = 2


class _OpenedParquet:
    """One parquet file, its footer read and the row groups to read checked: its head (first
    row group), the rest, or all of it, as tables (a file with no row groups to read gives one
    empty table with its columns, policy P7)."""

    def __init__(self, file, keep: set | None, groups: list[int] | None):
        self.file = file
        self.source = _open_source(file)
        try:
            self.parquet = _parquet_file(file, self.source)
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
            empty = self.schema.empty_table()
            return _normalise(empty if self.wanted is None else empty.select(self.wanted))
        return self._read(self.groups[:1])

    def rest(self) -> list[pa.Table]:
        # The other row groups in one call: one parallel decode over all of them is faster than one per group.
        return [self._read(self.groups[1:])] if len(self.groups) > 1 else []

    def all(self) -> list[pa.Table]:
        return [self.head(), *self.rest()]

    def close(self) -> None:
        self.source.close()

    def _read(self, groups: list[int]) -> pa.Table:
        try:
            table = (self.parquet.read_row_group(groups[0], columns=self.wanted, use_threads=True) if len(groups) == 1
                     else self.parquet.read_row_groups(groups, columns=self.wanted, use_threads=True))
        except (pa.ArrowException, OSError) as error:
            shown = groups[0] if len(groups) == 1 else f"{groups[0]}-{groups[-1]}"
            raise ExecutionError(
                f"Cannot read row group {shown} of parquet file '{self.file.display}': {error}. "
                "The file is damaged or truncated; write it again."
            ) from None
        return _normalise(table)


def parquet_partitions(files: Sequence) -> list[tuple[int, int]]:
    """Every ``(file index, row group index)`` pair, in file then row-group order.

    The reference counts parquet partitions as row groups: this list's length is
    ``get_partition_count()`` and ``select_partitions([i, ...])`` picks its items. Only the file
    footers are read. 0-byte files have no partitions.

    Example:
        >>> pq.write_table(pa.table({"id": range(10)}), "/tmp/rg.parquet", row_group_size=4)  # doctest: +SKIP
        >>> parquet_partitions(expand_paths([PathSpec("file", "file:///tmp/rg.parquet")]))  # doctest: +SKIP
        [(0, 0), (0, 1), (0, 2)]
    """

    def count(file) -> int:
        if file.size == 0:
            return 0
        source = _open_source(file)
        try:
            return _parquet_file(file, source).num_row_groups
        finally:
            source.close()

    if len(files) > 4 and not all(_is_local(file) for file in files):
        # Remote footers cost a round trip each; fetch them concurrently.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(16, len(files))) as pool:
            counts = list(pool.map(count, files))
    else:
        counts = [count(file) for file in files]
    return [(index, group) for index, groups in enumerate(counts) for group in range(groups)]


def map_arrow_type(data_type: pa.DataType, leaf: Callable[[pa.DataType], pa.DataType]) -> pa.DataType:
    """``data_type`` with ``leaf`` applied to every non-nested type inside it, field names kept.

    Dictionaries count as nested: their value type is mapped (and ``leaf`` decides whether the
    dictionary itself stays; see :func:`_decoded`).

    Example:
        >>> map_arrow_type(pa.list_(pa.int32()), lambda t: pa.int64())
        ListType(list<item: int64>)
    """
    if pa.types.is_struct(data_type):
        return pa.struct([_map_field(data_type.field(i), leaf) for i in range(data_type.num_fields)])
    if pa.types.is_map(data_type):
        return pa.map_(_map_field(data_type.key_field, leaf), _map_field(data_type.item_field, leaf),
                       keys_sorted=data_type.keys_sorted)
    if pa.types.is_large_list(data_type):
        return pa.large_list(_map_field(data_type.value_field, leaf))
    if pa.types.is_fixed_size_list(data_type):
        return pa.list_(_map_field(data_type.value_field, leaf), data_type.list_size)
    if pa.types.is_list(data_type):
        return pa.list_(_map_field(data_type.value_field, leaf))
    if pa.types.is_dictionary(data_type):
        return leaf(pa.dictionary(data_type.index_type, map_arrow_type(data_type.value_type, leaf),
                                  data_type.ordered))
    return leaf(data_type)


def _map_field(field: pa.Field, leaf) -> pa.Field:
    return field.with_type(map_arrow_type(field.type, leaf))


def _decoded(data_type: pa.DataType) -> pa.DataType:
    # pandas would make a dictionary column `category` (never a reference dtype) and the reference
    # itself panics on them (P13): give the plain values instead.
    return data_type.value_type if pa.types.is_dictionary(data_type) else data_type


def _normalise(table: pa.Table) -> pa.Table:
    """Decode dictionaries, drop schema metadata (the pandas index/dtype hints), and read null
    objects holding only lists as the reference does (:func:`_lists_object_nulls_as_reference`)."""
    if table.num_columns == 0:
        return table  # replace_schema_metadata would lose the row count of a column-less table
    target = pa.schema([_map_field(field, _decoded) for field in table.schema])
    if not target.equals(table.schema, check_metadata=False):
        table = table.cast(target)
    for index, field in enumerate(table.schema):
        if _holds_lists_object(field.type):
            table = table.set_column(index, field, _lists_object_nulls_as_reference(table.column(index)))
    return table.replace_schema_metadata(None) if table.schema.metadata else table


def _lists_object(data_type: pa.DataType) -> bool:
    """A struct whose fields are all lists (or such structs)."""
    return pa.types.is_struct(data_type) and data_type.num_fields > 0 and all(
        pa.types.is_list(field.type) or pa.types.is_large_list(field.type) or _lists_object(field.type)
        for field in data_type)


def _holds_lists_object(data_type: pa.DataType) -> bool:
    return pa.types.is_struct(data_type) and (
        _lists_object(data_type) or any(_holds_lists_object(field.type) for field in data_type))


def _lists_object_nulls_as_reference(array):
    """The reference reads a null struct whose fields are all lists as a struct of nulls
    (``{'a': {'b': None}}``, not ``{'a': None}``), at any depth of structs; observed, matched."""
    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([_lists_object_nulls_as_reference(chunk) for chunk in array.chunks], array.type)
    if not _holds_lists_object(array.type):
        return array
    children = array.flatten() if array.null_count else [array.field(i) for i in range(array.type.num_fields)]
    keeps_nulls = array.null_count and not _lists_object(array.type)
    return pa.StructArray.from_arrays([_lists_object_nulls_as_reference(child) for child in children],
                                      fields=list(array.type), mask=array.is_null() if keeps_nulls else None)


def _is_local(file) -> bool:
    from ..storage import LocalStore

    return isinstance(file.store, LocalStore)


def _open_source(file):
    """A random-access input for ``file``: PyArrow's native file when the store offers one, else
    the store's ``open_random_access``."""
    try:
        try:
            filesystem = file.store.arrow_filesystem
        except NotImplementedError:
            return file.store.open_random_access(file.path)
        return filesystem.open_input_file(file.path)
    except FileNotFoundError:
        raise UserErrorException(
            f"{NOT_FOUND_MESSAGE} file '{file.display}' disappeared before it could be read.",
            error_code=NOT_FOUND_CODE,
        ) from None


def _parquet_file(file, source) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as error:
        raise _invalid_parquet(file, source, error) from None


def _invalid_parquet(file, source, error: Exception) -> Exception:
    head, tail = _ends(source)
    if tail != _MAGIC:
        # No parquet footer at all: most often a CSV or JSON file given to from_parquet_files.
        kind = "does not start or end" if head != _MAGIC else "does not end"
        return UserErrorException(
            f"Invalid Parquet file. Corrupt footer. '{file.display}' {kind} with the parquet magic "
            f"bytes 'PAR1', so it is not a parquet file (or was cut short). If it holds delimited "
            "text, read it with mltable.from_delimited_files; JSON lines with "
            "mltable.from_json_lines_files."
        )
    return ExecutionError(
        f"Cannot read parquet file '{file.display}': {error}. The file is damaged; write it again."
    )


def _ends(source) -> tuple[bytes, bytes]:
    """The first and last four bytes of ``source`` (empty when they cannot be read)."""
    try:
        source.seek(0)
        head = source.read(4)
        size = source.seek(0, 2)
        if size < 8:
            return head, b""
        source.seek(size - 4)
        return head, source.read(4)
    except (OSError, ValueError):
        return b"", b""
