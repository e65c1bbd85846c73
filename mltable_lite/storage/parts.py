"""Writing one file in parts: what :meth:`Store.writing_parts` hands to a copy.

A copy moves a big file in pieces so that several requests are in flight at once. Where the parts
may land depends on the destination: a local file takes them at any offset, in any order (the
file is still written under a temporary name and renamed when complete, see
:meth:`LocalStore.writing`); an Azure blob takes them as blocks committed at the end
(:mod:`.azure_transfer`); any other store takes them in order, through its sequential
:meth:`Store.writing`. In every case the file appears under its name only when the ``with`` block
ends without an exception, and whole.

Example:
    >>> import os, tempfile
    >>> from mltable_lite.storage import open_store
    >>> folder = tempfile.mkdtemp()
    >>> store = open_store(folder)
    >>> with store.writing_parts(os.path.join(folder, "a.bin"), size=6) as sink:
    ...     sink.write_at(3, b"def")           # any order: a local file is written in place
    ...     sink.write_at(0, b"abc")
    >>> open(os.path.join(folder, "a.bin"), "rb").read()
    b'abcdef'
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import BinaryIO, Iterator

__all__ = ["PART", "PartSink", "sequential_parts", "positioned_parts"]

PART = 8 << 20   # bytes per part of a big file: one ranged read, one block


class PartSink:
    """Receives the parts of one file.

    ``parallel`` sinks take ``write_at`` calls from many threads, at any offsets; the others need
    them in order, from one thread. ``md5`` may be set to the whole file's MD5 (16 bytes) before
    the block ends: stores that keep one (Azure's Content-MD5) record it, and check it when they can.
    """

    parallel = False

    def __init__(self):
        self.md5: bytes | None = None

    def write_at(self, offset: int, data: bytes) -> None:
        raise NotImplementedError


class _InOrder(PartSink):
    def __init__(self, handle: BinaryIO, shown: str):
        super().__init__()
        self._handle, self._shown, self._position = handle, shown, 0

    def write_at(self, offset: int, data: bytes) -> None:
        if offset != self._position:  # a bug of the caller, never the user's: say so plainly
            raise RuntimeError(f"parts of {self._shown} must come in order: got offset {offset}, "
                               f"expected {self._position}")
        self._handle.write(data)
        self._position += len(data)


class _Positioned(PartSink):
    parallel = True

    def __init__(self, handle: BinaryIO):
        super().__init__()
        self._handle = handle
        self._lock = threading.Lock()   # seek + write is one step; a memory copy, so no real wait

    def write_at(self, offset: int, data: bytes) -> None:
        with self._lock:
            self._handle.seek(offset)
            self._handle.write(data)


@contextmanager
def sequential_parts(store, path: str, overwrite: bool = True) -> Iterator[PartSink]:
    """Parts in order through ``store.writing(path)`` (any store that can write)."""
    with store.writing(path, overwrite=overwrite) as handle:
        yield _InOrder(handle, path)


@contextmanager
def positioned_parts(store, path: str, overwrite: bool = True) -> Iterator[PartSink]:
    """Parts at any offset, from any thread, into the seekable file ``store.writing(path)`` gives."""
    with store.writing(path, overwrite=overwrite) as handle:
        yield _Positioned(handle)
