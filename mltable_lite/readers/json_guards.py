"""What the JSON lines fast path must not be given, and what it gets silently wrong.

PyArrow's JSON reader is fast but not hostile-input safe: it recurses once per nesting level on
a thread of fixed stack (a line nested 20 000 deep kills the interpreter), reads a ``null`` line
as a row of nulls, and parses integers beyond int64 into rounded floats (``10**400`` into
``inf``; an int beyond 2**53 beside floats into a rounded float). The checks here decide, cheaply,
when a piece must take the exact path instead (``json.loads`` per line), which reports or keeps
each of those exactly:

* :func:`may_nest_too_deep` before PyArrow sees a piece: a bound from line lengths, bracket
  counts only for long lines, and an exact string-aware depth only for lines that could be deep;
* :func:`has_null_line` and :func:`has_inexact_floats` after it parsed one;
* :func:`line_problem` on each line of the exact path: more than :data:`MAX_DEPTH` levels (the
  reference's own limit is about that deep) or a lone surrogate escape makes it an invalid line.

Example:
    >>> may_nest_too_deep(b'{"a": [1, 2]}\\n', longest_line=14)
    False
    >>> value_depth({"a": [[1], 2]}), nesting_depth(b'{"a": "]]", "b": [[1]]}')
    (3, 3)
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

#: Deepest nesting of a line (the object itself counts as one level). The reference fails beyond
#: about 64 levels; deeper lines are invalid lines here (an error naming the line, or dropped).
MAX_DEPTH = 64
# Nesting PyArrow's reader is given at most: far below the depth that overflows its stack.
_PYARROW_SAFE_DEPTH = 1000
_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')
_FLOAT_EXACT = float(1 << 53)


def may_nest_too_deep(data: bytes, longest_line: int) -> bool:
    """Whether some line of ``data`` may nest deeper than PyArrow's reader can take safely.

    A line cannot nest deeper than it has bytes, nor than it has opening brackets; only lines
    failing both bounds are measured exactly (strings removed, brackets counted).
    """
    if longest_line <= _PYARROW_SAFE_DEPTH:
        return False
    data = bytes(data)   # a view (of a memory-mapped file) has no find or count
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        if end - start > _PYARROW_SAFE_DEPTH and (
                data.count(b"[", start, end) + data.count(b"{", start, end) > _PYARROW_SAFE_DEPTH
                and nesting_depth(data[start:end]) > _PYARROW_SAFE_DEPTH):
            return True
        start = end + 1
    return False


def nesting_depth(line: bytes) -> int:
    """An upper bound of the nesting depth of the JSON text ``line`` (exact for valid JSON):
    brackets outside strings, closers beyond the openers ignored."""
    import numpy as np

    codes = np.frombuffer(_STRING.sub(b'""', line), np.uint8)
    steps = np.zeros(len(codes), np.int32)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    level = np.cumsum(steps)
    if not len(level):
        return 0
    # A running sum kept from going below zero: its value is the level minus the lowest so far.
    return int((level - np.minimum(np.minimum.accumulate(level), 0)).max())


def line_problem(line: str, record) -> str | None:
    """Why the decoded ``record`` of ``line`` is not accepted, or ``None``: more than
    :data:`MAX_DEPTH` levels (measured only when the line has enough brackets to be that deep),
    or a lone UTF-16 surrogate escape (``"\\ud800"``: ``json.loads`` accepts it, but it is no
    character; the reference and PyArrow reject the line too)."""
    if line.count("[") + line.count("{") > MAX_DEPTH and value_depth(record) > MAX_DEPTH:
        return f"nests more than {MAX_DEPTH} levels deep"
    if _SURROGATE_ESCAPE.search(line) and _holds_surrogate(record):
        return "it holds a lone UTF-16 surrogate escape (such as \\ud800), which is not a character"
    return None


_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")


def _holds_surrogate(record) -> bool:
    import json

    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def value_depth(value) -> int:
    """Levels of lists and dicts in a decoded JSON value (iteratively: no recursion limit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def type_depth(data_type: pa.DataType) -> int:
    """Levels of nested types in ``data_type`` (a struct of a list is 2), iteratively."""
    deepest = 0
    stack = [(data_type, 1)]
    while stack:
        current, depth = stack.pop()
        if current.num_fields:
            deepest = max(deepest, depth)
            stack.extend((current.field(index).type, depth + 1) for index in range(current.num_fields))
    return deepest


def has_null_line(data: bytes, blank_after_break: bool) -> bool:
    """Whether a line of ``data`` is the JSON ``null`` (PyArrow reads it as a row of nulls; the
    reference treats it as a line that is not an object). Lines that start with blanks are
    searched for with a regex only when there are some (``blank_after_break``)."""
    data = bytes(data)   # a view (of a memory-mapped file) has no find
    if blank_after_break or data[:1].isspace():
        return re.search(rb"(?m)^[ \t\r\x0b\x0c]*null[ \t\r\x0b\x0c]*$", data) is not None
    position = -1   # the line break before the candidate line (-1: the start of data)
    if not data.startswith(b"null"):
        position = data.find(b"\nnull")
    while position >= -1:
        begin = position + 1
        end = data.find(b"\n", begin)
        if data[begin:len(data) if end < 0 else end].rstrip(b" \t\r\x0b\x0c") == b"null":
            return True
        following = data.find(b"\nnull", begin)
        position = following if following >= 0 else -2
    return False


def has_inexact_floats(table: pa.Table) -> bool:
    """Whether a float column of ``table`` (at any depth) holds a value PyArrow may have rounded
    from an integer: ±2**53 or beyond, or infinite (JSON has no infinity: only an overflow)."""
    if not any(_holds_float(field.type) for field in table.schema):
        return False
    pending = [chunk for column in table.columns if _holds_float(column.type) for chunk in column.chunks]
    while pending:
        array = pending.pop()
        kind = array.type
        if pa.types.is_floating(kind):
            if len(array) and array.null_count < len(array):
                low, high = pc.min_max(array).values()
                if abs(low.as_py()) >= _FLOAT_EXACT or abs(high.as_py()) >= _FLOAT_EXACT:
                    return True
        elif pa.types.is_struct(kind):
            pending.extend(array.flatten())
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            pending.append(array.flatten())
    return False


def _holds_float(data_type: pa.DataType) -> bool:
    if pa.types.is_floating(data_type):
        return True
    return any(_holds_float(data_type.field(index).type) for index in range(data_type.num_fields))
