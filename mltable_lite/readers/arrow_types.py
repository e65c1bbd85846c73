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

__all__ = ["map_arrow_type", "normalise", "nulls_under_null_objects", "holds_struct"]


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
