"""Opening one parquet file with clear errors (the parquet and Delta readers share it).

A file that is not parquet at all (a CSV, say) raises :class:`UserErrorException` with the
reference's ``Invalid Parquet file. Corrupt footer.``; a damaged parquet file raises
:class:`ExecutionError`; a file gone since the listing raises the reference's not-found error.

Example:
    >>> source = open_source(file)                    # doctest: +SKIP
    >>> parquet_file(file, source).num_row_groups     # doctest: +SKIP
    1
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, ExecutionError, UserErrorException

__all__ = ["open_source", "parquet_file", "footer", "statistics_fragment", "is_empty"]

_MAGIC = b"PAR1"


def open_source(file):
    """A random-access input for ``file``: the store's ``open_random_access`` for remote files
    (told the listed size: no metadata request), else PyArrow's native file. The caller closes it."""
    try:
        if file.store.remote:
            return file.store.open_random_access(file.path, size=file.size if file.size >= 0 else None)
        try:
            filesystem = file.store.arrow_filesystem
        except NotImplementedError:
            return file.store.open_random_access(file.path)
        return filesystem.open_input_file(file.path)
    except FileNotFoundError:
        raise UserErrorException(
            f"{NOT_FOUND_MESSAGE} file '{file.display}' disappeared before it could be read.",
            error_code=NOT_FOUND_CODE,
        ) from None


def parquet_file(file, source) -> pq.ParquetFile:
    """``source`` (opened from ``file``) as a ``ParquetFile``. Its footer is read once per listing:
    the first reader of the file (counting row groups, pruning or reading) parses it and leaves
    it in ``file.memo`` for the others. Remote files pre-buffer the column chunks a read needs:
    adjacent ranges coalesced into a few large reads, which the store splits into parallel requests.

    Pages that carry a CRC (Spark and parquet-mr write them) are checked against it as they are
    decoded: a flipped byte is an error naming the file, never different numbers.
    """
    metadata = file.memo.get(_FOOTER)
    try:
        # (Bytes already in memory, a prefetched file, gain nothing from pre-buffering.)
        in_memory = isinstance(source, pa.BufferReader)
        opened = pq.ParquetFile(source, metadata=metadata, pre_buffer=file.store.remote and not in_memory,
                                page_checksum_verification=True)
    except (pa.ArrowException, OSError) as error:
        raise _invalid_parquet(file, source, error) from None
    if metadata is None:
        file.memo[_FOOTER] = opened.metadata
    return opened


def footer(file, statistics: bool = False) -> pq.FileMetaData | None:
    """``file``'s parquet footer, read at most once per listing (see :func:`parquet_file`);
    None for an empty file (no rows, no columns). ``statistics``: its row groups' statistics will
    be asked too (:func:`statistics_fragment`): a local file's footer is then read as a dataset
    fragment, which answers both, so it is parsed once.

    Example:
        >>> footer(file).num_row_groups      # doctest: +SKIP
        3
    """
    if file.size == 0:
        return None
    metadata = file.memo.get(_FOOTER)
    if metadata is None and statistics and file.size > 0 and not file.store.remote:
        metadata = _fragment_footer(file)
    if metadata is None:
        source = open_source(file)
        try:
            if file.size < 0 and is_empty(source):
                return None
            metadata = parquet_file(file, source).metadata
        finally:
            source.close()
    return metadata


def statistics_fragment(file):
    """``file`` as a ``pyarrow.dataset`` parquet fragment holding its footer, whose
    ``split_by_row_group(filter=...)`` decides by statistics. Made from the footer already read
    (no store is asked again: HTTP, which has no Arrow filesystem, is pruned too).

    Example:
        >>> [part.row_groups[0].id for part in statistics_fragment(file).split_by_row_group(filter=expr)]   # doctest: +SKIP
        [1]
    """
    fragment = file.memo.get(_FRAGMENT)
    if fragment is None:
        import pyarrow.dataset as ds

        sink = pa.BufferOutputStream()
        footer(file).write_metadata_file(sink)   # (an empty file has no row groups to ask about)
        fragment = file.memo[_FRAGMENT] = ds.ParquetFileFormat().make_fragment(pa.BufferReader(sink.getvalue()))
    return fragment


def _fragment_footer(file) -> pq.FileMetaData | None:
    """A local file's footer read by a dataset fragment (kept for :func:`statistics_fragment`);
    None when that fails: the plain read then reports why."""
    import pyarrow.dataset as ds

    try:
        fragment = ds.ParquetFileFormat().make_fragment(file.path, filesystem=file.store.arrow_filesystem)
        fragment.ensure_complete_metadata()
        metadata = fragment.metadata
    except Exception:  # noqa: BLE001 - the plain read raises the clear error
        return None
    file.memo[_FOOTER], file.memo[_FRAGMENT] = metadata, fragment
    return metadata


def is_empty(source) -> bool:
    """Whether ``source`` holds no bytes (asked only of files listed without a size)."""
    size = source.size() if isinstance(source, pa.NativeFile) else source.seek(0, 2)
    if not isinstance(source, pa.NativeFile):
        source.seek(0)
    return size == 0


_FOOTER = "parquet footer"
_FRAGMENT = "parquet statistics fragment"


def _invalid_parquet(file, source, error: Exception) -> Exception:
    head, tail = _ends(source)
    if tail != _MAGIC:
        # No parquet footer at all: most often a CSV or JSON file given to from_parquet_files.
        kind = "does not start or end" if head != _MAGIC else "does not end"
        return UserErrorException(
            f"Invalid Parquet file. Corrupt footer. '{file.display}' {kind} with the parquet magic "
            f"bytes 'PAR1', so it is not a parquet file (or was cut short). If it holds delimited "
            "text, read it with mltable.from_delimited_files; JSON lines with "
            "mltable.from_json_lines_files."
        )
    return ExecutionError(
        f"Cannot read parquet file '{file.display}': {error}. The file is damaged; write it again."
    )


def _ends(source) -> tuple[bytes, bytes]:
    """The first and last four bytes of ``source`` (empty when they cannot be read)."""
    try:
        source.seek(0)
        head = source.read(4)
        size = source.seek(0, 2)
        if size < 8:
            return head, b""
        source.seek(size - 4)
        return head, source.read(4)
    except (OSError, ValueError):
        return b"", b""
