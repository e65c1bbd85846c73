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
