"""Delta Lake output through ``deltalake``'s writer: its transaction log makes the commit atomic.

The stream goes to ``write_deltalake`` as a ``RecordBatchReader`` with one schema, so memory stays
flat. No MLTable file is written into the table's folder: Delta's own ``VACUUM`` deletes files its
log does not name, and the folder is read with ``from_delta_lake`` (which the returned table is).

Example:
    >>> tbl.to_delta_lake("./outputs/sales_delta", mode="append", partition_by=["region"])   # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from typing import Sequence

import pyarrow as pa

from ..errors import UserErrorException
from ..plan import PathSpec, Plan, ReadDeltaLake
from ..progress import progress
from ..storage import LocalStore, canonical_uri, open_store
from .destination import OverwriteMode, overwrite_mode

MODES = ("error", "append", "overwrite", "ignore")


def write_delta(plan: Plan, read_options: dict | None, destination: str, *, mode: str | None = None,
                partition_by: Sequence[str] | str | None = None, storage_options: dict | None = None,
                overwrite=False, show_progress: bool = False) -> Plan:
    """Write ``plan``'s result as a Delta table at ``destination``; return the plan that reads it.

    ``mode`` is deltalake's: 'error' (the default: an existing table is an error), 'append',
    'overwrite' or 'ignore' (keep an existing table, write nothing). Without ``mode``,
    ``overwrite`` decides as for the other writers (True → 'overwrite', 'skip' → 'ignore').
    """
    from deltalake import write_deltalake
    from deltalake.exceptions import DeltaError

    mode = _mode(mode, overwrite)
    keys = [partition_by] if isinstance(partition_by, str) else list(partition_by or [])
    uri = canonical_uri(destination) if isinstance(destination, str) and destination.strip() else None
    if uri is None:
        raise UserErrorException(f"The destination must be a folder path or URI (a non-empty string), "
                                 f"not {destination!r}.")
    options = read_options if storage_options is None else storage_options
    store = open_store(uri, options)
    folder = store.path_of(uri).rstrip("/") or "/"
    if store.kind(folder) == "file":
        raise UserErrorException(f"Destination already exists or is not empty. '{destination}' is a file; give the "
                                 "folder of the Delta table.")
    location, delta_options = _location(store, uri, folder, options)
    from ..executor import list_files
    from ..streaming import SchemaChanged, conformed_tables, settled_schema

    files = list_files(plan, read_options)
    schema = None
    for attempt in range(2):
        try:
            reader = _reader(conformed_tables(plan, read_options, schema, files), schema, keys, show_progress,
                             destination)
            write_deltalake(location, reader, mode=mode, partition_by=keys or None,
                            storage_options=delta_options)
            break
        except SchemaChanged:
            if attempt:
                raise
            # Files of the aborted attempt are in no commit: Delta readers never see them.
            plan, schema = settled_schema(plan, read_options, files)
        except DeltaError as error:
            if "already exists" in str(error).lower():
                raise UserErrorException(
                    f"Destination already exists or is not empty. '{destination}' already holds a Delta table; "
                    "pass mode='append' or mode='overwrite' (or overwrite=True).",
                    error_code="ScriptExecution.WriteStreams.AlreadyExists") from None
            raise UserErrorException(f"Writing the Delta table '{destination}' failed: {error}") from None
    return Plan(paths=(PathSpec("folder", uri, given=destination),), reader=ReadDeltaLake())


def _mode(mode: str | None, overwrite) -> str:
    if mode is not None:
        if mode not in MODES:
            raise UserErrorException(f"mode must be one of {list(MODES)}, not {mode!r}")
        return mode
    return {OverwriteMode.FAIL_ON_CONFLICT: "error", OverwriteMode.OVERWRITE: "overwrite",
            OverwriteMode.SKIP: "ignore"}[overwrite_mode(overwrite)]


def _location(store, uri: str, folder: str, options: dict | None) -> tuple[str, dict | None]:
    """deltalake takes a plain path for local tables; stores whose options it spells differently
    (Azure, azureml) say how (``delta_location``)."""
    if isinstance(store, LocalStore):
        return folder, None
    if hasattr(store, "delta_location"):
        return store.delta_location(uri)
    return uri, {key: str(value) for key, value in (options or {}).items()}


def _reader(tables, schema: pa.Schema | None, keys: list[str], show_progress: bool,
            destination: str) -> pa.RecordBatchReader:
    """The stream as a reader whose schema is known before its first batch (the first table's)."""
    tables = iter(tables)
    first = next(tables, None)
    if first is None:
        first = (schema or pa.schema([])).empty_table()
    missing = [key for key in keys if key not in first.column_names]
    if missing:
        raise UserErrorException(f"partition_by names column(s) {missing} that the table does not have; its "
                                 f"columns are {first.column_names}.")
    schema = _delta_schema(first.schema)
    def batches():
        with progress(show_progress, f"writing {destination}") as bar:
            for table in itertools.chain([first], tables):
                for batch in _as_delta(table, schema).to_batches():
                    bar.advance(rows=batch.num_rows)
                    yield batch

    return pa.RecordBatchReader.from_batches(schema, batches())


def _delta_schema(schema: pa.Schema) -> pa.Schema:
    """Delta stores times in microseconds: nanosecond columns are written as such."""
    return pa.schema([field.with_type(pa.timestamp("us", field.type.tz))
                      if pa.types.is_timestamp(field.type) and field.type.unit == "ns" else field for field in schema],
                     metadata=schema.metadata)


def _as_delta(table: pa.Table, schema: pa.Schema) -> pa.Table:
    if table.schema.equals(schema):
        return table
    try:
        return table.cast(schema)  # safe: a time with nanoseconds is an error, never truncated silently
    except pa.ArrowInvalid as error:
        raise UserErrorException(
            f"A time column holds nanoseconds, which Delta tables (microseconds) cannot hold: {error}. Round the "
            "column first, or write Parquet (to_parquet_files), which keeps them.") from None
