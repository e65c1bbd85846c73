"""Partition formats: columns taken from file paths (``{year}/{month}/{file}.csv``).

``{name}`` captures one path segment up to the next literal (no ``/`` or ``.``); a name used twice
gives one column (its first capture). ``{Col:yyyy/MM/dd}`` (with optional ``/HH/mm/ss``) captures
one datetime column. A format is matched against the path relative to its path spec's folder
(policy P8): anchored at the file name when it runs to it (then leading folders of the format may
also name folders above the path spec's, as in the reference), otherwise from the start of that
relative path.

Where the columns go and what type they get follows the reference: delimited files put them
first (after ``Path``) and, when column types are inferred, infer their types like any other
CSV column; every other reader puts them after the file's columns, as strings.

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
        tokens = list(_TOKEN.finditer(body))
        if sum(token.group(2) is not None for token in tokens) > 1:
            raise UserErrorException(
                f'Invalid argument "partition-format". "Only single date is supported by partition format.", '
                f'Actual "{text}". Write the whole date in one placeholder, as in {{date:yyyy/MM/dd}}.')
        pattern, plain, date_column, groups = [], [], None, {}
        position = 0
        for match in tokens:
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
                pattern.append(_SEGMENT)  # the reference keeps the first capture, whatever this one holds
            else:
                groups[name] = f"k{len(groups)}"
                plain.append(name)
                pattern.append(f"(?P<{groups[name]}>{_SEGMENT})")
            position = match.end()
        pattern.append(re.escape(body[position:]).replace(r"\*", "[^/]*"))
        joined = "".join(pattern)
        return PartitionFormat(text, tuple(plain), date_column, re.compile(f"(?:^|.*/){joined}$"),
                               re.compile(f"^{joined}(?:/|$)"))

    def match(self, relative_path: str, full_path: str | None = None) -> dict | None:
        """The captured values, or None. A format that runs to the file name may also start in
        folders above the path spec's (``part_custom/{year}/x.csv`` for the folder ``part_custom``):
        ``full_path`` is tried after ``relative_path``."""
        found = self.regex_to_end.match(relative_path) or self.regex_prefix.match(relative_path)
        if found is None and full_path is not None:
            found = self.regex_to_end.match(full_path)
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


_SEGMENT = r"[^/.\\]+"


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


@dataclass(frozen=True)
class PartitionColumns:
    """The columns one partition format adds: one value per file in ``columns[name]``.

    ``first``: the columns go right after ``Path`` (delimited files) rather than after the file's
    columns. ``unmatched`` maps the index of each file the format does not match to the error
    to raise if that file yields rows (a file without rows, such as a ``_SUCCESS`` marker, is fine).
    """

    keys: list
    columns: dict
    first: bool
    unmatched: dict
    text: str = ""

    def add_to(self, table, file_index: int, position: int):
        """``table`` (rows of file ``file_index``) with this format's columns inserted."""
        import pyarrow as pa

        if file_index in self.unmatched and table.num_rows:
            raise UserErrorException(self.unmatched[file_index])
        at = position if self.first else None
        for offset, name in enumerate(self.keys):
            if name in table.column_names:
                raise UserErrorException(
                    f"Filed with name '{name}' already exists in the record. The partition format "
                    f"'{self.text}' adds a column '{name}' that the data already has: give the placeholder "
                    f"another name, as in {{{name}_from_path}}.")
            column = pa.repeat(self.columns[name][file_index], table.num_rows)
            table = table.append_column(name, column) if at is None else table.add_column(at + offset, name, column)
        return table


def partition_columns(step: ExtractPartitionFormat, files, reader) -> PartitionColumns:
    """The values ``step`` takes from every file's path, typed as ``reader``'s files would type them."""
    import pyarrow as pa

    from .plan import ReadDelimited

    fmt = PartitionFormat.parse(step.partition_format)
    per_file, unmatched = [], {}
    for index, file in enumerate(files):
        relative = file.path[len(file.base):].lstrip("/") if file.base and file.path.startswith(file.base) else file.path
        values = fmt.match(relative, file.path)
        if values is None:
            if not step.ignore_errors and file.size != 0:
                unmatched[index] = (
                    f"The partition format '{step.partition_format}' does not match the path '{file.display}' "
                    f"(matched against '{relative}', relative to the path's folder). Fix the format, or choose "
                    "only the files it describes with a 'pattern' path such as "
                    "{'pattern': 'folder/*/*.csv'}.")
            values = {}
        per_file.append(values)
    delimited = isinstance(reader, ReadDelimited)
    columns = {name: _typed([values.get(name) for values in per_file], name, reader if delimited else None)
               for name in fmt.plain_keys}
    if fmt.date_column:
        import datetime

        columns[fmt.date_column] = pa.array(
            [None if values.get(fmt.date_column) is None else datetime.datetime(*values[fmt.date_column])
             for values in per_file], pa.timestamp("ns"))
    return PartitionColumns(fmt.keys, columns, delimited, unmatched, step.partition_format)


def _typed(values: list, name: str, delimited_reader):
    """Strings, or (delimited files with inferred types) what CSV inference makes of them."""
    import pyarrow as pa

    strings = pa.array(values, pa.string())
    infer = getattr(delimited_reader, "infer_column_types", False)
    if infer is False:
        return strings
    for names, dtype in getattr(infer, "overrides", ()):
        if name in names:
            from .conversions import convert_array

            return convert_array(strings, dtype)
    from .inference import convert_column, infer_column

    return convert_column(strings, infer_column([value for value in values if value is not None]))
