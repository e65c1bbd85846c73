"""Arrow type helpers the readers share: mapping nested types, the normal form of a table read
from parquet (the parquet and Delta readers), and nulls under null objects (JSON values).

Example:
    >>> import pyarrow as pa
    >>> map_arrow_type(pa.list_(pa.int32()), lambda t: pa.int64())
    ListType(list<item: int64>)
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa

__all__ = ["map_arrow_type", "normalise", "no_rows", "nulls_under_null_objects", "holds_struct"]


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


def normalise(table: pa.Table) -> pa.Table:
    """Decode dictionaries (at any depth), drop schema metadata (the pandas index/dtype hints), and
    read null objects holding only lists as the reference does (:func:`_lists_object_nulls_as_reference`).

    Example:
        >>> table = pa.table({"c": pa.array(["a", "a"]).dictionary_encode()})
        >>> normalise(table).schema.field("c").type
        DataType(string)
    """
    if table.num_columns == 0:
        return table  # replace_schema_metadata would lose the row count of a column-less table
    target, objects = _normal_form(table.schema)
    if target is not None:
        table = table.cast(target)
    for index in objects:
        field = table.schema.field(index)
        table = table.set_column(index, field, _lists_object_nulls_as_reference(table.column(index)))
    return table.replace_schema_metadata(None) if table.schema.metadata else table


def no_rows(schema: pa.Schema, columns: tuple | None = None) -> pa.Table:
    """The :func:`normalise` d table with no rows of ``schema`` (only ``columns``, when given).
    Made once for the files of a read that share a schema; each call gives a new table object
    (a slice of the kept one), since ``to_pandas(self_destruct=True)`` destroys the one it is given.

    Example:
        >>> no_rows(pa.schema([("c", pa.dictionary(pa.int8(), pa.string()))])).schema.field("c").type
        DataType(string)
    """
    def empty(known: pa.Schema) -> pa.Table:
        table = known.empty_table()
        return normalise(table if columns is None else table.select(list(columns)))

    return _by_schema(_NO_ROWS, schema, columns, empty).slice(0, 0)


def _normal_form(schema: pa.Schema) -> tuple[pa.Schema | None, tuple[int, ...]]:
    """What :func:`normalise` does to tables of ``schema`` (files of one read mostly share one):
    the schema to cast to (None: none needed) and the columns holding lists objects."""
    def plan(known: pa.Schema):
        target = pa.schema([_map_field(field, _decoded) for field in known])
        objects = tuple(index for index, field in enumerate(target) if _holds_lists_object(field.type))
        return (None if target.equals(known, check_metadata=False) else target), objects

    return _by_schema(_NORMAL_FORMS, schema, None, plan)


_NO_ROWS: dict = {}
_NORMAL_FORMS: dict = {}


def _by_schema(cache: dict, schema: pa.Schema, extra, compute: Callable):
    """``compute(schema)``, remembered for schemas equal to it metadata and all (``==`` on
    schemas ignores metadata, which the results keep). A few hundred entries at most."""
    key = (schema, extra)
    for known, value in cache.get(key, ()):
        if known.equals(schema, check_metadata=True):
            return value
    if len(cache) > 256:
        cache.clear()
    value = compute(schema)
    cache.setdefault(key, []).append((schema, value))
    return value


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


def nulls_under_null_objects(array):
    """``array`` with the fields of every null object null too.

    Arrow may keep a value under a null parent; pandas would then show ``{'x': 1}`` where the
    reference, whose objects' fields are null wherever the object is, shows ``{'x': 1.0}``.
    """
    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([nulls_under_null_objects(chunk) for chunk in array.chunks], array.type)
    data_type = array.type
    if pa.types.is_struct(data_type):
        children = array.flatten() if array.null_count else [array.field(i) for i in range(data_type.num_fields)]
        return pa.StructArray.from_arrays([nulls_under_null_objects(child) for child in children],
                                          fields=list(data_type),
                                          mask=array.is_null() if array.null_count else None)
    if (pa.types.is_list(data_type) or pa.types.is_large_list(data_type)) and holds_struct(data_type.value_type):
        kind = pa.ListArray if pa.types.is_list(data_type) else pa.LargeListArray
        return kind.from_arrays(array.offsets, nulls_under_null_objects(array.values), type=data_type,
                                mask=array.is_null() if array.null_count else None)
    return array


def holds_struct(data_type: pa.DataType) -> bool:
    """Whether ``data_type`` is a struct, or a list of them (at any depth)."""
    if pa.types.is_struct(data_type):
        return True
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return holds_struct(data_type.value_type)
    return False
