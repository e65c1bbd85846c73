"""Readers: a list of files + one reader step → Arrow tables. One module per format.

The contract every reader keeps (the executor relies on it):

``read(files, step, columns=None) -> Iterator[tuple[int, pyarrow.Table]]``

* ``files`` is the expanded, ordered list of :class:`mltable_lite.storage.FileRef`; open them
  with ``file.store.open_input(file.path)`` (or ``file.store.arrow_filesystem``), never by
  parsing URIs.
* Yields ``(index into files, table)`` in file order; a file may yield several tables (chunks)
  or none (empty file). The executor adds the ``Path`` column and applies transforms.
* ``columns``, when given, names the only columns later steps need (projection pushdown); a
  reader may return more, never fewer of those that exist.
* Tables carry Arrow types that become the reference's pandas dtypes through
  ``table.to_pandas(date_as_object=True, coerce_temporal_nanoseconds=False)``.
* Errors are :class:`UserErrorException` / :class:`ExecutionError` naming the file (its
  ``display``), the line or column where known, and the fix.
"""

from __future__ import annotations


def reader_for(step):
    """The ``read`` function of the module that handles ``step``'s format."""
    from ..plan import ReadDelimited, ReadDeltaLake, ReadJsonLines, ReadParquet

    if isinstance(step, ReadDelimited):
        from .delimited import read_delimited

        return read_delimited
    if isinstance(step, ReadParquet):
        from .parquet import read_parquet

        return read_parquet
    if isinstance(step, ReadJsonLines):
        from .json_lines import read_json_lines

        return read_json_lines
    if isinstance(step, ReadDeltaLake):
        from .delta import read_delta_lake

        return read_delta_lake
    raise TypeError(f"no reader for {step!r}")
