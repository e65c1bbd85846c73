"""Stores over fsspec filesystems, and fetching many small remote files at once.

A remote read of a thousand small files is round-trip bound: opened one after another, each costs
a metadata request and a read. :func:`prefetched` gives readers the same files behind a proxy
store that fetches whole small files on a thread pool, a bounded window ahead of the reader, so
that the reader's ``open_input`` finds the bytes already here. Big files are opened as usual (they
are read in ranged pieces, and fetching them whole would cost memory).

Example:
    >>> files = prefetched(expand_paths([PathSpec("folder", "wasbs://c@acct.blob.core.windows.net/d")]))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import io
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Sequence

from . import FileRef, Store

SMALL_FILE = 8 << 20        # fetched whole ahead of the reader at most this big
WINDOW_FILES = 64            # at most this many files fetched ahead...
WINDOW_BYTES = 128 << 20     # ...holding at most this many bytes
FETCH_WORKERS = 16           # requests in flight at once
_RECENT = 4


class FsspecStore(Store):
    """Any fsspec filesystem; paths are the filesystem's own (protocol stripped).

    Subclasses map between the URIs users write and the filesystem's paths where fsspec's own
    mapping loses information (the Azure account, an azureml:// datastore).
    """

    remote = True

    def __init__(self, fs, protocol: str):
        from .secrets import install_log_redaction

        install_log_redaction()
        self.fs = fs
        self.protocol = protocol

    def __repr__(self) -> str:  # never the filesystem's options: they may hold credentials
        return f"{type(self).__name__}({self.protocol}://)"

    def path_of(self, uri: str) -> str:
        return self.fs._strip_protocol(uri)

    def uri_of(self, path: str) -> str:
        return self.fs.unstrip_protocol(path)

    def kind(self, path: str) -> str | None:
        try:
            info = self.fs.info(path)
        except (FileNotFoundError, OSError):
            return None
        return "directory" if info.get("type") == "directory" else "file"

    def size(self, path: str) -> int:
        return int(self.fs.size(path) or 0)

    def find(self, folder: str) -> list[tuple[str, int]]:
        listing = self.fs.find(folder, detail=True)
        return sorted((path, int(info.get("size") or 0)) for path, info in listing.items()
                      if info.get("type") != "directory")

    def open_input(self, path: str):
        return self.fs.open(path, "rb")

    def fetch(self, path: str) -> bytes:
        """The whole file in one request (no metadata round trip first)."""
        return self.fs.cat_file(path)

    def read_range(self, path: str, start: int, end: int) -> bytes:
        return self.fs.cat_file(path, start=start, end=end)

    @contextmanager
    def writing(self, path: str, overwrite: bool = True):
        """fsspec's buffered writer, committed by ``close()`` only when the block succeeds."""
        if not overwrite and self.fs.exists(path):
            raise FileExistsError(path)
        handle = self.fs.open(path, "wb")
        try:
            yield handle
        except BaseException:
            abandon(handle)
            raise
        handle.close()

    def delete(self, path: str) -> None:
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            pass

    @property
    def arrow_filesystem(self):
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        return PyFileSystem(FSSpecHandler(self.fs))


def abandon(handle) -> None:
    """Close an fsspec file opened for writing without committing it: ``close()`` on a buffered
    writer uploads what is buffered and completes the object, which a failed write must not do.
    Blocks an object store already holds stay uncommitted, invisible, and expire."""
    from fsspec.spec import AbstractBufferedFile

    if isinstance(handle, AbstractBufferedFile):
        handle.discard()
        handle.forced = True  # close() then skips the final flush, which is what commits
    handle.close()


def prefetched(files: Sequence[FileRef], only: set[int] | None = None) -> list[FileRef]:
    """``files`` with small remote ones served from a read-ahead window (see the module doc).

    ``only`` names the indexes that will be read (the others are never fetched). Local files,
    and lists with fewer than two small remote files, come back unchanged.
    """
    small = [index for index, file in enumerate(files)
             if (only is None or index in only) and file.store.remote
             and 0 <= file.size <= SMALL_FILE]  # -1: a server that gave no size
    if len(small) < 2:
        return list(files)
    window = _Window([files[index] for index in small])
    result = list(files)
    for order, index in enumerate(small):
        result[index] = dataclasses.replace(files[index], store=_PrefetchedStore(files[index].store, window, order))
    return result


class _Window:
    """Fetches files in order on a thread pool, never more than the window ahead of the reader."""

    def __init__(self, files: list[FileRef]):
        self._files = files
        self._lock = threading.Lock()
        self._futures: dict[int, Future] = {}
        self._queued: deque[int] = deque(range(len(files)))
        self._bytes_ahead = 0
        self._pool: ThreadPoolExecutor | None = None
        # The last files handed out, for readers that open a file twice (header, then body).
        self._recent: dict[int, bytes] = {}

    def take(self, order: int) -> bytes:
        with self._lock:
            if order in self._recent:
                return self._recent[order]
            future = self._futures.pop(order, None)
            if future is None:  # read out of order, or the window had not reached it yet
                self._drop_queued(order)
            self._fill()
        if future is None:
            file = self._files[order]
            data = file.store.fetch(file.path)
        else:
            data = future.result()
        with self._lock:
            if future is not None:
                self._bytes_ahead -= self._files[order].size
            self._recent[order] = data
            while len(self._recent) > _RECENT:
                self._recent.pop(next(iter(self._recent)))
            self._fill()
        return data

    def _drop_queued(self, order: int) -> None:
        try:
            self._queued.remove(order)
        except ValueError:
            pass

    def _fill(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="mltable_lite_fetch")
        while self._queued and len(self._futures) < WINDOW_FILES and (
                not self._futures or self._bytes_ahead + self._files[self._queued[0]].size <= WINDOW_BYTES):
            order = self._queued.popleft()
            file = self._files[order]
            self._bytes_ahead += file.size
            self._futures[order] = file.store.fetch_later(file.path, self._pool)
        if not self._queued and not self._futures:
            self._pool.shutdown(wait=False)

    def __del__(self):  # a stream closed early (take(n)) leaves fetches to cancel
        for future in self._futures.values():
            future.cancel()
        pool = self._pool
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class _PrefetchedStore:
    """One file's store, answering reads from the window; everything else is the inner store's."""

    def __init__(self, inner: Store, window: _Window, order: int):
        self._inner = inner
        self._window = window
        self._order = order

    def open_input(self, path: str):
        return io.BytesIO(self._window.take(self._order))

    def fetch(self, path: str) -> bytes:
        return self._window.take(self._order)

    open_random_access = open_input  # the bytes are here: parquet needs no ranged reads

    @property
    def arrow_filesystem(self):
        # Readers that prefer a native filesystem fall back to open_input, which has the bytes.
        raise NotImplementedError

    def __getattr__(self, name):
        return getattr(self._inner, name)
