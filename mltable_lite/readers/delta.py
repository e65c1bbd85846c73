"""Delta Lake tables → Arrow tables, as the reference's ``read_delta_lake`` step.

The transaction log is never parsed here: the ``deltalake`` package (delta-rs) resolves the
snapshot (latest, ``version_as_of`` or ``timestamp_as_of``) and reports its data files, their
partition values, the table schema and any deletion vectors. This module then reads each data
file with PyArrow, one table per file, so that the executor's machinery keeps working unchanged:
``Path`` is the data file of each row, ``get_partition_count()`` is the number of data files and
``select_partitions`` picks files.

How it answers the executor's protocol (:data:`FORMAT`, see :mod:`mltable_lite.readers.format`):

* :func:`delta_files` is its ``list_files``: it replaces the folder listing for Delta plans (the plan's path spec is the
  table folder, whose listing would include ``_delta_log`` and stale files that later commits
  removed). It returns the snapshot's data files sorted by path (the reference's row order) as
  :class:`DeltaFileRef`, a :class:`FileRef` that also carries the file's partition values and
  the snapshot it belongs to.
* :func:`read_delta_lake` reads exactly those files and yields ``(index, table)``.

What we do better than the reference (COMPATIBILITY.md §8, policy P9/P10):

* partition columns are returned, typed as the Delta schema says (P9);
* ``timestamp_as_of`` before the first commit raises :class:`UserErrorException` naming the
  earliest commit time (P10) instead of silently giving version 0;
* a folder without ``_delta_log`` says so and names the folder; ``version_as_of`` past the end
  names the latest version;
* a ``timestamp_as_of`` without ``Z`` or an offset raises an error saying to add one (the
  reference fails with ``Invalid datetime string: premature end of input``). The error is both a
  :class:`UserErrorException` and an :class:`ExecutionError`, so ``except`` clauses written for
  the reference's class keep working. We do not guess UTC: a local time read as UTC would time
  travel to the wrong version without a word.

Time travel by timestamp uses the commit timestamps recorded in the log (``commitInfo.timestamp``,
or ``inCommitTimestamp`` where the table has in-commit timestamps), read through
``DeltaTable.history()``: the chosen version is the last commit at or before the instant. File
modification times are ignored, so copying or checking out a table does not change the result.

Types: each column is cast to the type of the table's Delta schema (schema evolution: files
written before a column was added give nulls), then normalised like the parquet reader's output,
so dates come back as ``datetime.date`` objects, decimals as ``Decimal`` and so on (§6).

Delta features: column mapping (``name`` and ``id`` modes) is applied by renaming each file's
physical columns to the logical names; deletion vectors are applied from the selection vectors
``DeltaTable.deletion_vectors()`` gives. ``deltalake``'s own ``to_pyarrow_table`` refuses tables
with the deletion-vector feature and returns nulls for column-mapped tables; this reader does not.
A table that needs a reader feature ``deltalake`` cannot load fails with a
:class:`UserErrorException` that names the table and quotes deltalake's reason.

Example:
    >>> import pyarrow as pa
    >>> from deltalake import write_deltalake
    >>> write_deltalake("/tmp/doc_delta", pa.table({"id": [1, 2], "part": ["a", "b"]}),
    ...                 partition_by=["part"], mode="overwrite")
    >>> import mltable_lite as mltable
    >>> mltable.from_delta_lake("/tmp/doc_delta").to_pandas_dataframe()      # doctest: +SKIP
       id part
    0   1    a
    1   2    b
"""

from __future__ import annotations

import datetime as _dt
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence
from urllib.parse import unquote, urlparse

import pyarrow as pa

from ..concurrency import ordered_map
from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, ExecutionError, UserErrorException
from ..storage import FileRef, LocalStore, open_store
from .arrow_types import normalise
from .format import Format
from .parquet_files import open_source, parquet_file

__all__ = ["read_delta_lake", "delta_files", "DeltaFileRef", "DeltaSnapshot", "resolve_instant",
           "TimestampWithoutOffsetError", "FORMAT"]

_NO_METADATA = "Unable to find any delta table metadata"
_PHYSICAL_NAME = "delta.columnMapping.physicalName"


class TimestampWithoutOffsetError(UserErrorException, ExecutionError):
    """``timestamp_as_of`` has no ``Z`` or ``±hh:mm``. The reference raises ``ExecutionError``
    here and we would call it a user error: the class is both, so either ``except`` catches it."""

    default_code = "UserError"


# --- the snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DeltaSnapshot:
    """What every data file of one table version shares.

    ``schema`` is the table's logical schema (partition columns included, in table order);
    ``physical`` maps a logical column name to its name inside the parquet files (they differ only
    with column mapping); ``renames`` maps nested physical field names to logical ones;
    ``deletion_vectors`` maps a data file's path to its keep-mask.
    """

    location: str
    version: int
    schema: pa.Schema
    partition_columns: tuple[str, ...]
    physical: dict[str, str]
    renames: dict[str, str]
    deletion_vectors: dict[str, list]


@dataclass(frozen=True)
class DeltaFileRef(FileRef):
    """A data file of a Delta snapshot: a :class:`FileRef` plus its partition values (typed
    Python values, by logical column name) and the snapshot it belongs to."""

    partition_values: tuple = ()
    snapshot: DeltaSnapshot | None = field(default=None, compare=False, repr=False)


def delta_files(plan, storage_options: dict | None = None) -> list[DeltaFileRef]:
    """The data files of the snapshot ``plan.reader`` asks for, sorted by path.

    Each path spec of the plan names one table (``from_delta_lake`` makes exactly one).

    Example:
        >>> files = delta_files(mltable.from_delta_lake("/tmp/doc_delta")._plan)   # doctest: +SKIP
        >>> [(f.display.rsplit("/", 2)[-2], dict(f.partition_values)) for f in files]  # doctest: +SKIP
        [('part=a', {'part': 'a'}), ('part=b', {'part': 'b'})]
    """
    files: list[DeltaFileRef] = []
    for spec in plan.paths:
        files.extend(_table_files(spec, plan.reader, storage_options))
    return files


def _table_files(spec, step, storage_options: dict | None) -> list[DeltaFileRef]:
    store = open_store(spec.uri, storage_options)
    folder = store.path_of(spec.uri)
    shown = spec.given if spec.given is not None else spec.uri
    kind = store.kind(folder)
    if kind is None:
        raise UserErrorException(
            f"{NOT_FOUND_MESSAGE} Delta table folder '{shown}' (resolved to '{spec.uri}') does not exist.",
            error_code=NOT_FOUND_CODE)
    if kind == "file":
        raise ExecutionError(f"Not a directory: '{shown}' is a file; from_delta_lake needs the Delta table's "
                             "folder (the one holding _delta_log).")
    if store.kind(folder.rstrip("/") + "/_delta_log") != "directory":
        raise UserErrorException(
            f"{_NO_METADATA}: the folder '{shown}' has no _delta_log folder, so it is not a Delta table. "
            "Give the table's root folder (the one that holds _delta_log), not a partition or data folder.")
    # deltalake takes a plain path for local tables and the URI (with credentials) otherwise.
    # Stores whose options deltalake spells differently (Azure) say how: delta_location().
    local = isinstance(store, LocalStore)
    if local:
        location, options = folder, None
    elif hasattr(store, "delta_location"):
        location, options = store.delta_location(spec.uri)
    else:
        location, options = spec.uri, storage_options
    table = _open_version(location, options, step, shown)
    return _snapshot_files(table, location, store, folder, local, shown)


# --- choosing the version -----------------------------------------------------------------------


def _open_version(location: str, storage_options: dict | None, step, shown: str):
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError, TableNotFoundError

    # deltalake takes string options only; credential objects (fsspec-only) cannot be passed on.
    options = {key: str(value) for key, value in (storage_options or {}).items()
               if isinstance(value, (str, int, float, bool))} or None
    try:
        if step.version_as_of is not None:
            try:
                return DeltaTable(location, version=step.version_as_of, storage_options=options)
            except DeltaError as error:
                latest = DeltaTable(location, storage_options=options).version()
                if step.version_as_of > latest:
                    raise UserErrorException(
                        f"Invalid table version: {step.version_as_of}. The Delta table '{shown}' has versions "
                        f"up to {latest} (the latest); use version_as_of={latest} or less, or leave it out "
                        "for the latest.") from None
                raise UserErrorException(
                    f"Cannot load version {step.version_as_of} of the Delta table '{shown}': {error}. Its log "
                    "may have been cleaned up (log retention); pick a later version.") from None
        table = DeltaTable(location, storage_options=options)
        if step.timestamp_as_of is not None:
            version = _version_at(table, step.timestamp_as_of, shown)
            if version != table.version():
                table.load_as_version(version)
        return table
    except TableNotFoundError as error:
        raise UserErrorException(
            f"{_NO_METADATA}: the folder '{shown}' holds no readable Delta log ({error}). Give the "
            "table's root folder, the one whose _delta_log holds the commit files.") from None
    except (DeltaError, OSError) as error:
        raise UserErrorException(f"Cannot read the Delta table '{shown}': {error}") from None


_INSTANT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")


def resolve_instant(value: Any) -> int:
    """``timestamp_as_of`` as microseconds since the Unix epoch (UTC).

    Accepts the RFC 3339 strings ``from_delta_lake`` accepts, and the ``datetime`` a hand-written
    MLTable file gives when the value is not quoted. A value without ``Z`` or an offset raises
    :class:`TimestampWithoutOffsetError`.

    Example:
        >>> resolve_instant("1970-01-01T00:00:01.5+00:00")
        1500000
        >>> resolve_instant("1970-01-01T01:00:00+01:00")
        0
    """
    if isinstance(value, _dt.datetime):
        moment = value
    else:
        text = str(value)
        match = _INSTANT.match(text)
        if not match:
            raise UserErrorException(
                f"Provided timestamp_as_of: {text} is not in RFC-3339/ISO-8601 format. For example: "
                "\"2022-10-01T00:00:00Z\", \"2022-10-01T22:10:57+02:00\".")
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        if offset is None:
            moment = None
        else:
            zone = _dt.timezone.utc if offset == "Z" else _dt.timezone(
                (1 if offset[0] == "+" else -1) * _dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
            micros = int((fraction or "0")[:6].ljust(6, "0"))
            try:
                moment = _dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                                      micros, tzinfo=zone)
            except ValueError as error:
                raise UserErrorException(f"timestamp_as_of '{text}' is not a valid date and time: {error}.") from None
    if moment is None or moment.tzinfo is None:
        raise TimestampWithoutOffsetError(
            f"timestamp_as_of '{value}' has no time zone, so the instant is ambiguous. Add 'Z' for UTC or an "
            "offset such as '+02:00' (for example '2022-10-01T00:00:00Z').")
    delta = moment - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _version_at(table, timestamp_as_of: Any, shown: str) -> int:
    """The last version committed at or before ``timestamp_as_of`` (commit times from the log)."""
    instant = resolve_instant(timestamp_as_of)
    commits = []
    for entry in table.history():
        # In-commit timestamps, where a table has them, are the ones the protocol says to use.
        stamp = entry.get("inCommitTimestamp", entry.get("timestamp"))
        if stamp is not None and entry.get("version") is not None:
            commits.append((int(stamp), int(entry["version"])))
    if not commits:
        raise UserErrorException(
            f"The Delta table '{shown}' records no commit timestamps in its log, so timestamp_as_of cannot "
            "choose a version; use version_as_of instead.")
    # Commit clocks may disagree (several writers): take the highest version stamped in time.
    eligible = [version for stamp, version in commits if stamp * 1000 <= instant]
    if not eligible:
        earliest_stamp, earliest_version = min(commits)
        raise UserErrorException(
            f"timestamp_as_of {timestamp_as_of} is before the first commit of the Delta table '{shown}': the "
            f"earliest commit (version {earliest_version}) was at {_iso(earliest_stamp)}. Use that time or "
            "later, or version_as_of.")
    return max(eligible)


def _iso(millis: int) -> str:
    moment = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=millis)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the snapshot's files -----------------------------------------------------------------------


def _snapshot_files(table, location: str, store, folder: str, local: bool, shown: str) -> list[DeltaFileRef]:
    fields = list(table.schema().fields)
    schema = pa.schema(table.schema().to_arrow())
    mapped = (table.metadata().configuration or {}).get("delta.columnMapping.mode", "none") not in ("none", None)
    physical = {f.name: (f.metadata or {}).get(_PHYSICAL_NAME, f.name) for f in fields} if mapped else {}
    renames = _nested_renames(fields) if mapped else {}
    partition_columns = tuple(table.metadata().partition_columns or ())

    actions = pa.table(table.get_add_actions(flatten=False))
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    if partition_columns and "partition" in actions.column_names:
        values = actions.column("partition").to_pylist()
    else:
        values = [{}] * len(paths)

    root = folder.rstrip("/")
    located = []
    for path, size, partition in zip(paths, sizes, values):
        partition = partition or {}
        located.append((_inside_table(_file_path(path, root, store, local), path, root, shown), int(size),
                        tuple((name, partition.get(name)) for name in partition_columns)))
    located.sort(key=lambda item: item[0])

    snapshot = DeltaSnapshot(location=location, version=table.version(), schema=schema,
                             partition_columns=partition_columns, physical=physical, renames=renames,
                             deletion_vectors=_deletion_vectors(table, store, local))
    return [DeltaFileRef(store.uri_of(path), path, size, store, root, partition_values=values, snapshot=snapshot)
            for path, size, values in located]


def _file_path(raw: str, root: str, store, local: bool) -> str:
    """The store path of a data file as the log names it: URI-encoded, and relative to the table
    root or (Spark's ``file:/...``) an absolute URI."""
    parsed = urlparse(raw)
    if len(parsed.scheme) <= 1:  # relative (a one-letter "scheme" would be a Windows drive)
        return root + "/" + unquote(raw)
    if local:
        return unquote(parsed.path)
    return store.path_of(unquote(raw))


def _inside_table(path: str, raw: str, root: str, shown: str) -> str:
    """``path`` (a data file the log names as ``raw``) if it lies inside the table folder ``root``.

    A log that names a file outside the table (``../../x.parquet``, an absolute path elsewhere)
    would make a read return data the table does not hold, so it is refused.
    """
    normalised = posixpath.normpath(path)
    if normalised.startswith("//"):
        normalised = "/" + normalised.lstrip("/")
    base = posixpath.normpath(root) if root else root
    if base and (normalised == base or not normalised.startswith(base.rstrip("/") + "/")):
        raise UserErrorException(
            f"The Delta log of '{shown}' names the data file '{raw}', which is outside the table folder. "
            "Data files must lie inside the table's folder; the log is damaged or was written by hand.")
    return normalised


def _deletion_vectors(table, store, local: bool) -> dict[str, list]:
    """Keep-masks by data file path, for the files that have a deletion vector."""
    features = table.protocol().reader_features or []
    if "deletionVectors" not in features:
        return {}
    found = pa.table(table.deletion_vectors().read_all())
    masks = {}
    for uri, mask in zip(found.column("filepath").to_pylist(), found.column("selection_vector").to_pylist()):
        masks[_file_path(uri, "", store, local)] = mask
    return masks


def _nested_renames(fields) -> dict[str, str]:
    """Physical → logical names of fields nested in structs (column mapping renames those too)."""
    renames: dict[str, str] = {}

    def walk(data_type):
        inner = getattr(data_type, "fields", None)
        if inner is not None:
            for nested in inner:
                name = (nested.metadata or {}).get(_PHYSICAL_NAME)
                if name:
                    renames[name] = nested.name
                walk(nested.type)
        for attribute in ("element_type", "key_type", "value_type"):
            child = getattr(data_type, attribute, None)
            if child is not None:
                walk(child)

    for top in fields:
        walk(top.type)
    return renames


# --- reading ------------------------------------------------------------------------------------


def read_delta_lake(files: Sequence[DeltaFileRef], step=None,
                    columns: Sequence[str] | None = None) -> Iterator[tuple[int, pa.Table]]:
    """Yield ``(file index, table)`` for each data file, in order, with the snapshot's columns.

    Every table has the table schema's columns (those in ``columns`` when given), partition
    columns included, typed as the Delta schema says, with deleted rows (deletion vectors) removed.

    Example:
        >>> files = delta_files(mltable.from_delta_lake("/tmp/doc_delta")._plan)   # doctest: +SKIP
        >>> [(i, t.to_pylist()) for i, t in read_delta_lake(files)]                  # doctest: +SKIP
        [(0, [{'id': 1, 'part': 'a'}]), (1, [{'id': 2, 'part': 'b'}])]
    """
    keep = None if columns is None else set(columns)
    # Files are read a few at a time on threads (I/O and decoding overlap); results stay in order.
    yield from ordered_map(lambda index: (index, _read_file(files[index], keep)), range(len(files)))


def _read_file(file: DeltaFileRef, keep: set | None) -> pa.Table:
    snapshot = file.snapshot
    if snapshot is None:
        raise TypeError("read_delta_lake reads the files delta_files() lists, not a folder listing")
    wanted = [f for f in snapshot.schema if keep is None or f.name in keep]
    source = open_source(file)
    try:
        parquet = parquet_file(file, source)
        present = set(parquet.schema_arrow.names)
        read = [snapshot.physical.get(f.name, f.name) for f in wanted if f.name not in snapshot.partition_columns]
        read = [name for name in read if name in present]
        try:
            data = parquet.read(columns=read, use_threads=True)
        except (pa.ArrowException, OSError) as error:
            raise ExecutionError(f"Cannot read Delta data file '{file.display}': {error}. The file is damaged "
                                 "or was removed outside Delta (run the table's repair, or VACUUM less).") from None
    finally:
        source.close()
    rows = data.num_rows
    mask = snapshot.deletion_vectors.get(file.path)
    if mask is not None:
        # The keep-mask may stop short of the file's end: rows past it were never deleted.
        mask = (list(mask) + [True] * rows)[:rows]
        data = data.filter(pa.array(mask, pa.bool_()))
        rows = data.num_rows
    partition = dict(file.partition_values)
    arrays, out_fields = [], []
    for target in wanted:
        if target.name in snapshot.partition_columns:
            column = pa.repeat(pa.scalar(partition.get(target.name), target.type), rows)
        else:
            name = snapshot.physical.get(target.name, target.name)
            if name in data.column_names:
                column = _conform(data.column(name), target.type, snapshot.renames, file, target.name)
            else:  # schema evolution: this file predates the column
                column = pa.nulls(rows, target.type)
        arrays.append(column)
        out_fields.append(pa.field(target.name, target.type))
    if not arrays:
        return _no_columns(rows)
    return normalise(pa.Table.from_arrays(arrays, schema=pa.schema(out_fields)))


def empty_table(file: DeltaFileRef, columns: Sequence[str] | None = None) -> pa.Table:
    """The columns and types :func:`read_delta_lake` gives ``file``, with no rows: the snapshot's
    schema from the log, no data file opened (``collect_schema``)."""
    keep = None if columns is None else set(columns)
    wanted = [pa.field(f.name, f.type) for f in file.snapshot.schema if keep is None or f.name in keep]
    return normalise(pa.schema(wanted).empty_table()) if wanted else _no_columns(0)


def _no_columns(rows: int) -> pa.Table:
    """A table with ``rows`` rows and no columns (a later step needs only ``Path`` or a count)."""
    return pa.table({"_": pa.nulls(rows)}).drop_columns(["_"])


def _conform(column, target: pa.DataType, renames: dict, file, name: str):
    """``column`` as ``target``: renaming nested column-mapped fields, filling struct fields the
    file predates with nulls, and widening types the way the Delta schema says."""
    if renames and pa.types.is_nested(column.type):
        # Same layout, other field names: a zero-copy view (a cast would match fields by name).
        renamed = _renamed_type(column.type, renames)
        column = pa.chunked_array([chunk.view(renamed) for chunk in column.chunks], renamed)
    if column.type == target:
        return column
    try:
        return column.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    if pa.types.is_struct(target) and pa.types.is_struct(column.type):
        chunks = [_conform_struct(chunk, target, file, name) for chunk in column.chunks]
        return pa.chunked_array(chunks, target)
    raise ExecutionError(f"Column '{name}' of Delta data file '{file.display}' is {column.type}, which cannot be "
                         f"read as the table's type {target}.")


def _conform_struct(array: pa.StructArray, target: pa.StructType, file, name: str) -> pa.Array:
    children = []
    for index in range(target.num_fields):
        child = target.field(index)
        if array.type.get_field_index(child.name) >= 0:
            values = array.field(child.name)
            children.append(_conform(pa.chunked_array([values]), child.type, {}, file, f"{name}.{child.name}")
                            .combine_chunks())
        else:
            children.append(pa.nulls(len(array), child.type))
    return pa.StructArray.from_arrays(children, fields=list(target), mask=array.is_null())


def _renamed_type(data_type: pa.DataType, renames: dict) -> pa.DataType:
    """``data_type`` with nested physical field names replaced by logical ones."""
    if pa.types.is_struct(data_type):
        return pa.struct([pa.field(renames.get(f.name, f.name), _renamed_type(f.type, renames), f.nullable)
                          for f in data_type])
    if pa.types.is_map(data_type):
        return pa.map_(_renamed_type(data_type.key_type, renames), _renamed_type(data_type.item_type, renames))
    if pa.types.is_large_list(data_type):
        return pa.large_list(data_type.value_field.with_type(_renamed_type(data_type.value_type, renames)))
    if pa.types.is_list(data_type):
        return pa.list_(data_type.value_field.with_type(_renamed_type(data_type.value_type, renames)))
    return data_type


class DeltaFormat(Format):
    """Delta Lake to the executor: the snapshot's data files, one partition each."""

    def list_files(self, plan, storage_options=None):
        # The table folder also holds _delta_log and files later commits removed: the Delta log
        # (through deltalake) says which data files make up the snapshot.
        return delta_files(plan, storage_options)

    def read_files(self, files, step, columns=None, **options):
        return read_delta_lake(files, step, columns)


FORMAT = DeltaFormat()
