"""Local copies of remote files: fsspec's ``simplecache::``, ``filecache::`` and ``blockcache::`` URL
chains, and the ``local_copy`` storage option.

Put a cache in front of any remote path, in any builder or ``load()``, the way fsspec spells it::

    mltable.from_parquet_files([{"pattern": "simplecache::https://host/data/*.parquet"}])
    mltable.load("filecache::abfss://fs@acct.dfs.core.windows.net/tables/trips",
                 storage_options={"account_key": key, "filecache": {"cache_storage": "/tmp/trips"}})

Listing is always the remote store's (a cache never hides a new or removed file); what is cached
is the files' bytes:

* ``simplecache::`` copies a file whole to a local folder the first time it is read, and reads
  the copy from then on, in this process;
* ``filecache::`` does the same and also keeps, beside each copy, what it was copied from, so a
  ``cache_storage`` folder is reused by later processes; a copy whose remote file's size changed,
  or older than ``expiry_time`` seconds (if given), is fetched again;
* ``blockcache::`` keeps only the blocks a read touched (``block_size``, 4 MiB by default), in a
  sparse local file: a parquet read of two columns caches those column chunks, not the file.

Options go under the cache's name, as in fsspec: ``storage_options={"simplecache":
{"cache_storage": folder}}``; the other keys are the remote store's. Without ``cache_storage`` the
copies go to a temporary folder removed when the process ends. ``storage_options={"local_copy":
True}`` is ``simplecache::`` on every remote path of a read, without changing the paths (and so
the MLTable file): repeated reads within a session read local copies. A copy is reused only while
the listing reports the same size (where it reports one); otherwise it is fetched again.

Example:
    >>> store = open_store("simplecache::https://example.org/data/a.csv")        # doctest: +SKIP
    >>> store.fetch(store.path_of("simplecache::https://example.org/data/a.csv"))  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import time

from ..errors import ExecutionError, UserErrorException
from .uris import CACHE_PROTOCOLS, split_chain

__all__ = ["CachedStore", "COPY_CHUNK"]

COPY_CHUNK = 16 << 20       # bytes read at a time while copying a big file
DEFAULT_BLOCK = 4 << 20     # blockcache:: blocks
_OPTION_KEYS = frozenset({"cache_storage", "expiry_time", "block_size", "check_files", "same_names",
                          "compression", "cache_check"})


class CachedStore:
    """A remote store whose files are read from local copies (see the module doc)."""

    remote = True

    def __init__(self, inner, mode: str, prefix: str, cache: "_Cache", inner_options: dict | None = None):
        self.inner, self.mode, self.prefix, self._cache = inner, mode, prefix, cache
        self._inner_options = inner_options
        self._listed: dict[str, int] = {}   # sizes this listing gave: a copy of another size is stale
        # A block cache reads only what is asked: small files are not fetched whole ahead of the reader.
        self.fetch_ahead = mode != "blockcache"

    @classmethod
    def for_uri(cls, uri: str, storage_options: dict | None, open_inner) -> "CachedStore":
        """The cache store for ``uri`` (a chain, or a plain remote URI with ``local_copy``)."""
        options = dict(storage_options or {})
        prefix, inner_uri = split_chain(uri)
        modes = [part for part in prefix.split("::") if part] or ["simplecache"]
        if len(modes) > 1:
            raise UserErrorException(f"'{uri}' chains {len(modes)} caches; put one cache in front of a path "
                                     "(simplecache::, filecache:: or blockcache::).")
        mode = modes[0].lower()
        cache_options = options.pop(mode, None) or {}
        for other in CACHE_PROTOCOLS:
            options.pop(other, None)
        options.pop("local_copy", None)
        if not isinstance(cache_options, dict) or set(cache_options) - _OPTION_KEYS:
            unknown = sorted(set(cache_options) - _OPTION_KEYS) if isinstance(cache_options, dict) else cache_options
            raise UserErrorException(f"storage_options['{mode}'] holds the cache's own options ({', '.join(sorted(_OPTION_KEYS))}), "
                                     f"not {unknown!r}.")
        return cls(open_inner(inner_uri, options), mode, prefix, _cache_for(mode, cache_options), options)

    def __repr__(self) -> str:
        return f"CachedStore({self.mode}, {self.inner!r})"

    # --- everything but the bytes is the remote store's ---------------------------------------

    def path_of(self, uri: str) -> str:
        return self.inner.path_of(split_chain(uri)[1])

    def uri_of(self, path: str) -> str:
        return self.prefix + self.inner.uri_of(path)

    def __getattr__(self, name):   # kind, stat, join...
        return getattr(self.inner, name)

    def find(self, folder: str) -> list[tuple[str, int]]:
        return self._remember(self.inner.find(folder))

    def find_matching(self, folder: str, regex) -> list[tuple[str, int]]:
        return self._remember(self.inner.find_matching(folder, regex))

    def size(self, path: str) -> int:
        return self._remember([(path, self.inner.size(path))])[0][1]

    def _remember(self, found: list[tuple[str, int]]) -> list[tuple[str, int]]:
        self._listed.update((path, size) for path, size in found if size >= 0)
        return found

    def _known(self, path: str, size: int | None) -> int | None:
        return size if size is not None and size >= 0 else self._listed.get(path)

    def delta_location(self, uri: str) -> tuple[str, dict]:
        """Where deltalake reads the table's log: the remote store's (data files come through the cache)."""
        inner = split_chain(uri)[1]
        located = getattr(self.inner, "delta_location", None)
        return located(inner) if located is not None else (inner, self._inner_options)

    # --- the bytes, from the local copy ---------------------------------------------------------

    def open_input(self, path: str, size: int | None = None):
        if self.mode == "blockcache":
            return io.BufferedReader(self._cache.blocks(self.inner, path, self._size(path, size)), 1 << 20)
        return open(self._cache.copy(self.inner, path, self._known(path, size)), "rb")

    def open_random_access(self, path: str, size: int | None = None):
        if self.mode == "blockcache":
            return self._cache.blocks(self.inner, path, self._size(path, size))
        import pyarrow as pa

        return pa.memory_map(self._cache.copy(self.inner, path, self._known(path, size)))

    def fetch(self, path: str) -> bytes:
        with self.open_input(path) as handle:
            return handle.read()

    def fetch_small(self, path: str, limit: int) -> bytes | None:
        return self.fetch(path)

    def fetch_later(self, path: str, pool):
        return pool.submit(self.fetch, path)

    def read_range(self, path: str, start: int, end: int) -> bytes:
        with self.open_random_access(path) as handle:
            handle.seek(start)
            return handle.read(end - start)

    @property
    def arrow_filesystem(self):
        raise NotImplementedError   # readers use open_random_access, which gives the local copy

    # --- writes go to the remote store; the copy of what was written is dropped -----------------

    def writing(self, path: str, overwrite: bool = True):
        self._cache.forget(self.inner, path)
        return self.inner.writing(path, overwrite=overwrite)

    def write_bytes(self, path: str, data: bytes, overwrite: bool = True) -> None:
        self._cache.forget(self.inner, path)
        self.inner.write_bytes(path, data, overwrite=overwrite)

    def delete(self, path: str) -> None:
        self._cache.forget(self.inner, path)
        self.inner.delete(path)

    def _size(self, path: str, size: int | None) -> int:
        known = self._known(path, size)
        return known if known is not None else self.size(path)


class _Cache:
    """One cache folder: whole copies (simplecache, filecache) or sparse block files (blockcache)."""

    def __init__(self, mode: str, folder: str, options: dict):
        self.mode, self.folder, self.options = mode, folder, options
        self.block_size = int(options.get("block_size") or DEFAULT_BLOCK)
        self.expiry = options.get("expiry_time")
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._blocks: dict[str, set] = {}        # key → blocks present (blockcache)

    def _key(self, inner, path: str) -> str:
        return hashlib.sha256(f"{type(inner).__name__}\0{inner.uri_of(path)}".encode()).hexdigest()

    def _entry_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def _record(self, key: str) -> dict | None:
        try:
            with open(os.path.join(self.folder, key + ".json")) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def _write_record(self, key: str, record: dict) -> None:
        temporary = os.path.join(self.folder, f".{key}.json.tmp")
        with open(temporary, "w") as handle:
            json.dump(record, handle)
        os.replace(temporary, os.path.join(self.folder, key + ".json"))

    def _valid(self, record: dict | None, size: int | None) -> bool:
        if record is None:
            return False
        if size is not None and size >= 0 and record.get("size") != size:
            return False   # the remote file changed since it was copied
        return not (self.expiry is not None and time.time() - record.get("time", 0) > float(self.expiry))

    def copy(self, inner, path: str, size: int | None) -> str:
        """The local path of a whole copy of ``path``, made if missing or stale."""
        key = self._key(inner, path)
        local = os.path.join(self.folder, key)
        with self._entry_lock(key):
            if os.path.exists(local) and self._valid(self._record(key), size):
                return local
            written = self._download(inner, path, size, local)
            from .secrets import strip_secret_query

            self._write_record(key, {"uri": strip_secret_query(inner.uri_of(path)), "size": written,
                                     "time": time.time()})
        return local

    def _download(self, inner, path: str, size: int | None, local: str) -> int:
        temporary = f"{local}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(temporary, "wb") as out:
                if size is not None and 0 <= size <= COPY_CHUNK:
                    data = inner.fetch(path)
                    out.write(data)
                    written = len(data)
                else:
                    written = 0
                    with inner.open_input(path, size) as source:
                        while chunk := source.read(COPY_CHUNK):
                            out.write(chunk)
                            written += len(chunk)
            if size is not None and size >= 0 and written != size:
                raise ExecutionError(f"Copying '{inner.uri_of(path)}' to the local cache read {written} bytes, but "
                                     f"the listing said {size}: it changed while being read. Read it again.")
            os.replace(temporary, local)
            return written
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)

    def blocks(self, inner, path: str, size: int) -> "_BlockFile":
        key = self._key(inner, path)
        with self._entry_lock(key):
            record = self._record(key)
            if not self._valid(record, size) or record.get("block_size") != self.block_size or \
                    not os.path.exists(os.path.join(self.folder, key)):
                with open(os.path.join(self.folder, key), "wb") as sparse:
                    sparse.truncate(size)
                record = {"size": size, "block_size": self.block_size, "blocks": [], "time": time.time()}
                self._write_record(key, record)
                self._blocks[key] = set()
            present = self._blocks.setdefault(key, set(record.get("blocks", [])))
        return _BlockFile(self, key, inner, path, size, present)

    def forget(self, inner, path: str) -> None:
        key = self._key(inner, path)
        with self._entry_lock(key):
            self._blocks.pop(key, None)
            for name in (key, key + ".json"):
                try:
                    os.remove(os.path.join(self.folder, name))
                except FileNotFoundError:
                    pass


class _BlockFile(io.RawIOBase):
    """A remote file whose blocks are fetched once into a sparse local file, then read from it."""

    def __init__(self, cache: _Cache, key: str, inner, path: str, size: int, present: set):
        super().__init__()
        self._cache, self._key, self._inner, self._path, self.size = cache, key, inner, path, size
        self._present = present
        self._local = open(os.path.join(cache.folder, key), "r+b")
        self._remote = None
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._position + len(view), self.size)
        if end <= self._position:
            return 0
        self._ensure(self._position, end)
        self._local.seek(self._position)
        got = self._local.readinto(view[:end - self._position])
        self._position += got
        return got

    def _ensure(self, start: int, end: int) -> None:
        block = self._cache.block_size
        wanted = range(start // block, (end - 1) // block + 1)
        with self._cache._entry_lock(self._key):
            missing = [index for index in wanted if index not in self._present]
            runs: list[list[int]] = []
            for index in missing:   # adjacent missing blocks: one ranged read (split in parallel parts)
                if runs and runs[-1][-1] == index - 1:
                    runs[-1].append(index)
                else:
                    runs.append([index])
            for run in runs:
                first, last = run[0] * block, min((run[-1] + 1) * block, self.size)
                if self._remote is None:
                    self._remote = self._inner.open_random_access(self._path, self.size)
                self._remote.seek(first)
                data = self._remote.read(last - first)
                if len(data) != last - first:
                    raise ExecutionError(f"Reading '{self._inner.uri_of(self._path)}' for the block cache gave "
                                         f"{len(data)} of {last - first} bytes: it changed while being read.")
                self._local.seek(first)
                self._local.write(data)
                self._present.update(run)
            if runs:
                self._local.flush()
                record = self._cache._record(self._key) or {}
                record.update(blocks=sorted(self._present), size=self.size, block_size=block, time=time.time())
                self._cache._write_record(self._key, record)

    def close(self) -> None:
        if not self.closed:
            self._local.close()
            if self._remote is not None:
                self._remote.close()
        super().close()


_CACHES: dict = {}
_CACHES_LOCK = threading.Lock()


def _cache_for(mode: str, options: dict) -> _Cache:
    """The process's cache for ``mode`` and its ``cache_storage`` (a temporary folder if none)."""
    folder = options.get("cache_storage")
    if folder is not None and not isinstance(folder, str):
        raise UserErrorException(f"storage_options['{mode}']['cache_storage'] must be a folder path, not {folder!r}.")
    key = (mode, os.path.abspath(folder) if folder else None, options.get("block_size"), options.get("expiry_time"))
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None:
            if folder:
                os.makedirs(folder, exist_ok=True)
            else:
                folder = tempfile.mkdtemp(prefix=f"mltable_lite_{mode}_")
                atexit.register(shutil.rmtree, folder, True)
            cache = _CACHES[key] = _Cache(mode, os.path.abspath(folder), options)
        return cache
