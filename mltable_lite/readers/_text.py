"""Text helpers for the delimited reader: encodings → UTF-8, and a careful record tokenizer.

The fast path hands UTF-8 bytes to ``pyarrow.csv``; this module makes every supported encoding
into such bytes, and provides the slow but exact tokenizer used for files pyarrow cannot read
as they are (ragged rows, quoted line breaks to report).

Example:
    >>> list(iter_records('a,"b ""q"" c"\\n\\n1,\\n', ",", multi_line=False))
    [(1, ['a', 'b "q" c']), (3, ['1', None])]
"""

from __future__ import annotations

import re
from typing import Iterator

from ..errors import UserErrorException

UTF8_BOM = b"\xef\xbb\xbf"

# Python names of the codecs behind each normalised encoding name.
CODECS = {"utf8": "utf-8", "utf8bom": "utf-8", "ascii": "utf-8", "utf16": "utf-16", "utf32": "utf-32",
          "iso88591": "cp1252", "latin1": "cp1252", "windows1252": "cp1252"}

# The reference decodes latin-1 like windows-1252 (0x80 → €). Bytes windows-1252 leaves
# undefined (0x81, 0x8d, ...) keep their latin-1 meaning instead of failing.
_CP1252_TABLE = {}
for _byte in range(0x80, 0xA0):
    try:
        _CP1252_TABLE[_byte] = bytes([_byte]).decode("cp1252")
    except UnicodeDecodeError:
        pass


def to_utf8(raw: bytes, encoding: str, display: str) -> bytes:
    """``raw`` in ``encoding`` (a normalised name) as UTF-8 bytes without a byte-order mark.

    UTF-8 input is returned as is (validated later, only where needed, for speed).

    Example:
        >>> to_utf8(b"\\x80", "latin1", "f.csv").decode()
        '€'
    """
    codec = CODECS.get(encoding, "utf-8")
    if codec == "utf-8":
        return raw[3:] if raw.startswith(UTF8_BOM) else raw
    if codec == "cp1252":
        return raw.decode("latin-1").translate(_CP1252_TABLE).encode("utf-8")
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        raise decode_error(raw, error.start, codec, display) from None
    return (text[1:] if text.startswith("\ufeff") else text).encode("utf-8")


def check_utf8(data: bytes, display: str, start_line: int = 1, start_byte: int = 0) -> str:
    """``data`` decoded, or the reference's decoding error naming the file and line.

    ``data`` may be a piece of the file that starts at line ``start_line``, byte ``start_byte``.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise decode_error(data, error.start, "utf-8", display, start_line, start_byte) from None


def decode_error(data: bytes, position: int, codec: str, display: str, start_line: int = 1,
                 start_byte: int = 0) -> UserErrorException:
    line = data.count(b"\n", 0, position) + start_line
    position += start_byte
    return UserErrorException(
        f"Error attempting to decode into {codec}. File '{display}', line {line} (byte {position}) holds "
        f"bytes that are not valid {codec}. Pass the file's encoding, e.g. encoding='latin1' or 'utf16'.")


def quoted_newline_error(display: str, line: int) -> UserErrorException:
    return UserErrorException(
        f"File '{display}', line {line}: a quoted value contains a line break, but support_multi_line is "
        "False, so every line would be read as a separate record. Pass support_multi_line=True to read it.")


def _field_regex(delimiter: str, multi_line: bool) -> re.Pattern:
    d = re.escape(delimiter)
    # "Unrolled" (text, then any number of "" each followed by text): one way to match any
    # input, so a quote that never closes costs one scan of the line, not exponential backtracking.
    inner = r'[^"]*(?:""[^"]*)*' if multi_line else r'[^"\r\n]*(?:""[^"\r\n]*)*'
    return re.compile(rf'(?:"({inner})"([^{d}\r\n]*)|([^{d}\r\n]*))({d}|\r\n|\n|\r|\Z)')


_MULTI_LINE_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*"')


def iter_records(text: str, delimiter: str, multi_line: bool, display: str = "",
                 start_line: int = 1) -> Iterator[tuple[int, list]]:
    """Records of ``text`` as ``(line number, fields)``; an unquoted empty field is ``None``.

    Blank lines are skipped. Without ``multi_line`` a quoted value that closes on a later line
    raises (policy P15) instead of splitting the record; an unterminated quote is literal text.
    With ``multi_line``, as in the reference, a quote that never closes makes the rest of the text
    one record: its fields are split at delimiters only, the quote and line breaks kept as text.
    """
    if '"' not in text:
        return _unquoted_records(text, delimiter, start_line)
    return _quoted_records(text, delimiter, multi_line, display, start_line)


def _quoted_records(text: str, delimiter: str, multi_line: bool, display: str,
                    start_line: int) -> Iterator[tuple[int, list]]:
    field_re = _field_regex(delimiter, multi_line)
    match_at = field_re.match
    pos, line, end = 0, start_line, len(text)
    record: list = []
    record_line = line
    while True:
        match = match_at(text, pos)
        quoted, junk, plain, term = match.groups()
        if quoted is not None:
            value = quoted.replace('""', '"') + junk
            if multi_line:
                line += quoted.count("\n") + quoted.count("\r") - quoted.count("\r\n")
        else:
            if plain.startswith('"'):
                if multi_line:  # the quoted alternative failed: this quote never closes
                    record.extend(field or None for field in text[pos:].split(delimiter))
                    yield record_line, record
                    return
                closing = _MULTI_LINE_QUOTED.match(text, pos)
                if closing and ("\n" in closing.group() or "\r" in closing.group()):
                    raise quoted_newline_error(display, line)
            value = plain or None
        record.append(value)
        pos = match.end()
        if term == delimiter:
            continue
        if len(record) > 1 or record[0] is not None:
            yield record_line, record
        record = []
        line += 1
        record_line = line
        if not term or pos >= end:
            return


def _unquoted_records(text: str, delimiter: str, start_line: int) -> Iterator[tuple[int, list]]:
    """:func:`iter_records` for text without a quote character: plain splits, same records (the
    regex walk costs milliseconds per file, which a folder of many small files pays per file)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for number, line in enumerate(text.split("\n"), start_line):
        if line:
            yield number, [field or None for field in line.split(delimiter)]


def line_pieces(handle, first_size: int, size: int) -> Iterator[bytearray]:
    """The file ``handle`` in pieces of whole lines, without a UTF-8 byte-order mark: about
    ``first_size`` bytes, then about ``size`` bytes each, every piece read on to the end of its
    last line. Only the last piece may lack a final line break; a file smaller than
    ``first_size`` is one piece.

    Readers parse the pieces one by one so that a caller who stops early (``take``) stops the
    reading. Each piece is read straight into its own buffer: no bytes are copied.

    Example:
        >>> import io
        >>> [bytes(p) for p in line_pieces(io.BytesIO(b"\\xef\\xbb\\xbfa,1\\nb,2\\nc,3"), 6, 4)]
        [b'a,1\\n', b'b,2\\n', b'c,3']
    """
    want = first_size
    first = True
    while True:
        piece = _read_into(handle, want)
        if not piece:
            return
        if first:
            first = False
            if piece.startswith(UTF8_BOM):
                del piece[:len(UTF8_BOM)]
        if not piece.endswith(b"\n"):
            piece += handle.readline()
        if piece:
            yield piece
        want = size


def _read_into(handle, size: int) -> bytearray:
    """Up to ``size`` bytes (fewer only at the end of the file), in a new buffer."""
    readinto = getattr(handle, "readinto", None)
    if readinto is None:
        return bytearray(handle.read(size))
    buffer = bytearray(size)
    got = 0
    with memoryview(buffer) as view:
        while got < size:
            count = readinto(view[got:])
            if not count:
                break
            got += count
    del buffer[got:]
    return buffer
