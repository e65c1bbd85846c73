"""Enums accepted wherever the reference accepts them (``header=``, ``encoding=``).

Example:
    >>> from mltable_lite import MLTableHeaders
    >>> MLTableHeaders.no_header.value
    'no_header'
"""

from enum import Enum


class MLTableHeaders(Enum):
    """How delimited files' first lines are treated (see ``from_delimited_files``)."""

    all_files_same_headers = "all_files_same_headers"
    all_files_different_headers = "all_files_different_headers"
    from_first_file = "from_first_file"
    no_header = "no_header"


class MLTableFileEncoding(Enum):
    """Text encodings of delimited and JSON lines files."""

    utf8 = "utf8"
    iso88591 = "iso88591"
    latin1 = "latin1"
    ascii = "ascii"
    utf16 = "utf16"
    utf32 = "utf32"
    utf8bom = "utf8bom"
    windows1252 = "windows1252"
