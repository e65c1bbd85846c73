"""Build-time checks of the delimited reader's options: header mode, encoding, delimiter (the
reference's messages). Builders, ``load()`` and writers import these without the reader itself.

Example:
    >>> validate_header("NO_HEADER"), validate_encoding("latin-1"), validate_delimiter(";")
    ('no_header', 'latin1', ';')
"""

from __future__ import annotations

from ..enums import MLTableFileEncoding, MLTableHeaders
from ..errors import UserErrorException

__all__ = ["HEADER_MODES", "validate_delimiter", "validate_encoding", "validate_header"]

HEADER_MODES = ("no_header", "from_first_file", "all_files_different_headers", "all_files_same_headers")

_ENCODINGS = {"utf8": "utf8", "utf-8": "utf8", "utf-8 bom": "utf8", "utf8 bom": "utf8", "iso88591": "iso88591",
              "iso-8859-1": "iso88591", "latin1": "latin1", "latin-1": "latin1", "ascii": "ascii",
              "windows1252": "windows1252", "windows-1252": "windows1252",
              # Rejected by the reference although its own message lists them (policy P12).
              "utf16": "utf16", "utf-16": "utf16", "utf32": "utf32", "utf-32": "utf32",
              # utf8 already strips a BOM, so the BOM variant reads the same and is saved as utf8.
              "utf8bom": "utf8"}

# The reference's message, word for word (users match on it).
_ENCODING_MESSAGE = """Given invalid encoding '{}', supported encodings are:
                                 - utf8 as "utf8", "utf-8", "utf-8 bom"
                                 - iso88591 as "iso88591" or "iso-8859-1"
                                 - latin1 as "latin1" or "latin-1"
                                 - utf16 as "utf16" or "utf-16"
                                 - windows1252 as "windows1252" or "windows-1252\""""


def validate_header(header) -> str:
    """The normalised header mode, or the reference's error.

    Example:
        >>> validate_header("NO_HEADER")
        'no_header'
    """
    if isinstance(header, MLTableHeaders):
        return header.name
    if not isinstance(header, str):
        raise UserErrorException("The header should be a string or an MLTableHeader enum")
    if header.lower() not in HEADER_MODES:
        raise UserErrorException(
            f"Given invalid header {header}, supported headers are: 'no_header', 'from_first_file', "
            "'all_files_different_headers', and 'all_files_same_headers'.")
    return header.lower()


def validate_encoding(encoding) -> str:
    """The normalised encoding name (an ``MLTableFileEncoding`` member name), or the reference's error.

    Example:
        >>> validate_encoding("iso-8859-1"), validate_encoding("utf-16")
        ('iso88591', 'utf16')
    """
    if isinstance(encoding, MLTableFileEncoding):
        return _ENCODINGS[encoding.name]
    if not isinstance(encoding, str):
        raise UserErrorException("The encoding should be a string or an MLTableFileEncoding enum")
    normalised = _ENCODINGS.get(encoding) or _ENCODINGS.get(encoding.lower())
    if normalised is None:
        raise UserErrorException(_ENCODING_MESSAGE.format(encoding))
    return normalised


def validate_delimiter(delimiter) -> str:
    """The delimiter, if usable. Multi-character delimiters are supported whole (policy P14).

    Example:
        >>> validate_delimiter("::")
        '::'
    """
    if not isinstance(delimiter, str) or not delimiter:
        raise UserErrorException("`delimiter` must be a non-empty string, for example ',' or '\\t'.")
    if any(char in delimiter for char in '"\r\n'):
        raise UserErrorException(f"`delimiter` {delimiter!r} cannot contain quotes or line breaks.")
    return delimiter
