"""Partition formats: columns taken from file paths (``{year}/{month}/{file}.csv``).

``{name}`` captures one path segment up to the next literal (no ``/`` or ``.``); ``{Col:yyyy/MM/dd}``
(with optional ``/HH/mm/ss``) captures one datetime column. A format is matched against the path
relative to its path spec's folder (policy P8): anchored at the file name when it runs to it,
otherwise from the start of that relative path.

Example:
    >>> fmt = PartitionFormat.parse("{year}/{month}/{file}.csv")
    >>> fmt.match("2024/01/sales.csv")
    {'year': '2024', 'month': '01', 'file': 'sales'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UserErrorException
from .plan import ExtractPartitionFormat, Plan

_TOKEN = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
_DATE_PARTS = {"yyyy": ("year", r"\d{4}"), "MM": ("month", r"\d{1,2}"), "dd": ("day", r"\d{1,2}"),
               "HH": ("hour", r"\d{1,2}"), "mm": ("minute", r"\d{1,2}"), "ss": ("second", r"\d{1,2}")}


@dataclass(frozen=True)
class PartitionFormat:
    text: str
    plain_keys: tuple
    date_column: str | None
    regex_to_end: re.Pattern
    regex_prefix: re.Pattern

    @staticmethod
    def parse(text: str) -> "PartitionFormat":
        if not isinstance(text, str) or not text.strip("/"):
            raise UserErrorException(f'Invalid argument "partition-format". "Partition format requires at least one '
                                     f'part.", Actual "{text}"')
        body = text.lstrip("/")
        pattern, plain, date_column, groups = [], [], None, {}
        position = 0
        for match in _TOKEN.finditer(body):
            pattern.append(re.escape(body[position:match.start()]).replace(r"\*", "[^/]*"))
            name, date_format = match.group(1), match.group(2)
            if not name:
                raise UserErrorException(f'Invalid argument "partition-format". Empty "{{}}" in "{text}": name the '
                                         'column, as in "{year}".')
            if date_format is not None:
                if "yyyy" not in date_format:
                    raise UserErrorException(
                        f'Invalid argument "partition-format". "Year (yyyy) must be present in date partition '
                        f'format.", Actual "{text}"')
                date_column = name
                pattern.append(_date_regex(date_format, text))
            elif name in groups:
                pattern.append(f"(?P={groups[name]})")
            else:
                groups[name] = f"k{len(groups)}"
                plain.append(name)
                pattern.append(f"(?P<{groups[name]}>[^/.\\\\]+)")
            position = match.end()
        pattern.append(re.escape(body[position:]).replace(r"\*", "[^/]*"))
        joined = "".join(pattern)
        return PartitionFormat(text, tuple(plain), date_column, re.compile(f"(?:^|.*/){joined}$"),
                               re.compile(f"^{joined}(?:/|$)"))

    def match(self, relative_path: str) -> dict | None:
        found = self.regex_to_end.match(relative_path) or self.regex_prefix.match(relative_path)
        if found is None:
            return None
        values = {name: found.group(f"k{index}") for index, name in enumerate(self.plain_keys)}
        if self.date_column is not None:
            parts = {key: int(value) for key, value in found.groupdict().items()
                     if key.startswith("d_") and value is not None}
            values[self.date_column] = tuple(parts.get(f"d_{unit}", default) for unit, default in
                                             (("year", 1), ("month", 1), ("day", 1), ("hour", 0), ("minute", 0),
                                              ("second", 0)))
        return values

    @property
    def keys(self) -> list[str]:
        return list(self.plain_keys) + ([self.date_column] if self.date_column else [])


def _date_regex(date_format: str, text: str) -> str:
    out, position = [], 0
    tokens = re.compile("|".join(sorted(_DATE_PARTS, key=len, reverse=True)))
    for match in tokens.finditer(date_format):
        out.append(re.escape(date_format[position:match.start()]))
        unit, digits = _DATE_PARTS[match.group(0)]
        out.append(f"(?P<d_{unit}>{digits})")
        position = match.end()
    out.append(re.escape(date_format[position:]))
    return "".join(out)


def partition_keys(plan: Plan) -> list[str]:
    """The columns the plan's partition formats add: plain keys, then the date column."""
    keys: list[str] = []
    for step in plan.transforms:
        if isinstance(step, ExtractPartitionFormat):
            for key in PartitionFormat.parse(step.partition_format).keys:
                if key not in keys:
                    keys.append(key)
    return keys


def partition_columns(step: ExtractPartitionFormat, files) -> list:
    """For every file, the values of the format's columns; then the Arrow columns builder.

    Returns ``(names, per_file_values, arrow_types)``; values are inferred across all files:
    a plain key whose every value is an integer becomes int64, otherwise string.
    """
    import pyarrow as pa

    fmt = PartitionFormat.parse(step.partition_format)
    per_file = []
    for file in files:
        relative = file.path[len(file.base):].lstrip("/") if file.base and file.path.startswith(file.base) else file.path
        values = fmt.match(relative)
        if values is None:
            if not step.ignore_errors:
                raise UserErrorException(
                    f"The partition format '{step.partition_format}' does not match the path '{file.display}' "
                    f"(matched against '{relative}', relative to the path's folder). Fix the format, or pass "
                    "ignore_errors: true in the MLTable file to get nulls for such files.")
            values = {}
        per_file.append(values)
    types = {}
    for name in fmt.plain_keys:
        column = [values.get(name) for values in per_file]
        present = [value for value in column if value is not None]
        integral = present and all(re.fullmatch(r"[+-]?\d{1,18}", value) for value in present)
        types[name] = pa.int64() if integral else pa.string()
    if fmt.date_column:
        types[fmt.date_column] = pa.timestamp("ns")
    return fmt.keys, per_file, types


def add_partition_columns(table, keys, values: dict, types: dict, after: int):
    """Insert the partition columns of one file as constant columns at position ``after``."""
    import datetime

    import pyarrow as pa

    for offset, name in enumerate(keys):
        value = values.get(name)
        if value is not None and types[name] == pa.int64():
            value = int(value)
        elif value is not None and pa.types.is_timestamp(types[name]):
            value = datetime.datetime(*value)
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.add_column(after + offset, name, pa.repeat(pa.scalar(value, types[name]), table.num_rows))
    return table
