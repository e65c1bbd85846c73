"""Enums accepted wherever the reference accepts them (``header=``, ``encoding=``).

Values are the reference's integers; what counts is the member name.

Example:
    >>> from mltable_lite import MLTableHeaders
    >>> MLTableHeaders.no_header.name
    'no_header'
"""

from enum import Enum


class MLTableHeaders(Enum):
    """How delimited files' first lines are treated (see ``from_delimited_files``)."""

    no_header = 1
    from_first_file = 2
    all_files_different_headers = 3
    all_files_same_headers = 4


class MLTableFileEncoding(Enum):
    """Text encodings of delimited and JSON lines files."""

    utf8 = 1
    iso88591 = 2
    latin1 = 3
    ascii = 4
    utf16 = 5
    utf8bom = 6
    windows1252 = 7


class MLTableSaveOverwriteOption(Enum):
    """What ``MLTable.save(overwrite=...)`` does when a file it would write already exists.

    ``FAIL_ON_CONFLICT`` raises, ``OVERWRITE`` replaces the file, ``SKIP`` keeps the existing file.

    Example:
        >>> from mltable_lite.mltable import MLTableSaveOverwriteOption
        >>> MLTableSaveOverwriteOption.OVERWRITE.value
        2
    """

    FAIL_ON_CONFLICT = 1
    OVERWRITE = 2
    SKIP = 3


class MLTablePartitionSize(Enum):
    """Units (binary: 1 kilobyte = 1024 bytes) for the partition size of delimited and JSON lines reads.

    Example:
        >>> from mltable_lite.mltable import MLTablePartitionSize
        >>> [unit.name for unit in MLTablePartitionSize]
        ['byte', 'kilobyte', 'megabyte', 'gigabyte']
    """

    byte = 0
    kilobyte = 1
    megabyte = 2
    gigabyte = 3
