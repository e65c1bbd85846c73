"""Storage: URI + storage options → a store that lists and opens files. Knows nothing of formats.

Local paths use the operating system and ``pyarrow.fs.LocalFileSystem`` directly (no fsspec
import, so a tiny local read starts fast); every other scheme goes through fsspec, wrapped for
PyArrow. Globbing is done once, here, for all stores (:mod:`.globbing`).

Example:
    >>> from mltable_lite.plan import PathSpec
    >>> files = expand_paths([PathSpec("pattern", "file:///data/*.csv")])   # doctest: +SKIP
    >>> [f.display for f in files]                                          # doctest: +SKIP
    ['/data/a.csv', '/data/b.csv']
"""

from __future__ import annotations

import os
import secrets as _tokens
import time
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator, Sequence

from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, ExecutionError, UserErrorException
from ..logs import get_logger, log_listing
from . import local_files
from .globbing import compile_glob, has_wildcard
from .uris import (canonical_uri, check_web_url, is_local, join_uri, local_path, parent_uri, relative_to, scheme_of,
                   split_chain)

_log = get_logger(__name__)

__all__ = [
    "FileRef", "FileStat", "Store", "LocalStore", "open_store", "expand_paths", "canonical_uri", "is_local",
    "join_uri", "local_path", "parent_uri", "relative_to", "scheme_of", "with_sizes",
]


@dataclass(frozen=True)
class FileRef:
    """One file to read: where it is, how big, and the store that opens it."""

    uri: str
    path: str
    size: int
    store: "Store"
    # The folder the path spec names (its fixed prefix for patterns, its parent for files):
    # partition formats match the path relative to it (policy P8).
    base: str = ""
    # What formats learn about the file during one listing's reads (a parquet footer), so that
    # counting, pruning and reading share it: kept by the copies dataclasses.replace makes of
    # this reference, never compared.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def resolved_size(self) -> int:
        """``size``, or, when the listing gave none (-1: an HTTP folder listing), what the store
        learnt or says now (still -1 for a server that never tells)."""
        if self.size >= 0:
            return self.size
        if "size" not in self.memo:
            self.memo["size"] = self.store.size(self.path)
        return self.memo["size"]

    @property
    def display(self) -> str:
        """The value of the ``Path`` column: a plain local path, or the URI for remote files
        (without a SAS token or other credential in its query)."""
        if isinstance(self.store, LocalStore):
            return self.path
        from .secrets import strip_secret_query

        return strip_secret_query(split_chain(self.uri)[1])   # a cache in front is no part of the file's name


@dataclass(frozen=True)
class FileStat:
    """A file's size and, where the store keeps one, its MD5 (Azure's Content-MD5; 16 bytes)."""

    size: int
    md5: bytes | None = None


class Store:
    """What readers and path expansion need from a storage system.

    ``remote`` stores also have ``fetch(path) -> bytes`` (one request for a whole file), which
    :func:`.remote.prefetched` uses to fetch many small files at once.
    """

    remote = False

    def path_of(self, uri: str) -> str:
        raise NotImplementedError

    def uri_of(self, path: str) -> str:
        raise NotImplementedError

    def kind(self, path: str) -> str | None:
        """``'file'``, ``'directory'`` or ``None`` when nothing is there."""
        raise NotImplementedError

    def size(self, path: str) -> int:
        raise NotImplementedError

    def find(self, folder: str) -> list[tuple[str, int]]:
        """Every file below ``folder`` (recursively) with its size, sorted by path."""
        raise NotImplementedError

    def find_matching(self, folder: str, glob) -> list[tuple[str, int]]:
        """The files of :meth:`find` that the :class:`~.globbing.Glob` ``glob`` matches."""
        return [(path, size) for path, size in self.find(folder) if glob.regex.match(path)]

    def open_input(self, path: str, size: int | None = None):
        """A readable binary file object (seekable where the store allows). ``size`` is the size
        the listing gave, when known: a remote store then needs no metadata request first."""
        raise NotImplementedError

    def open_random_access(self, path: str, size: int | None = None):
        """A file object that seeks cheaply (parquet reads its footer first, then column chunks).
        The plain input is, unless a store says otherwise (an HTTP server without Range support)."""
        return self.open_input(path, size=size)

    def fetch(self, path: str) -> bytes:
        """The whole file."""
        with self.open_input(path) as handle:
            return handle.read()

    def fetch_small(self, path: str, limit: int) -> bytes | None:
        """The whole file when it holds at most ``limit`` bytes, else None (the caller opens it).
        For files listed without a size; a store that can tells size and body in one request."""
        size = self.size(path)
        return self.fetch(path) if 0 <= size <= limit else None

    def fetch_later(self, path: str, pool: Executor) -> Future:
        """A future of :meth:`fetch`, run on ``pool`` unless the store has a cheaper way to wait
        (an event loop of its own)."""
        return pool.submit(self.fetch, path)

    # --- writing: a file appears whole under its name, or not at all ------------------------

    def writing(self, path: str, overwrite: bool = True):
        """A context manager giving a binary file to write ``path`` through.

        The file appears under ``path`` only when the block ends without an exception, and then
        whole: local files are written under a temporary name, synced and renamed; object stores
        commit the blob when it is complete. An exception (or a killed process) leaves nothing
        under ``path``. With ``overwrite=False`` an existing file is never replaced: the commit
        raises ``FileExistsError`` instead. Parent folders are implied.

        Example:
            >>> with store.writing(store.join(folder, "part-0.parquet")) as handle:   # doctest: +SKIP
            ...     handle.write(data)
        """
        raise NotImplementedError

    def write_bytes(self, path: str, data: bytes, overwrite: bool = True) -> None:
        """Create (or, with ``overwrite``, replace) the file at ``path`` atomically."""
        with self.writing(path, overwrite=overwrite) as handle:
            handle.write(data)

    def delete(self, path: str) -> None:
        """Remove the file at ``path``; nothing there is fine."""
        raise NotImplementedError

    def join(self, folder: str, relative: str) -> str:
        """The path of ``relative`` (``/``-separated) inside ``folder``."""
        return folder.rstrip("/") + "/" + relative.lstrip("/")

    # --- copying: what :mod:`.copying` asks beyond reading and writing ------------------------

    keeps_md5 = False   # whether stat() can give a stored MD5 (else computing one means reading the file)

    def stat(self, path: str) -> FileStat | None:
        """The file at ``path`` (size, stored MD5 or None), or None when no file is there."""
        return FileStat(self.size(path)) if self.kind(path) == "file" else None

    def stat_below(self, folder: str) -> dict[str, FileStat]:
        """Every file below ``folder`` (recursively) as :meth:`stat` gives it, from one listing;
        empty when the folder does not exist."""
        if self.kind(folder) != "directory":
            return {}
        return {path: FileStat(size) for path, size in self.find(folder)}

    def reads_ranges(self, path: str) -> bool:
        """Whether :meth:`read_range` is cheap (a seek, a ranged request), so that a big file can
        be read in pieces at once."""
        return True

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of the file, fewer only at its end; thread-safe."""
        with self.open_input(path) as handle:
            handle.seek(start)
            return handle.read(end - start)

    def writing_parts(self, path: str, size: int, overwrite: bool = True):
        """A context manager giving a :class:`~.parts.PartSink` for a file of ``size`` bytes
        (-1: unknown) written in parts; committed like :meth:`writing`: whole, and only when the
        block ends without an exception. This default takes the parts in order."""
        from .parts import sequential_parts

        return sequential_parts(self, path, overwrite=overwrite)

    @property
    def arrow_filesystem(self):
        raise NotImplementedError


class LocalStore(Store):
    def path_of(self, uri: str) -> str:
        return local_path(uri)

    def uri_of(self, path: str) -> str:
        return "file://" + path

    # Only regular files are data: FIFOs, devices, /proc files and dangling links are refused
    # with an error naming them (local_files).
    def kind(self, path: str) -> str | None:
        return local_files.kind_of(path)

    def size(self, path: str) -> int:
        return os.path.getsize(path)

    def find(self, folder: str) -> list[tuple[str, int]]:
        return local_files.walk(folder)

    def find_matching(self, folder: str, glob) -> list[tuple[str, int]]:
        return local_files.walk(folder, glob)

    def open_input(self, path: str, size: int | None = None):
        return local_files.open_regular(path)

    def join(self, folder: str, relative: str) -> str:
        return os.path.join(folder, *relative.split("/"))

    @contextmanager
    def writing(self, path: str, overwrite: bool = True) -> Iterator[BinaryIO]:
        folder = os.path.dirname(path) or "."
        os.makedirs(folder, exist_ok=True)
        # A name of its own per write: two writers of one path never share a temporary file, and
        # a leftover of a killed write is hidden (dot) and never mistaken for data.
        temporary = os.path.join(folder, f".{os.path.basename(path)}.{_tokens.token_hex(6)}.tmp")
        handle = open(temporary, "xb")
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            if overwrite:
                os.replace(temporary, path)
            else:
                os.link(temporary, path)  # fails if the name exists: no window to replace another's file
                os.unlink(temporary)
            _sync_folder(folder)
        except BaseException:
            handle.close()
            _remove_quietly(temporary)
            raise

    def delete(self, path: str) -> None:
        _remove_quietly(path)

    def writing_parts(self, path: str, size: int, overwrite: bool = True):
        """Parts at any offset, from many threads, into the temporary file :meth:`writing` makes."""
        from .parts import positioned_parts

        return positioned_parts(self, path, overwrite=overwrite)

    @property
    def arrow_filesystem(self):
        import pyarrow.fs

        return pyarrow.fs.LocalFileSystem()


def _sync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (a crash right after it must not undo it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows): the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


_LOCAL = LocalStore()


# Scheme → (module, class) of its store; imported only when a path of that scheme is read.
_STORES = {
    "http": ("http", "HttpStore"), "https": ("http", "HttpStore"),
    "wasb": ("azure", "AzureStore"), "wasbs": ("azure", "AzureStore"), "abfs": ("azure", "AzureStore"),
    "abfss": ("azure", "AzureStore"), "az": ("azure", "AzureStore"),
    "azureml": ("azureml_store", "AzureMLStore"),
}


def open_store(uri: str, storage_options: dict | None = None) -> Store:
    """The store for ``uri``: local for plain paths and ``file://``; a store of ours for http(s),
    Azure and azureml URIs; any other fsspec filesystem otherwise.

    Stores are cheap to make: the filesystems under them are cached by fsspec. A cache chain
    (``simplecache::…``), or ``local_copy`` in the options, puts a local cache in front of a remote
    store (:mod:`.caching`).
    """
    scheme = scheme_of(uri)
    if scheme == "file":
        return _LOCAL
    if split_chain(uri)[0] or (storage_options or {}).get("local_copy"):
        from .caching import CachedStore

        return CachedStore.for_uri(uri, storage_options, _open_remote)
    return _open_remote(uri, storage_options)


def _open_remote(uri: str, storage_options: dict | None) -> Store:
    scheme = scheme_of(uri)
    if scheme in _STORES:
        import importlib

        if scheme in ("http", "https"):
            check_web_url(uri)
        module, name = _STORES[scheme]
        store_class = getattr(importlib.import_module(f".{module}", __name__), name)
        return store_class.for_uri(uri, storage_options)
    from .remote import FsspecStore

    try:
        import fsspec

        filesystem = fsspec.filesystem(scheme, **(storage_options or {}))
    except (ImportError, ValueError) as error:
        raise UserErrorException(
            f"Cannot open '{scheme}://' paths: {error}. Install the package that provides the "
            f"'{scheme}' filesystem for fsspec."
        ) from None
    return FsspecStore(filesystem, scheme)


def expand_paths(specs: Sequence[Any], storage_options: dict | None = None) -> list[FileRef]:
    """Every file the path specs name, spec by spec in the given order.

    Folders are recursive and sorted (policy P1); pattern matches are sorted; nothing is skipped
    (hidden and ``_``-prefixed files are data, as in the reference).
    """
    started = time.perf_counter()
    files = _expand_paths(specs, storage_options)
    log_listing(_log, ", ".join(f"{spec.kind} {_shown(spec)}" for spec in specs), files,
                time.perf_counter() - started)
    return files


def _expand_paths(specs: Sequence[Any], storage_options: dict | None) -> list[FileRef]:
    files: list[FileRef] = []
    for spec in specs:
        store = open_store(spec.uri, storage_options)
        path = store.path_of(spec.uri)
        if spec.kind == "pattern" and has_wildcard(path):
            glob = compile_glob(path)
            prefix = glob.prefix
            kind = store.kind(prefix) if prefix else None
            matched = store.find_matching(prefix, glob) if kind == "directory" else []
            if not matched:
                raise _not_found(spec, "no file matches the pattern")
            files.extend(FileRef(store.uri_of(found), found, size, store, prefix) for found, size in matched)
            continue
        kind = store.kind(path)
        if kind is None:
            raise _not_found(spec, "nothing exists at this path")
        if spec.kind == "file" and kind == "directory":
            raise ExecutionError(
                f"Is a directory: '{_shown(spec)}' is a folder but was given as 'file'. "
                "Use {'folder': ...} to read every file below it, or {'pattern': '.../*.csv'}."
            )
        if spec.kind == "folder" and kind == "file":
            raise ExecutionError(
                f"Not a directory: '{_shown(spec)}' is a file but was given as 'folder'. "
                "Use {'file': ...} for a single file."
            )
        if kind == "file":
            files.append(FileRef(store.uri_of(path), path, store.size(path), store, path.rsplit("/", 1)[0]))
            continue
        found = store.find(path)
        if not found:
            raise _not_found(spec, "the folder holds no files")
        files.extend(FileRef(store.uri_of(item), item, size, store, path) for item, size in found)
    return files


def with_sizes(files: Sequence[FileRef]) -> list[FileRef]:
    """``files`` with the sizes their listing did not give (-1: an HTTP folder listing) asked of
    their stores, many at once; still -1 where a store cannot tell.

    Example:
        >>> [file.size for file in with_sizes(expand_paths([PathSpec("folder", url)]))]   # doctest: +SKIP
        [1532, 204800]
    """
    unknown = [index for index, file in enumerate(files) if file.size < 0]
    if not unknown:
        return list(files)
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    with ThreadPoolExecutor(max_workers=min(16, len(unknown)), thread_name_prefix="mltable_lite_size") as pool:
        sizes = list(pool.map(lambda index: files[index].resolved_size(), unknown))
    result = list(files)
    for index, size in zip(unknown, sizes):
        result[index] = replace(files[index], size=size)
    return result


def _shown(spec) -> str:
    return spec.given if spec.given is not None else spec.uri


def _not_found(spec, why: str) -> UserErrorException:
    return UserErrorException(
        f"{NOT_FOUND_MESSAGE} {spec.kind} '{_shown(spec)}' (resolved to '{spec.uri}'): {why}.",
        error_code=NOT_FOUND_CODE,
    )
