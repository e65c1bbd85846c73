"""How an MLTable shows itself: a short plain-text ``repr`` and an HTML view for notebooks.

Both are built from the plan alone: they never list, open or read a file, so displaying a table
of a million remote files is instant. The schema appears only when it is already known (a
``collect_schema()`` or ``to_arrow()`` of this table ran before). ``str(table)`` stays the MLTable
YAML, as in the reference; the repr is for people. Secrets in path URIs (SAS tokens, passwords)
are masked in both.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_parquet_files([{"pattern": "/data/*.parquet"}]).filter("fare > 10").take(5)
    >>> print(repr(tbl))
    MLTable: parquet files
      paths:
        pattern: /data/*.parquet
      steps:
        1. read parquet files
        2. filter: keep rows where fare > 10
        3. take: the first 5 rows
      schema: not read yet (tbl.collect_schema() reads it from file footers or a sample)
"""

from __future__ import annotations

from html import escape

import pyarrow as pa

from .plan import (ConvertColumnTypes, DropColumns, ExtractPartitionFormat, Filter, KeepColumns, OpaqueTransform,
                   Plan, RandomPercentSample, ReadDelimited, ReadDeltaLake, ReadJsonLines, ReadParquet,
                   SelectPartitions, Skip, Take, TakeRandomSample)
from .storage.secrets import redact, strip_secret_query

__all__ = ["plain_repr", "html_repr", "describe_steps", "source_kind"]

_SCHEMA_HINT = "not read yet (tbl.collect_schema() reads it from file footers or a sample)"
_MAX_PATHS = 10
_MAX_COLUMNS = 50


def source_kind(plan: Plan) -> str:
    """What the table reads, in words: ``'delimited files'``, ``'parquet files'``, ..."""
    reader = plan.reader
    if isinstance(reader, ReadDelimited):
        return "delimited files"
    if isinstance(reader, ReadParquet):
        return "parquet files"
    if isinstance(reader, ReadJsonLines):
        return "JSON lines files"
    if isinstance(reader, ReadDeltaLake):
        return "a Delta Lake table"
    return "file paths"


def shown_paths(plan: Plan) -> list[tuple[str, str]]:
    """``(kind, location)`` of each path spec, without credentials: as the user wrote it when that
    says where it is, else resolved (a loaded table's ``../data/*.csv`` shows where it points)."""
    shown = []
    for spec in plan.paths:
        location = spec.given if spec.given is not None and not plan.base_uri else spec.uri
        if location.startswith("file://"):
            location = location[len("file://"):]
        shown.append((spec.kind, redact(strip_secret_query(location))))
    return shown


def describe_steps(plan: Plan) -> list[tuple[str, str]]:
    """Each step as ``(name, what it does in words)``: the reader first, then the transforms."""
    steps = []
    if plan.reader is not None:
        steps.append(_describe_reader(plan.reader))
    steps.extend(_describe_transform(step) for step in plan.transforms)
    return steps


def plain_repr(plan: Plan, schema: pa.Schema | None = None) -> str:
    """The table in a few readable lines (see the module example)."""
    lines = [f"MLTable: {source_kind(plan)}", "  paths:"]
    paths = shown_paths(plan)
    lines.extend(f"    {kind}: {location}" for kind, location in paths[:_MAX_PATHS])
    if len(paths) > _MAX_PATHS:
        lines.append(f"    ... and {len(paths) - _MAX_PATHS} more")
    if not paths:
        lines.append("    (none)")
    steps = describe_steps(plan)
    if steps:
        lines.append("  steps:")
        lines.extend(f"    {number}. {name}{': ' + words if words else ''}"
                     for number, (name, words) in enumerate(steps, 1))
    lines.extend(f"  {line}" for line in _traits_lines(plan))
    if schema is None:
        lines.append(f"  schema: {_SCHEMA_HINT}")
    else:
        lines.append(f"  schema: {len(schema)} columns")
        lines.extend(f"    {field.name}: {field.type}" for field in list(schema)[:_MAX_COLUMNS])
        if len(schema) > _MAX_COLUMNS:
            lines.append(f"    ... and {len(schema) - _MAX_COLUMNS} more")
    return "\n".join(lines)


def html_repr(plan: Plan, schema: pa.Schema | None = None) -> str:
    """The table as a small, self-contained HTML block (well-formed XHTML, no scripts)."""
    parts = ['<div class="mltable-lite">', f"<p><strong>MLTable</strong>: {escape(source_kind(plan))}</p>",
             "<table>", "<tr><th>kind</th><th>path</th></tr>"]
    paths = shown_paths(plan)
    parts.extend(f"<tr><td>{escape(kind)}</td><td><code>{escape(location)}</code></td></tr>"
                 for kind, location in paths[:_MAX_PATHS])
    if len(paths) > _MAX_PATHS:
        parts.append(f'<tr><td colspan="2">... and {len(paths) - _MAX_PATHS} more</td></tr>')
    parts.append("</table>")
    steps = describe_steps(plan)
    if steps:
        parts.append("<ol>")
        parts.extend(f"<li><code>{escape(name)}</code>{': ' + escape(words) if words else ''}</li>"
                     for name, words in steps)
        parts.append("</ol>")
    parts.extend(f"<p>{escape(line)}</p>" for line in _traits_lines(plan))
    if schema is None:
        parts.append(f"<p>schema: {escape(_SCHEMA_HINT)}</p>")
    else:
        parts.append(f"<details><summary>schema: {len(schema)} columns</summary><table>")
        parts.append("<tr><th>column</th><th>type</th></tr>")
        parts.extend(f"<tr><td>{escape(field.name)}</td><td><code>{escape(str(field.type))}</code></td></tr>"
                     for field in list(schema)[:_MAX_COLUMNS])
        if len(schema) > _MAX_COLUMNS:
            parts.append(f'<tr><td colspan="2">... and {len(schema) - _MAX_COLUMNS} more</td></tr>')
        parts.append("</table></details>")
    parts.append("</div>")
    return "\n".join(parts)


# --- words for each step ------------------------------------------------------------------------


def _traits_lines(plan: Plan) -> list[str]:
    traits = plan.traits
    lines = []
    if traits.timestamp_column:
        lines.append(f"timestamp column: {traits.timestamp_column}")
    if traits.index_columns:
        lines.append(f"index columns: {', '.join(traits.index_columns)}")
    return lines


_HEADERS = {
    "all_files_same_headers": "a header line in every file",
    "all_files_different_headers": "each file with its own header",
    "from_first_file": "the header from the first file",
    "no_header": "no header (Column1, Column2, ...)",
}


def _describe_reader(step) -> tuple[str, str]:
    if isinstance(step, ReadDelimited):
        details = [f"delimiter {step.delimiter!r}", _HEADERS.get(step.header, step.header),
                   "column types inferred" if step.infer_column_types is not False else "every column as text"]
        if step.encoding != "utf8":
            details.append(f"encoding {step.encoding}")
        if step.support_multi_line:
            details.append("quoted values may span lines")
        if step.empty_as_string:
            details.append("empty fields as ''")
        return "read delimited files", "; ".join(details) + _path_column(step)
    if isinstance(step, ReadParquet):
        return "read parquet files", _path_column(step).lstrip("; ")
    if isinstance(step, ReadJsonLines):
        details = []
        if step.encoding != "utf8":
            details.append(f"encoding {step.encoding}")
        if step.invalid_lines == "drop":
            details.append("invalid lines dropped")
        return "read JSON lines", ("; ".join(details) + _path_column(step)).lstrip("; ")
    if isinstance(step, ReadDeltaLake):
        if step.version_as_of is not None:
            version = f"version {step.version_as_of}"
        elif step.timestamp_as_of is not None:
            version = f"as of {step.timestamp_as_of}"
        else:
            version = "latest version"
        return "read Delta Lake", version + _path_column(step)
    return type(step).__name__, ""


def _path_column(step) -> str:
    return f"; file path in column {step.path_column!r}" if step.include_path_column else ""


# Each transform's name (as in the YAML and the method) and what it does, in words.
_TRANSFORMS = {
    Filter: ("filter", lambda step: f"keep rows where {step.expression}"),
    Take: ("take", lambda step: f"the first {step.count} rows"),
    Skip: ("skip", lambda step: f"every row after the first {step.count}"),
    KeepColumns: ("keep_columns", lambda step: f"only {', '.join(step.columns)}"),
    DropColumns: ("drop_columns", lambda step: f"without {', '.join(step.columns)}"),
    TakeRandomSample: ("take_random_sample",
                       lambda step: f"each row kept with probability {step.probability} (seed {step.seed})"),
    RandomPercentSample: ("random_split", lambda step: f"the rows drawn in [{step.low}, {step.high}) (seed {step.seed})"),
    ConvertColumnTypes: ("convert_column_types", lambda step: "; ".join(
        f"{', '.join(columns)} to {_type_words(dtype)}" for columns, dtype in step.conversions)),
    ExtractPartitionFormat: ("extract_columns_from_partition_format",
                             lambda step: f"columns from each file's path by {step.partition_format!r}"),
    SelectPartitions: ("select_partitions", lambda step: f"only partitions {', '.join(map(str, step.indices))}"),
    OpaqueTransform: (None, lambda step: "kept as written (mltable_lite cannot run this step)"),
}


def _describe_transform(step) -> tuple[str, str]:
    name, words = _TRANSFORMS.get(type(step), (None, lambda _: ""))
    return name or getattr(step, "name", type(step).__name__), words(step)


def _type_words(dtype) -> str:
    if dtype.kind == "datetime":
        return f"datetime ({' or '.join(dtype.formats)})"
    if dtype.kind == "stream":
        return "stream references"
    return {"string": "text", "int": "int", "float": "float", "bool": "boolean"}.get(dtype.kind, dtype.kind)
