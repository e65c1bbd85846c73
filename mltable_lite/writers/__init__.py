"""Writers: a table's result → data files of one format + an MLTable file that reads them back.

The mirror of ``readers/``: one module per format, each answering one small protocol
(:class:`FileFormat`); this module runs the plan as a stream of Arrow tables with one schema
(:mod:`mltable_lite.streaming`), cuts it into files (``max_rows_per_file``, ``partition_by``
folders), and commits through :class:`.destination.Destination`: data files under names of their
own, the MLTable file last. Memory holds a table or two of the stream, whatever the data's size.

Example:
    >>> plan = write_files(tbl._plan, None, "./outputs/clean", ParquetFormat())   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Iterator, Protocol, Sequence

import pyarrow as pa

from ..errors import UserErrorException
from ..plan import ConvertColumnTypes, ExtractPartitionFormat, PathSpec, Plan
from ..plan_yaml import plan_from_dict, plan_to_dict
from ..progress import Progress, progress
from ..storage import join_uri
from .destination import Destination, OverwriteMode, overwrite_mode
from .partitioning import PartitionLayout

__all__ = ["FileFormat", "FileSink", "write_files", "overwrite_mode", "OverwriteMode"]


class FileSink(Protocol):
    """One open data file: tables in, bytes out to the handle it was opened on."""

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class FileFormat(Protocol):
    """What a format module tells the writer."""

    extension: str

    def check(self, schema: pa.Schema) -> None:
        """Raise a :class:`UserErrorException` naming a column this format cannot hold."""

    def open(self, handle, schema: pa.Schema) -> FileSink:
        """Start a file on the binary ``handle``; every table written will have ``schema``."""

    def read_back(self, schema: pa.Schema, sinks: Sequence[FileSink]):
        """``(reader step, transforms)`` that read the written files back as ``schema``."""


def write_files(plan: Plan, read_options: dict | None, destination: str, file_format: FileFormat, *,
                partition_by: Sequence[str] | None = None, max_rows_per_file: int | None = None,
                storage_options: dict | None = None, overwrite=False, show_progress: bool = False) -> Plan | None:
    """Write ``plan``'s result under ``destination`` with ``file_format``; return the plan of the
    MLTable written there (the same rows, columns and types as the source), or ``None`` when
    ``overwrite='skip'`` found a table there and wrote nothing.

    ``read_options`` are the source's storage options; ``storage_options`` the destination's
    (default: the source's).
    """
    if max_rows_per_file is not None and (isinstance(max_rows_per_file, bool) or not isinstance(max_rows_per_file, int)
                                          or max_rows_per_file < 1):
        raise UserErrorException(f"max_rows_per_file must be a positive integer or None, not {max_rows_per_file!r}")
    options = read_options if storage_options is None else storage_options
    target = Destination.open(destination, options, overwrite_mode(overwrite))
    if target.skipped:
        return None
    from ..executor import list_files
    from ..streaming import SchemaChanged, conformed_tables, settled_schema

    files = list_files(plan, read_options)
    schema = None
    try:
        for attempt in range(2):
            try:
                layout, sinks = _write_stream(conformed_tables(plan, read_options, schema, files), target,
                                              file_format, partition_by, max_rows_per_file, show_progress)
                break
            except SchemaChanged:
                if attempt:
                    raise
                # A later table widened a column: learn the whole result's schema, then write again.
                target.discard()
                plan, schema = settled_schema(plan, read_options, files)
        reader, conversions = file_format.read_back(layout.file_schema, sinks)
        document = _document(plan, target, file_format, layout, reader, conversions)
        target.commit(document)
    except BaseException:
        target.discard()
        raise
    return plan_from_dict(document, base_uri=_folder_uri(target))


def _write_stream(tables: Iterator[pa.Table], target: Destination, file_format: FileFormat,
                  partition_by, max_rows_per_file, show_progress: bool):
    """Write every table; returns the layout and the sinks of the files written, in file order."""
    cutter = None
    bar = progress(show_progress, f"writing {target.shown}")
    try:
        for table in tables:
            if cutter is None:
                layout = PartitionLayout.of(table.schema, partition_by)
                file_format.check(layout.file_schema)
                cutter = _FileCutter(target, file_format, layout, max_rows_per_file, bar)
            cutter.write(table)
        if cutter is None:  # nothing was read at all: no columns either
            cutter = _FileCutter(target, file_format, PartitionLayout.of(pa.schema([]), partition_by),
                                 max_rows_per_file, bar)
        return cutter.layout, cutter.finish()
    except BaseException:
        if cutter is not None:
            cutter.abort()
        raise
    finally:
        bar.close()


class _FileCutter:
    """Cuts the stream into data files: one open file per partition folder, a new one when a file
    has ``max_rows`` rows; at most :data:`MAX_OPEN_FILES` open at once (the least recently used is
    finished first, so many partitions do not hold many buffers)."""

    MAX_OPEN_FILES = 32

    def __init__(self, target: Destination, file_format: FileFormat, layout: PartitionLayout,
                 max_rows: int | None, bar: Progress):
        self.target, self.file_format, self.layout, self.max_rows = target, file_format, layout, max_rows
        self.bar = bar
        self.open: dict[str, _OpenFile] = {}
        self.done: list = []
        self.count = 0

    def write(self, table: pa.Table) -> None:
        for folder, piece in self.layout.split(table):
            while piece.num_rows:
                current = self.open.pop(folder, None) or self._start(folder)
                self.open[folder] = current  # most recently used last
                room = piece.num_rows if self.max_rows is None else self.max_rows - current.rows
                current.write(piece.slice(0, room))
                self.bar.advance(rows=min(room, piece.num_rows))
                piece = piece.slice(room)
                if self.max_rows is not None and current.rows >= self.max_rows:
                    self._finish(folder)

    def finish(self) -> list:
        if not self.open and not self.done:
            # An empty result still gets one file holding its columns (P7: columns survive).
            self.open[""] = self._start("")
        for folder in list(self.open):
            self._finish(folder)
        return self.done

    def abort(self) -> None:
        for current in self.open.values():
            current.abort()
        self.open.clear()

    def _start(self, folder: str) -> "_OpenFile":
        if len(self.open) >= self.MAX_OPEN_FILES:
            self._finish(next(iter(self.open)))
        relative = self.target.data_name(self.count, self.file_format.extension, folder)
        self.count += 1
        return _OpenFile(self.target, relative, self.file_format, self.layout.file_schema)

    def _finish(self, folder: str) -> None:
        self.done.append(self.open.pop(folder).close())
        self.bar.advance(files=1)


class _OpenFile:
    """A data file being written: its handle (committed on close) and its format's sink."""

    def __init__(self, target: Destination, relative: str, file_format: FileFormat, schema: pa.Schema):
        self._writing = target.writing(relative)
        handle = self._writing.__enter__()
        try:
            self.sink = file_format.open(handle, schema)
        except BaseException as error:
            self._writing.__exit__(type(error), error, error.__traceback__)
            raise
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self.sink.write(table)
        self.rows += table.num_rows

    def close(self) -> FileSink:
        try:
            self.sink.close()
        except BaseException as error:
            self.abort(error)
            raise
        self._writing.__exit__(None, None, None)
        return self.sink

    def abort(self, error: BaseException | None = None) -> None:
        error = error or RuntimeError("write abandoned")
        try:
            self.sink.close()  # release the format's writer; the file itself is discarded below
        except BaseException:  # noqa: BLE001
            pass
        try:
            self._writing.__exit__(type(error), error, error.__traceback__)
        except BaseException:  # noqa: BLE001 — the writing context re-raises the error it is given
            pass


def _document(plan: Plan, target: Destination, file_format: FileFormat, layout: PartitionLayout, reader,
              conversions: tuple) -> dict:
    """The MLTable of the written files: a pattern naming exactly this write's files, the format's
    reader, the partition columns taken back from the folders, and the source's traits/metadata."""
    pattern = layout.pattern(f"part-*-{target.write_id}.{file_format.extension}")
    transforms: list = []
    if layout.keys:
        transforms.append(ExtractPartitionFormat(layout.partition_format(file_format.extension)))
    conversions = tuple(conversions) + layout.conversions()
    if conversions:
        transforms.append(ConvertColumnTypes(conversions))
    written = Plan(paths=(PathSpec("pattern", join_uri(_folder_uri(target), pattern), given="./" + pattern),),
                   reader=reader, transforms=tuple(transforms), metadata=plan.metadata, traits=plan.traits)
    document = plan_to_dict(written)
    document["paths"] = [{"pattern": "./" + pattern}]
    return document


def _folder_uri(target: Destination) -> str:
    return target.uri.rstrip("/") or target.uri
