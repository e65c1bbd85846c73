"""Columns whose values have several types, carried as JSON text (policy P11).

The reference nulls every value of a JSON lines column whose type differs from the first one;
we keep them all. Arrow cannot hold ``1`` and ``"two"`` in one column, so such a column travels
as **JSON text**: ``pa.large_string`` holding ``json.dumps`` of each value (null stays null), its
field marked with ``{b"mltable_lite.json": b"mixed"}`` (:data:`MIXED_METADATA`). The JSON lines
reader makes them; the executor combines tables holding them (:func:`harmonize_json_tables`) and
turns them back into Python values after ``to_pandas`` (:func:`restore_mixed`).

Example:
    >>> import pyarrow as pa
    >>> a, b = pa.table({"v": [1]}), pa.table({"v": ["two"]})
    >>> table = pa.concat_tables(harmonize_json_tables([a, b]))
    >>> list(restore_mixed(table.to_pandas(), table.schema)["v"])
    [1, 'two']
"""

from __future__ import annotations

import json
from typing import Sequence

import pyarrow as pa

from .readers.arrow_types import nulls_under_null_objects

__all__ = ["MIXED_METADATA", "is_mixed", "mixed_columns", "has_mixed", "mixed_field", "to_mixed", "json_text",
           "restore_mixed", "harmonize_json_tables"]

MIXED_METADATA = {b"mltable_lite.json": b"mixed"}
_MIXED_KEY = b"mltable_lite.json"
_MIXED_TYPE = pa.large_string()


def is_mixed(field: pa.Field) -> bool:
    """Whether ``field`` is a mixed-type JSON column carried as JSON text."""
    return bool(field.metadata) and field.metadata.get(_MIXED_KEY) == MIXED_METADATA[_MIXED_KEY]


def mixed_columns(schema: pa.Schema) -> list[str]:
    """Names of the mixed-type JSON columns in ``schema``.

    Example:
        >>> mixed_columns(pa.schema([pa.field("v", pa.large_string(), metadata=MIXED_METADATA)]))
        ['v']
    """
    return [field.name for field in schema if is_mixed(field)]


def restore_mixed(df, schema: pa.Schema):
    """Decode the mixed JSON columns of ``df`` (made by ``to_pandas`` from ``schema``) in place.

    Each cell becomes the Python value it was in the file, rendered as an unmixed column would
    render it (dicts, numpy arrays for arrays); nulls become ``None``. Returns ``df``.
    Columns of ``schema`` missing from ``df`` (dropped by later steps) are ignored.

    Example:
        >>> table = pa.table({"v": pa.array(['1', '"two"', None], pa.large_string())})
        >>> table = table.cast(pa.schema([pa.field("v", pa.large_string(), metadata=MIXED_METADATA)]))
        >>> list(restore_mixed(table.to_pandas(), table.schema)["v"])
        [1, 'two', None]
    """
    import numpy as np
    import pandas as pd

    for name in mixed_columns(schema):
        if name not in df.columns:
            continue
        cells = np.empty(len(df), dtype=object)
        # Item by item: a bulk assignment would let numpy broadcast equal-length arrays into a 2-D array.
        for position, cell in enumerate(df[name].tolist()):
            cells[position] = _render(json.loads(cell)) if isinstance(cell, str) else None
        df[name] = pd.Series(cells, dtype=object, index=df.index)
    return df


def to_mixed(array) -> pa.Array:
    """Any Arrow array (or chunked array) of JSON-like values as mixed JSON text.

    Example:
        >>> to_mixed(pa.array([1, None])).to_pylist()
        ['1', None]
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], array.type)
    return pa.array([None if value is None else json_text(value) for value in array.to_pylist()],
                    _MIXED_TYPE)


def harmonize_json_tables(tables: Sequence[pa.Table]) -> list[pa.Table]:
    """The JSON lines ``tables`` with one type per column name, ready for ``pa.concat_tables``
    (``promote_options="default"`` then fills missing columns with nulls).

    A column null-typed in some tables takes the others' type; int64 with float64 becomes
    float64; nested types merge when Arrow can unify them; any other clash (int and string,
    bool and int, a mixed column and anything) makes the column mixed in every table, so the
    reference-style result of ``restore_mixed`` after ``to_pandas`` holds the original values.

    Example:
        >>> a, b = pa.table({"v": [1]}), pa.table({"v": ["two"]})
        >>> [t.schema.field("v").type for t in harmonize_json_tables([a, b])]
        [DataType(large_string), DataType(large_string)]
    """
    fields: dict[str, list[pa.Field]] = {}
    for table in tables:
        for field in table.schema:
            fields.setdefault(field.name, []).append(field)
    targets: dict[str, pa.Field] = {}
    for name, seen in fields.items():
        typed = [field for field in seen if not pa.types.is_null(field.type)]
        distinct = {field.type for field in typed if not is_mixed(field)}
        if any(is_mixed(field) for field in typed):
            targets[name] = mixed_field(name)
        elif len(distinct) == 1:
            targets[name] = typed[0].with_metadata(None)
        elif distinct and distinct <= {pa.int64(), pa.float64()}:
            targets[name] = pa.field(name, pa.float64())
        elif distinct and all(_is_nested(t) for t in distinct):
            targets[name] = _unified_nested(name, typed)
        elif distinct:
            targets[name] = mixed_field(name)
    out = []
    for table in tables:
        for position, field in enumerate(table.schema):
            target = targets.get(field.name)
            if target is None or field.type == target.type and field.metadata == target.metadata:
                continue
            column = table.column(position)
            if is_mixed(target):
                column = to_mixed(column)
            else:
                try:
                    column = column.cast(target.type)
                except (pa.ArrowException, ValueError):
                    # Arrow could unify the types but not cast this data: keep every value.
                    column = to_mixed(column)
                    target = mixed_field(field.name)
            table = table.set_column(position, target, column)
        out.append(table)
    # A failed cast above may have made a column mixed in some tables only; one more pass makes it
    # mixed everywhere (mixed always wins, so this ends).
    states: dict[str, set[bool]] = {}
    for table in out:
        for field in table.schema:
            if not pa.types.is_null(field.type):
                states.setdefault(field.name, set()).add(is_mixed(field))
    if any(len(state) > 1 for state in states.values()):
        return harmonize_json_tables(out)
    return out


def _is_nested(data_type: pa.DataType) -> bool:
    return pa.types.is_struct(data_type) or pa.types.is_list(data_type) or pa.types.is_large_list(data_type)


def _unified_nested(name: str, fields: list[pa.Field]) -> pa.Field:
    try:
        schema = pa.unify_schemas([pa.schema([field.with_metadata(None)]) for field in fields],
                                  promote_options="permissive")
    except (pa.ArrowException, ValueError):
        return mixed_field(name)
    return schema.field(name)


def mixed_field(name: str) -> pa.Field:
    """The field of a mixed column named ``name``."""
    return pa.field(name, _MIXED_TYPE, metadata=MIXED_METADATA)


def json_text(value) -> str:
    """One value of a mixed column: ``value`` as compact JSON."""
    # ensure_ascii keeps lone surrogates (legal in JSON escapes, illegal in UTF-8) representable.
    return json.dumps(value, separators=(",", ":"))


def _render(value):
    """A decoded JSON value as pandas shows it in a column of its own type."""
    if isinstance(value, (dict, list)):
        try:
            array = nulls_under_null_objects(pa.array([value]))
            rendered = array.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=False)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            rendered = ()
        if len(rendered) == 1:
            return rendered.iloc[0]
        # Arrow cannot hold it (mixed lists, ints beyond int64) or loses it (an empty object).
        import numpy as np

        if isinstance(value, dict):
            return {key: _render(item) for key, item in value.items()}
        items = np.empty(len(value), dtype=object)
        for position, item in enumerate(value):  # item by item: no broadcasting into 2-D
            items[position] = _render(item)
        return items
    return value


def has_mixed(schema: pa.Schema) -> bool:
    """Whether ``schema`` has a mixed-type column (carried as JSON text)."""
    return any(field.metadata and _MIXED_KEY in field.metadata for field in schema)
