"""A plan's result as a stream of Arrow tables that all have one schema.

The executor's stream may change a column's type between tables: a later file widens an int
column to float (P2), JSON lines widen (P11), a column appears only in a later file. Collecting
(``to_pandas``) reconciles that at the end; a consumer that writes as it reads (a parquet file,
a Delta commit) needs the schema before the first table. So:

* :func:`conformed_tables` yields tables with one schema, the first table's unless one is given,
  casting narrower later tables up; a table that needs a wider schema raises
  :class:`SchemaChanged` (nothing of it was yielded).
* :func:`settled_schema` reads the whole result once, one table at a time, and returns the schema
  (and, for delimited files whose columns mix numbers and text, the plan that reads them as text)
  that collecting the result would give. Read again with it, every table conforms.

Writers try the one-pass way first and fall back to settling the schema only when the data
proves the first guess wrong, which costs one more read of the data.

Example:
    >>> schema, tables = None, conformed_tables(tbl._plan)                     # doctest: +SKIP
    >>> for table in tables: sink.write(table)                                 # doctest: +SKIP
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from .errors import UserErrorException
from .executor import (_conform, _conflicting_columns, _decode_dictionaries, _MixedTypes, list_files, retry_plan,
                       stream_tables, unified_schema, widened)
from .plan import Plan


class SchemaChanged(Exception):
    """A table of the stream does not fit the schema chosen so far (a wider type, a new column)."""

    def __init__(self, columns: list[str]):
        super().__init__(", ".join(columns))
        self.columns = columns


def conformed_tables(plan: Plan, storage_options: dict | None = None, schema: pa.Schema | None = None,
                     files=None, **stream_options) -> Iterator[pa.Table]:
    """The plan's tables, each with exactly ``schema`` (default: the first table's).

    Raises :class:`SchemaChanged` at the first table that needs a wider schema. ``stream_options``
    go to :func:`~mltable_lite.executor.stream_tables` (``wrap_reader``, ``piece``).
    """
    for table in stream_tables(plan, storage_options, files=files, **stream_options):
        if schema is None:
            table = _decode_dictionaries(table)
            schema = table.schema
            yield table
            continue
        yield fitted(plan, table, schema)   # (decodes dictionaries itself)


def fitted(plan: Plan, table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` (of ``plan``'s result) with exactly ``schema``, cast up where narrower; raises
    :class:`SchemaChanged` when it needs a wider one."""
    table = _decode_dictionaries(table)
    if table.schema.equals(schema, check_metadata=True):
        return table
    both = widened(plan, [schema.empty_table(), table])   # JSON lines: ints with floats, mixed (P11)
    if both is not None:
        table = both[1]
    changed = [field.name for field in table.schema
               if schema.get_field_index(field.name) < 0 or not fits(field, schema.field(field.name))]
    if changed:
        raise SchemaChanged(changed)
    try:
        return _conform(table, schema)
    except _MixedTypes:
        raise SchemaChanged([field.name for field in table.schema]) from None


def fits(field: pa.Field, target: pa.Field) -> bool:
    """Whether ``field``'s values can take ``target``'s type without the target changing.

    Example:
        >>> fits(pa.field("a", pa.int32()), pa.field("a", pa.int64())), fits(pa.field("a", pa.float64()), pa.field("a", pa.int64()))
        (True, False)
    """
    if field.type == target.type:
        return field.metadata == target.metadata or not field.metadata
    if pa.types.is_null(field.type):
        return True
    try:
        return unified_schema([pa.schema([target]), pa.schema([field])]).field(0).type == target.type
    except _MixedTypes:
        return False


def settled_schema(plan: Plan, storage_options: dict | None = None, files=None) -> tuple[Plan, pa.Schema]:
    """Read the result once and return ``(plan, schema)`` such that every table of ``plan``
    conforms to ``schema``: the schema collecting the whole result would have.

    Only one table is held at a time. Raises a :class:`UserErrorException` naming the columns
    when files disagree on a column's type in a way one Arrow column cannot hold (parquet files
    with an int in one and text in another), as ``to_arrow()`` does.
    """
    if files is None:
        files = list_files(plan, storage_options)
    schemas: list[pa.Schema] = []
    for table in stream_tables(plan, storage_options, files=files):
        schemas.append(_decode_dictionaries(table.slice(0, 0)).schema)
        schemas = [_merged(plan, schemas)] if _mergeable(plan, schemas) else schemas
    if not schemas:
        return plan, pa.schema([])
    if _mergeable(plan, schemas):
        return plan, _merged(plan, schemas)
    empties = [schema.empty_table() for schema in schemas]
    retry = retry_plan(plan, empties)
    if retry is not None:
        return settled_schema(retry, storage_options, files)
    raise UserErrorException(
        f"Column(s) {_conflicting_columns(empties)} hold values of different types in different files, which "
        "one column of the output cannot hold. Convert them to one type first, e.g. "
        "convert_column_types({'<column>': 'string'}).")


def _mergeable(plan: Plan, schemas: list[pa.Schema]) -> bool:
    try:
        _merged(plan, schemas)
    except _MixedTypes:
        return False
    return True


def _merged(plan: Plan, schemas: list[pa.Schema]) -> pa.Schema:
    if len(schemas) == 1:
        return schemas[0]
    tables = widened(plan, [schema.empty_table() for schema in schemas])
    if tables is not None:
        schemas = [table.schema for table in tables]
    return unified_schema(schemas)
