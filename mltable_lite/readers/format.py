"""The one protocol every format answers to the executor, with defaults for the common case.

The executor never asks which format it holds: it takes the plan's reader step to
:func:`mltable_lite.readers.format_for` and calls these methods. A format overrides only what
differs from a format read whole, file by file.

* :meth:`Format.list_files` — the plan's data files (default: its path specs expanded; Delta
  asks its transaction log instead).
* :meth:`Format.partitions` — every partition as ``(file index, part)``, the unit of
  ``get_partition_count()`` and ``select_partitions`` (default: one per file; parquet row
  groups; ``partition_size`` byte chunks for text, :class:`TextFormat`).
* :meth:`Format.part_rows` — how many rows each partition of a file holds, so that a read can be
  cut at partition edges (sampling draws per partition, as the reference; default: a file is one
  partition).
* :meth:`Format.prune` — drop partitions that statistics prove hold no row passing the
  optimiser's filters (default: none dropped; parquet row groups).
* :meth:`Format.read` — ``(file index, table)`` pairs for the files, or only for the chosen
  ``parts`` of some files (see :mod:`mltable_lite.readers` for the table contract). A read of
  some partitions of a bigger read (one task of ``to_dask_dataframe``) names that read's files
  as its ``context``: a format whose result depends on earlier files (delimited headers and the
  type-inference sample, :meth:`Format.read_in_context`) reads them as the bigger read would.
* :meth:`Format.widen` and :meth:`Format.retry_step` — what to do when the tables of one read
  disagree on a column's type beyond what schema unification promotes: give them one type
  (JSON lines, policy P11), or read again with a step that does (delimited, policy P2).

Every read goes through :meth:`Format.read_files` (the format's reader function, the contract in
:mod:`mltable_lite.readers`), so :meth:`Format.with_reader` can decorate all of them at once
(progress counting, schema-only probes).

Example:
    >>> from mltable_lite.plan import ReadParquet
    >>> from mltable_lite.readers import format_for
    >>> format_for(ReadParquet()).partitions([], ReadParquet())
    []
"""

from __future__ import annotations

import copy
from typing import Callable, Iterator, Sequence

import pyarrow as pa

from ..storage import FileRef, expand_paths
from ._csv_pieces import line_spans

__all__ = ["Format", "TextFormat"]


class Format:
    """A format read whole, one file at a time; subclasses override what differs."""

    def reads_parts_alone(self, file: FileRef, step) -> bool:
        """Whether a partition of ``file`` is read without reading the file's other partitions
        (a parquet row group: yes); when not, one task of a dask frame reads all the chosen
        partitions of the file."""
        return True

    def read_files(self, files: Sequence[FileRef], step, columns: Sequence[str] | None = None,
                   **options) -> Iterator[tuple[int, pa.Table]]:
        """The format's reader: ``(index into files, table)`` for every file, in order.
        ``options`` are the format's own (parquet: ``row_groups``, ``row_filters``)."""
        raise NotImplementedError

    def with_reader(self, wrap: Callable[[Callable], Callable]) -> Format:
        """This format with every read going through ``wrap(read_files)``, a function of the same
        contract (progress counting, schema-only probes)."""
        wrapped = copy.copy(self)
        wrapped.read_files = wrap(self.read_files)
        return wrapped

    def list_files(self, plan, storage_options: dict | None = None) -> list[FileRef]:
        """The data files ``plan`` reads, in order."""
        return expand_paths(plan.paths, storage_options)

    def partitions(self, files: Sequence[FileRef], step, filters: list | None = None) -> list[tuple[int, object]]:
        """Every partition as ``(file index, part)``, in file order. ``filters``: the read will
        :meth:`prune` by these (a format may make ready for that as it lists)."""
        return [(index, 0) for index in range(len(files))]

    def part_rows(self, file: FileRef, step, parts: list, position: int) -> list[int] | None:
        """The rows each of ``parts`` (of ``file``, the ``position``-th file read) holds, in order;
        ``None`` when the file is one partition, so there is nothing to cut."""
        return None

    def prune(self, files: Sequence[FileRef], selected: list[tuple], filters: list) -> list[tuple]:
        """``selected`` partitions without those no row of which can pass ``filters`` (parsed
        filter trees); a format without statistics keeps them all."""
        return selected

    def read(self, files: Sequence[FileRef], step, columns: Sequence[str] | None = None,
             parts: dict[int, list] | None = None, context: list[int] | None = None,
             row_filters: list | None = None) -> Iterator[tuple[int, pa.Table]]:
        """``(file index, table)`` for every file, or, with ``parts`` (file index → its chosen
        parts), for the chosen parts of those files only. ``context``: the files (indices, in
        order, a superset of ``parts``) of the bigger read these parts belong to.
        ``row_filters``: parsed filters the caller applies to these rows afterwards; a format may
        leave out rows that cannot pass them (never reorder or change the others)."""
        if parts is None:
            yield from self.read_files(files, step, columns)
            return
        for index, table in self._read_chosen(files, step, columns, parts, context):
            yield index, table

    def _read_chosen(self, files, step, columns, parts: dict, context: list[int] | None, **options):
        """``(file index, table)`` for the files ``parts`` names, read within ``context``."""
        opened = sorted(parts) if context is None else list(context)
        wanted = {position for position, index in enumerate(opened) if index in parts}
        for position, table in self.read_in_context([files[index] for index in opened], step, columns, wanted,
                                                    **options):
            yield opened[position], table

    def read_in_context(self, files: Sequence[FileRef], step, columns, wanted: set[int], **options
                        ) -> Iterator[tuple[int, pa.Table]]:
        """``(position, table)`` for the ``wanted`` positions of ``files`` only, read as the read of
        all of ``files`` would read them. A format whose files are read independently (the
        default) opens the wanted ones only. ``options`` go to :meth:`read_files`."""
        if len(wanted) == len(files):
            yield from self.read_files(files, step, columns, **options)
            return
        picked = sorted(wanted)
        for position, table in self.read_files([files[index] for index in picked], step, columns, **options):
            yield picked[position], table

    def widen(self, tables: list[pa.Table]) -> list[pa.Table] | None:
        """``tables`` given one type per column where the format has a rule for it; ``None``
        where it has none."""
        return None

    def retry_step(self, step, columns: list[str]):
        """A reader step that reads ``columns`` (whose types differ between tables) with one
        type; ``None`` when reading again would not help."""
        return None


class TextFormat(Format):
    """A line-oriented text format: its partitions are ``step.partition_size`` byte chunks.

    A record belongs to the chunk its first byte is in. Counting is by physical lines, so files
    with blank lines or quoted line breaks may shift by a row at a chunk edge.
    """

    def ranged(self, step) -> bool:
        """Whether a chunk of a file can be parsed from its own bytes (:func:`._csv_pieces.line_spans`)."""
        return False

    def reads_parts_alone(self, file: FileRef, step) -> bool:
        from ..storage import LocalStore

        return self.ranged(step) and isinstance(file.store, LocalStore)

    def header_lines(self, step, position: int) -> int:
        """Lines before the first record of the ``position``-th file read (a header line)."""
        return 0

    def partitions(self, files: Sequence[FileRef], step, filters: list | None = None) -> list[tuple[int, object]]:
        size = step.partition_size
        if size is None:
            return super().partitions(files, step)
        # An empty file (a Spark ``_SUCCESS`` marker) is no partition; an unknown size (-1) is one.
        return [(index, part) for index, file in enumerate(files)
                for part in range(0 if file.resolved_size() == 0 else _chunks(file, size))]

    def part_rows(self, file: FileRef, step, parts: list, position: int) -> list[int] | None:
        size = step.partition_size
        if size is None or (len(parts) == 1 and _chunks(file, size) == 1):
            return None
        return [stop - start for start, stop in _row_ranges(file, size, parts, self.header_lines(step, position))]

    def read(self, files: Sequence[FileRef], step, columns: Sequence[str] | None = None,
             parts: dict[int, list] | None = None, context: list[int] | None = None,
             row_filters: list | None = None) -> Iterator[tuple[int, pa.Table]]:
        size = step.partition_size
        if parts is None or size is None:
            yield from super().read(files, step, columns, parts, context)
            return
        opened = sorted(parts) if context is None else list(context)
        position_of = {index: position for position, index in enumerate(opened)}
        # A chunk of a file parsed from its own bytes gives its rows, one table per chunk;
        # other files read in part are read whole and cut (their rows counted by lines).
        spans = {}
        if self.ranged(step):
            for index, chosen in parts.items():
                if chosen and len(chosen) < _chunks(files[index], size):
                    found = line_spans(files[index], size, chosen, self.header_lines(step, position_of[index]))
                    if found is not None:
                        spans[files[index].path] = found
        options = {"spans": spans} if spans else {}
        # A reader may yield a big file as several tables: ``offset`` is where this one starts in the file.
        position_seen, offset, ranges = None, 0, []
        for file_index, table in self._read_chosen(files, step, columns, parts, context, **options):
            position = position_of[file_index]   # in the read: a text file's header depends on it
            file = files[file_index]
            if len(parts[file_index]) == _chunks(file, size) or file.path in spans:
                yield file_index, table
                continue
            if position != position_seen:
                position_seen, offset = position, 0
                ranges = _row_ranges(file, size, parts[file_index], self.header_lines(step, position))
            for start, stop in ranges:
                start, stop = max(start - offset, 0), min(stop - offset, table.num_rows)
                if stop > start or offset == 0:  # the first table also gives empty parts their columns
                    yield file_index, table.slice(min(start, table.num_rows), max(0, stop - start))
            offset += table.num_rows


def _chunks(file: FileRef, size: int) -> int:
    return max(1, -(-file.resolved_size() // size))


def _row_ranges(file: FileRef, size: int, parts: list[int], header_lines: int) -> list[tuple[int, int]]:
    """Rows of ``file`` whose lines start inside each chosen ``size``-byte chunk.

    The file is read in blocks, counting line breaks, never held whole (a task of a dask frame
    reading one piece of a big file holds a block)."""
    edges = sorted({edge for part in parts for edge in (part * size, (part + 1) * size) if edge > 0})
    breaks_before: dict[int, int] = {}   # edge -> line breaks in the bytes before edge - 1
    seen = breaks = 0
    last = b""
    with file.store.open_input(file.path) as handle:
        pending = 0
        while True:
            block = handle.read(_COUNT_BLOCK)
            if not block:
                break
            end = seen + len(block)
            while pending < len(edges) and edges[pending] - 1 <= end:
                breaks_before[edges[pending]] = breaks + block.count(b"\n", 0, edges[pending] - 1 - seen)
                pending += 1
            breaks += block.count(b"\n")
            last, seen = block[-1:], end
            if pending == len(edges) and (not edges or edges[-1] < seen):
                break   # every edge is inside what was read: the rest does not count
    length = seen if not block else None   # known only when the file was read to its end

    def lines_starting_before(offset: int) -> int:
        if offset <= 0:
            return 0
        if length is None or offset < length:
            return 1 + breaks_before[offset]
        return breaks + (0 if last == b"\n" else 1)

    ranges = []
    for part in sorted(parts):
        start = max(0, lines_starting_before(part * size) - header_lines)
        stop = max(0, lines_starting_before((part + 1) * size) - header_lines)
        ranges.append((start, stop))
    return ranges


_COUNT_BLOCK = 1 << 24
