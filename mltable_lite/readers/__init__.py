"""Readers: a list of files + one reader step → Arrow tables. One module per format.

The executor asks a format everything through one protocol, :class:`.format.Format`, found
with :func:`format_for`; each module below defines its format's ``FORMAT``. The tables of
every reader keep this contract (the executor relies on it):

``Format.read_files(files, step, columns=None) -> Iterator[tuple[int, pyarrow.Table]]``

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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .format import Format


def format_for(step) -> Format:
    """The :class:`~mltable_lite.readers.format.Format` that handles ``step``'s format.

    Example:
        >>> from mltable_lite.plan import ReadJsonLines
        >>> type(format_for(ReadJsonLines())).__name__
        'JsonLinesFormat'
    """
    from ..plan import ReadDelimited, ReadDeltaLake, ReadJsonLines, ReadParquet

    # Each format's module is imported only when a plan reads that format.
    if isinstance(step, ReadDelimited):
        from .delimited import FORMAT
    elif isinstance(step, ReadParquet):
        from .parquet import FORMAT
    elif isinstance(step, ReadJsonLines):
        from .json_lines import FORMAT
    elif isinstance(step, ReadDeltaLake):
        from .delta import FORMAT
    else:
        raise TypeError(f"no format reads {step!r}")
    return FORMAT
