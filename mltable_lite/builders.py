"""The builders: user arguments → a validated plan → an ``MLTable``. Nothing is read here.

Argument checks happen at build time with the reference's messages, so code that matches on
them keeps working.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files([{"pattern": "data/*.csv"}], delimiter=";")
    >>> tbl.paths
    [{'pattern': 'data/*.csv'}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from .errors import UserErrorException
from .plan import InferOptions, Plan, ReadDelimited, ReadDeltaLake, ReadJsonLines, ReadParquet
from .plan_yaml import SCHEMA_ERROR, path_spec_from_dict
from .storage import canonical_uri
from .table import MLTable
from .types import column_type_pairs

if TYPE_CHECKING:
    from .enums import MLTableFileEncoding, MLTableHeaders

# ``[{"file": "a.csv"}, {"folder": "data/"}, {"pattern": "data/*.csv"}]``
PathList = list[dict[str, str]]


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UserErrorException(f"`{name}` must be True or False, not {value!r}")
    return value


class PathsArgumentError(UserErrorException, TypeError):
    """``paths`` is malformed. Also a ``TypeError``, which the reference raises here."""


def _path_specs(paths: Any) -> tuple:
    if not isinstance(paths, (list, tuple)):
        raise PathsArgumentError(
            f"paths must be a list of dicts such as [{{'file': 'data/a.csv'}}] or "
            f"[{{'pattern': 'data/*.csv'}}], not {type(paths).__name__} {paths!r:.100}")
    specs = []
    for index, entry in enumerate(paths):
        if not isinstance(entry, dict) or any(not isinstance(value, str) for value in entry.values()):
            raise PathsArgumentError(
                f"paths[{index}] = {entry!r:.100} must be a dict with one key, 'file', 'folder' or 'pattern', "
                "whose value is a path string, such as {'file': 'data/a.csv'}")
        if len(entry) == 1:
            kind, value = next(iter(entry.items()))
            if kind in ("file", "folder", "pattern") and value:
                specs.append(path_spec_from_dict(entry, None, "paths", index))
                continue
        shown = {key: (canonical_uri(value) if isinstance(value, str) else value) for key, value in entry.items()} \
            if isinstance(entry, dict) else entry
        raise UserErrorException(
            f"{SCHEMA_ERROR}{shown!r} is not valid under any of the given schemas. Each path must be a dict with "
            "exactly one key, 'file', 'folder' or 'pattern', whose value is a path string.")
    return tuple(specs)


def from_delimited_files(paths: PathList, header: Union[str, MLTableHeaders] = "all_files_same_headers",
                         delimiter: str = ",", support_multi_line: bool = False, empty_as_string: bool = False,
                         encoding: Union[str, MLTableFileEncoding] = "utf8", include_path_column: bool = False,
                         infer_column_types: Union[bool, dict] = True, *,
                         storage_options: Optional[dict] = None) -> MLTable:
    """A table of delimited text files (CSV, TSV, ...).

    Args:
        paths: list of ``{'file' | 'folder' | 'pattern': path}``; folders are read recursively.
        header: 'all_files_same_headers' (default), 'all_files_different_headers',
            'from_first_file' or 'no_header' (or an ``MLTableHeaders`` member).
        delimiter: the field separator.
        support_multi_line: allow quoted values to span lines.
        empty_as_string: empty fields become '' instead of null.
        encoding: 'utf8', 'latin1', 'windows1252', 'utf16', ... or an ``MLTableFileEncoding``.
        include_path_column: add a first column ``Path`` with each row's file.
        infer_column_types: True, False, or ``{'sample_size': N, 'column_type_overrides': {...}}``.
        storage_options: credentials and endpoints for remote paths (``account_key``, ``sas_token``,
            ``connection_string``, ``anon``, ``headers``, Azure ML workspace keys...): see
            ``docs/storage.md``. Kept in memory only, never written by ``save()``. (An addition to
            the reference's signature; every builder takes it.)

    Example:
        >>> tbl = mltable.from_delimited_files([{"pattern": "./examples/data/trips/*.csv"}])
        >>> tbl.take(2).to_pandas_dataframe()[["trip_id", "vendor", "fare"]]
           trip_id    vendor   fare
        0     1000   Contoso  14.72
        1     1001  Fabrikam  18.62
    """
    from .readers.delimited_options import validate_delimiter, validate_encoding, validate_header

    step = ReadDelimited(
        delimiter=validate_delimiter(delimiter),
        header=validate_header(header),
        support_multi_line=_flag("support_multi_line", support_multi_line),
        empty_as_string=_flag("empty_as_string", empty_as_string),
        encoding=validate_encoding(encoding),
        include_path_column=_flag("include_path_column", include_path_column),
        infer_column_types=_infer_options(infer_column_types),
    )
    return MLTable(Plan(paths=_path_specs(paths), reader=step), _storage_options(storage_options))


def _storage_options(value: Any, ml_client: Any = None) -> dict | None:
    if value is not None and not isinstance(value, dict):
        raise UserErrorException(
            f"storage_options must be a dict such as {{'account_key': ...}} or None, not {type(value).__name__}")
    if ml_client is not None:
        value = {**(value or {}), "ml_client": ml_client}
    return dict(value) if value else None


def _infer_options(value: Any):
    if isinstance(value, bool):
        return value
    if not isinstance(value, dict):
        raise UserErrorException("`infer_column_types` must be a bool or a dictionary.")
    if set(value) - {"sample_size", "column_type_overrides"}:
        raise UserErrorException("If `infer_column_types` is a dictionary, may only contain keys `sample_size` and "
                                 "`column_type_overrides`.")
    sample_size = value.get("sample_size")
    if "sample_size" in value and (isinstance(sample_size, bool) or not isinstance(sample_size, int)
                                   or sample_size <= 0):
        raise UserErrorException("If `infer_column_types` is a dictionary with a `sample_size` key, its value must "
                                 "be a positive integer.")
    overrides = ()
    if "column_type_overrides" in value:
        if not isinstance(value["column_type_overrides"], dict):
            raise UserErrorException(
                "If `infer_column_types` is a dictionary with a `column_type_overrides` key, its value must be a "
                "dictionary of strings to `mltable.DataType`s or strings.")
        overrides = column_type_pairs(value["column_type_overrides"])
    if sample_size is None and not overrides:
        return True
    return InferOptions(sample_size=sample_size, overrides=overrides)


def from_parquet_files(paths: PathList, include_path_column: bool = False, *,
                       storage_options: Optional[dict] = None) -> MLTable:
    """A table of parquet files; several files are unioned by column name.

    Example:
        >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> pq.write_table(pa.table({"id": [1, 2], "score": [0.5, 0.7]}), os.path.join(folder, "part-0.parquet"))
        >>> mltable.from_parquet_files([{"folder": folder}]).to_pandas_dataframe()
           id  score
        0   1    0.5
        1   2    0.7
    """
    step = ReadParquet(include_path_column=_flag("include_path_column", include_path_column))
    return MLTable(Plan(paths=_path_specs(paths), reader=step), _storage_options(storage_options))


def from_json_lines_files(paths: PathList, invalid_lines: str = "error",
                          encoding: Union[str, MLTableFileEncoding] = "utf8", include_path_column: bool = False, *,
                          storage_options: Optional[dict] = None) -> MLTable:
    """A table of JSON lines files (one JSON object per line).

    ``invalid_lines='drop'`` skips lines that are not JSON objects instead of failing.

    Example:
        >>> tbl = mltable.from_json_lines_files([{"file": "events.jsonl"}], invalid_lines="drop")
    """
    from .readers.delimited_options import validate_encoding

    if invalid_lines not in ("error", "drop"):
        raise UserErrorException("Invalid value for invalid_lines, the supported values are ['error', 'drop']")
    step = ReadJsonLines(encoding=validate_encoding(encoding), invalid_lines=invalid_lines,
                         include_path_column=_flag("include_path_column", include_path_column))
    return MLTable(Plan(paths=_path_specs(paths), reader=step), _storage_options(storage_options))


def from_paths(paths: PathList, *, storage_options: Optional[dict] = None) -> MLTable:
    """A table with one ``Path`` column listing the files (StreamInfo values); nothing is parsed.

    Example:
        >>> paths = mltable.from_paths([{"pattern": "examples/data/trips/*.csv"}]).to_pandas_dataframe()
        >>> [str(value).rsplit("/", 1)[-1] for value in paths["Path"]]
        ['2024-01.csv', '2024-02.csv', '2024-03.csv']
    """
    return MLTable(Plan(paths=_path_specs(paths)), _storage_options(storage_options))


def from_delta_lake(delta_table_uri: str, timestamp_as_of: Optional[str] = None, version_as_of: Optional[int] = None,
                    include_path_column: bool = False, *, storage_options: Optional[dict] = None) -> MLTable:
    """A table of a Delta Lake table's snapshot: the latest, ``version_as_of`` or ``timestamp_as_of``.

    Example:
        >>> import deltalake, pyarrow as pa, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> deltalake.write_deltalake(folder, pa.table({"id": [1, 2]}))
        >>> deltalake.write_deltalake(folder, pa.table({"id": [3]}), mode="append")
        >>> len(mltable.from_delta_lake(folder).to_pandas_dataframe())
        3
        >>> len(mltable.from_delta_lake(folder, version_as_of=0).to_pandas_dataframe())
        2
    """
    from .readers.delta_options import validate_delta_options

    timestamp_as_of, version_as_of = validate_delta_options(timestamp_as_of, version_as_of)
    if not isinstance(delta_table_uri, str) or not delta_table_uri:
        # A TypeError too, as the reference raises for None.
        error = UserErrorException if isinstance(delta_table_uri, str) else PathsArgumentError
        raise error(f"delta_table_uri must be a non-empty string naming the table's folder, not {delta_table_uri!r}")
    spec = path_spec_from_dict({"folder": delta_table_uri}, None)
    step = ReadDeltaLake(timestamp_as_of=timestamp_as_of, version_as_of=version_as_of,
                         include_path_column=_flag("include_path_column", include_path_column))
    return MLTable(Plan(paths=(spec,), reader=step), _storage_options(storage_options))


def load(uri: str, storage_options: Optional[dict] = None, ml_client: Any = None) -> MLTable:
    """Load the ``MLTable`` file of a folder; relative paths in it resolve against that folder.

    ``uri`` is a local folder, an ``http(s)://``, ``wasbs://``, ``abfss://`` or ``azureml://`` folder
    URI, or an Azure ML data asset (``azureml:<name>:<version>``). ``storage_options`` holds
    credentials and the Azure ML workspace; ``ml_client`` (an ``azure.ai.ml.MLClient``) gives the
    workspace and credential instead.

    Example:
        >>> tbl = mltable.load("./examples/trips")
        >>> tbl.show(3).shape
        (3, 7)
    """
    from .loading import load_plan

    options = _storage_options(storage_options, ml_client)
    return MLTable(load_plan(uri, options), options)


__all__ = ["from_delimited_files", "from_parquet_files", "from_json_lines_files", "from_paths",
           "from_delta_lake", "load"]
