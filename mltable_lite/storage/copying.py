"""Copying files between stores (the azcopy role): ``mltable_lite.copy(source, destination)``.

**What is copied where.** ``source`` is a file, a folder (recursive) or a glob pattern on any store
the builders read (local, ``http(s)://``, ``wasbs://``/``abfss://``/``az://``, ``azureml://``
datastore URIs and data assets), or a list of the builders' path dicts; the files are found by the
builders' own rules (:func:`~mltable_lite.storage.expand_paths`). Each keeps its path relative to
the folder it was found in (a pattern's fixed part, a folder, a file's own folder) below
``destination``, which is a folder on any writable store. One file may also be copied to a new
name: ``copy("a.csv", "b.csv")`` (a destination ending in ``/``, or an existing folder, receives
``a.csv`` instead). The layout never depends on whether the destination exists already.

**How.** Files are copied many at once (``max_concurrency``). A file of more than one part
(:data:`.parts.PART`) is read in ranges and written in parts, several in flight at once (a local
file at offsets, a blob as blocks). Every byte passes through an MD5 that is checked against the
source's stored MD5 where it has one (Azure's Content-MD5), before anything is committed, and sent
with the upload where the destination keeps one (the service checks it). Each file appears under its
final name whole, or not at all (:meth:`Store.writing_parts`): a copy killed at any moment leaves no
partial file under a final name.

**Resuming.** A destination file with the same size as its source, and the same MD5 where both
sides have one (a local file's is computed by reading it), is skipped: running a copy again
transfers only what is missing. A destination file that differs is never replaced unless
``overwrite=True``: it is reported as failed, and the other files are still copied.

**Errors.** Per file: the copy goes on, and :func:`copy` raises :class:`CopyFailed` at the end
with a line per failed file (its ``result`` has the details). A source that matches nothing, an
``http(s)`` destination, or two sources for one destination file fail before anything is copied.

Example:
    >>> import mltable_lite as mltable
    >>> result = mltable.copy("abfss://data@acct.dfs.core.windows.net/trips/", "./trips")   # doctest: +SKIP
    >>> print(result.summary())                                                          # doctest: +SKIP
    copied 120 files (1.2 GB) in 14.1 s, 87.1 MB/s
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Sequence
from urllib.parse import unquote, urlsplit

from ..errors import MLTableError, UserErrorException
from ..logs import get_logger
from . import (FileRef, FileStat, Store, canonical_uri, expand_paths, is_local, local_path, open_store, scheme_of,
               with_sizes)
from .globbing import compile_pattern, has_wildcard
from . import parts
from .secrets import redact, strip_secret_query

__all__ = ["copy", "CopyResult", "CopyFailed", "Transfer", "plan_copy", "run_transfers", "MAX_CONCURRENCY", "human_size"]

MAX_CONCURRENCY = 16     # files in flight at once
PART_WORKERS = 8         # parts of big files in flight at once, over all files
PARTS_AHEAD = 8          # parts of one file read (and held) ahead of its MD5
BIG_FILES_AT_ONCE = 2    # big files in flight at once: memory stays below 2 × PARTS_AHEAD parts
LIST_ABOVE = 16          # more files than this copied to a remote store: list its destination once
_HASH_CHUNK = 8 << 20
_SHOWN_FAILURES = 20
_log = get_logger(__name__)


# --- results ------------------------------------------------------------------------------------


@dataclass
class CopyResult:
    """What a copy did: files ``copied``, ``skipped`` (already there, identical) and ``failed``,
    each as shown to users (no credentials); with ``dry_run``, ``copied`` lists what would be."""

    copied: list[tuple[str, str]] = field(default_factory=list)          # (source, destination)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)     # (source, destination, why)
    bytes_copied: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def summary(self) -> str:
        """One line of counts and speed, then one line per failed file.

        Example:
            >>> print(CopyResult(copied=[("a", "b")], bytes_copied=2 << 20, seconds=2.0).summary())
            copied 1 file (2.0 MiB) in 2.0 s, 1.0 MiB/s
        """
        if self.dry_run:
            parts = [f"would copy {_count(len(self.copied))} ({human_size(self.bytes_copied)})"]
        elif self.copied or not self.skipped:
            rate = self.bytes_copied / self.seconds if self.seconds > 0 else 0.0
            parts = [f"copied {_count(len(self.copied))} ({human_size(self.bytes_copied)}) in {self.seconds:.1f} s, "
                     f"{human_size(rate)}/s"]
        else:
            parts = ["nothing to copy"]
        if self.skipped:
            parts.append(f"{_count(len(self.skipped))} already up to date: skipped")
        if self.failed:
            parts.append(f"{_count(len(self.failed))} failed")
        lines = ["; ".join(parts)]
        lines += [f"  failed: {source} -> {destination}: {why}"
                  for source, destination, why in self.failed[:_SHOWN_FAILURES]]
        if len(self.failed) > _SHOWN_FAILURES:
            lines.append(f"  ... and {len(self.failed) - _SHOWN_FAILURES} more")
        return "\n".join(lines)


class CopyFailed(UserErrorException):
    """Some files could not be copied (the others were); ``result`` says which and why."""

    def __init__(self, result: CopyResult, heading: str = "Some files could not be copied"):
        super().__init__(f"{heading}: {result.summary()}")
        self.result = result


def _count(number: int) -> str:
    return f"{number} file" if number == 1 else f"{number} files"


def human_size(count: float) -> str:
    """``1536`` → ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return ""  # pragma: no cover


# --- planning: which file goes where ------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    """One file to copy: the source, and its path in the destination store."""

    source: FileRef
    destination: str
    shown: str     # the destination as users see it


@dataclass(frozen=True)
class _Spec:  # a path spec as expand_paths takes it (the builders' PathSpec, without the plan)
    kind: str
    uri: str
    given: str | None = None


def plan_copy(source: Any, destination: str, source_options: dict | None = None,
              destination_options: dict | None = None) -> tuple[list[Transfer], Store, str]:
    """The transfers of a copy, the destination store, and the destination folder (its path in
    that store) whose listing tells what is there already."""
    specs = _source_specs(source, source_options)
    if not isinstance(destination, str) or not destination.strip():
        raise UserErrorException(f"The destination must be a path or URI (a non-empty string), not {destination!r}.")
    if scheme_of(destination) in ("http", "https"):
        raise UserErrorException(f"Cannot copy to '{_shown_uri(destination)}': http(s):// paths are read-only. "
                                 "Copy to a local folder or to cloud storage (abfss://, wasbs://, azureml://).")
    files: list[FileRef] = []
    for spec in specs:
        files.extend(expand_paths([spec], source_options))
    files = with_sizes(files)   # a copy needs sizes (parts, resuming) that an HTTP listing does not give
    dest_uri = canonical_uri(destination)
    store = open_store(dest_uri, destination_options)
    dest_path = store.path_of(dest_uri)
    dest_kind = store.kind(dest_path)
    single_file = len(specs) == 1 and specs[0].kind == "file"
    into_folder = not single_file or destination.endswith(("/", os.sep)) or dest_kind == "directory"
    shown_root = _shown_uri(destination)
    if into_folder and dest_kind == "file":
        raise UserErrorException(f"Cannot copy into '{shown_root}': it is a file. Name a folder as the destination.")
    if not into_folder:
        _refuse_same_file(files[0], store, dest_path, shown_root)
        return [Transfer(files[0], dest_path, shown_root)], store, dest_path
    for spec in specs:
        _refuse_copy_into_itself(spec, store, dest_path, shown_root)
    transfers, seen = [], {}
    for file in files:
        relative = _relative_name(file)
        target = store.join(dest_path, relative)
        if target in seen:
            raise UserErrorException(
                f"Two source files would be copied to one destination file '{relative}': '{seen[target]}' and "
                f"'{file.display}'. Copy them separately, into different folders.")
        seen[target] = file.display
        transfers.append(Transfer(file, target, _join_shown(shown_root, relative)))
    return transfers, store, dest_path


def _source_specs(source: Any, options: dict | None) -> list[_Spec]:
    if isinstance(source, str):
        source = [source]
    if not isinstance(source, (list, tuple)) or not source:
        raise UserErrorException(f"The source must be a path or URI, or a list of them (or of the builders' path "
                                 f"dicts such as {{'pattern': 'data/*.csv'}}), not {source!r:.100}.")
    specs = []
    for entry in source:
        if isinstance(entry, dict) and len(entry) == 1:
            (kind, value), = entry.items()
            if kind in ("file", "folder", "pattern") and isinstance(value, str) and value:
                specs.append(_Spec(kind, canonical_uri(value), value))
                continue
        if not isinstance(entry, str) or not entry:
            raise UserErrorException(f"Each source must be a path or URI, or a dict with one key, 'file', 'folder' or "
                                     f"'pattern', whose value is a path; not {entry!r:.100}.")
        specs.append(_spec_of(entry, options))
    return specs


def _spec_of(given: str, options: dict | None) -> _Spec:
    """A file or a folder if one is there (a name may hold ``[``), else a pattern if it has wildcards."""
    uri = canonical_uri(given)
    store = open_store(uri, options)
    path = store.path_of(uri)
    kind = store.kind(path)
    if kind is None and has_wildcard(_without_query(uri)):
        return _Spec("pattern", uri, given)
    return _Spec("folder" if kind == "directory" else "file", uri, given)


def _relative_name(file: FileRef) -> str:
    """The file's path below the folder it was found in, ``/``-separated, without a URL's query."""
    path, base = file.path, file.base
    if scheme_of(file.uri) in ("http", "https"):
        path, base = unquote(urlsplit(path).path), unquote(urlsplit(base).path)
    path, base = path.replace(os.sep, "/"), base.replace(os.sep, "/").rstrip("/")
    if path.startswith(base + "/"):
        return path[len(base) + 1:]
    return path.rsplit("/", 1)[-1]


def _refuse_same_file(file: FileRef, store: Store, dest_path: str, shown: str) -> None:
    same = os.path.exists(dest_path) and os.path.samefile(file.path, dest_path) \
        if not file.store.remote and not store.remote else file.uri == store.uri_of(dest_path)
    if same:
        raise UserErrorException(f"Cannot copy '{file.display}' onto itself ('{shown}'). Name another destination.")


def _refuse_copy_into_itself(spec: _Spec, store: Store, dest_path: str, shown: str) -> None:
    """A destination inside a source folder (or a pattern's fixed part) would be copied again by
    the next run, and again."""
    if spec.kind == "file":
        return
    local = is_local(spec.uri) and not store.remote
    source = local_path(spec.uri) if local else _without_query(spec.uri)
    if spec.kind == "pattern":
        source = compile_pattern(source)[0]
    if local:
        source, destination = os.path.realpath(source), os.path.realpath(dest_path)
        separator = os.sep
    else:
        destination, separator = _without_query(store.uri_of(dest_path)), "/"
    if (destination.rstrip(separator) + separator).startswith(source.rstrip(separator) + separator):
        raise UserErrorException(f"Cannot copy '{spec.given}' into '{shown}', a folder inside it. Choose a "
                                 "destination outside the source.")


def _without_query(uri: str) -> str:
    return uri.split("?", 1)[0] if scheme_of(uri) in ("http", "https") else uri


def _shown_uri(uri: str) -> str:
    return local_path(uri) if is_local(uri) else redact(strip_secret_query(uri))


def _join_shown(root: str, relative: str) -> str:
    if scheme_of(root) == "file":
        return os.path.join(root, *relative.split("/"))
    return root.rstrip("/") + "/" + relative


# --- running ------------------------------------------------------------------------------------


def run_transfers(transfers: Sequence[Transfer], store: Store, *, listed_folder: str | None = None,
                  overwrite: bool = False, dry_run: bool = False, max_concurrency: int = MAX_CONCURRENCY,
                  show_progress: bool = False) -> CopyResult:
    """Copy each transfer's source to its destination path in ``store`` (see the module doc).

    ``listed_folder``: a folder of ``store`` holding every destination; it is listed once to find
    what is there already (otherwise each destination is looked up on its own).
    """
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
        raise UserErrorException(f"max_concurrency must be a positive integer, not {max_concurrency!r}.")
    started = time.perf_counter()
    existing = store.stat_below(listed_folder) if listed_folder is not None else None
    from ..progress import progress

    with progress(show_progress and not dry_run, "copying", total_files=len(transfers),
                  total_bytes=sum(max(t.source.size, 0) for t in transfers)) as bar:
        engine = _Engine(store, existing, _source_checksums(transfers), overwrite, dry_run, max_concurrency, bar)
        result = engine.run(transfers)
    result.seconds = time.perf_counter() - started
    _log.debug("copy: %s", result.summary())
    return result


def _source_checksums(transfers: Sequence[Transfer]) -> dict[tuple[int, str], FileStat]:
    """Stored MD5s of the sources, from one listing per folder (one lookup for a lone file), for
    stores that keep them; keyed by (id of the store, path)."""
    groups: dict[tuple[int, str], list[FileRef]] = {}
    for transfer in transfers:
        file = transfer.source
        if file.store.keeps_md5:
            groups.setdefault((id(file.store), file.base), []).append(file)
    found: dict[tuple[int, str], FileStat] = {}
    for (store_id, base), files in groups.items():
        store = files[0].store
        if len(files) == 1:
            stats = {files[0].path: store.stat(files[0].path)}
        else:
            stats = store.stat_below(base)
        for file in files:
            stat = stats.get(file.path)
            if stat is not None:
                found[(store_id, file.path)] = stat
    return found


class _Changed(Exception):
    """The source is not what its listing said (it changed during the copy, or arrived damaged)."""


class _Engine:
    def __init__(self, store: Store, existing: dict[str, FileStat] | None, checksums: dict, overwrite: bool,
                 dry_run: bool, max_concurrency: int, bar):
        self.store, self.existing, self.checksums = store, existing, checksums
        self.overwrite, self.dry_run = overwrite, dry_run
        self.files = max_concurrency
        self.part_pool = ThreadPoolExecutor(max_workers=min(PART_WORKERS, max_concurrency),
                                        thread_name_prefix="mltable_lite_copy_part")
        self.big_files = threading.Semaphore(BIG_FILES_AT_ONCE if max_concurrency > 1 else 1)
        self.stopping = threading.Event()
        self.bar = bar
        self.lock = threading.Lock()
        self.result = CopyResult(dry_run=dry_run)

    def run(self, transfers: Sequence[Transfer]) -> CopyResult:
        pool = ThreadPoolExecutor(max_workers=self.files, thread_name_prefix="mltable_lite_copy")
        try:
            futures = [pool.submit(self._one, transfer) for transfer in transfers]
            for transfer, future in zip(transfers, futures):   # outcomes in the transfers' order
                outcome, copied, why = future.result()
                pair = (transfer.source.display, transfer.shown)
                if outcome == "failed":
                    self.result.failed.append((*pair, why))
                else:
                    getattr(self.result, outcome).append(pair)
                    self.result.bytes_copied += copied
        except BaseException:
            self.stopping.set()   # Ctrl-C: files in flight stop at their next part, uncommitted
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.part_pool.shutdown(wait=True, cancel_futures=True)
        return self.result

    # --- one file --------------------------------------------------------------------------------

    def _one(self, transfer: Transfer) -> tuple[str, int, str]:
        """``(outcome, bytes copied, why it failed)``; outcome is 'copied', 'skipped' or 'failed'."""
        source = transfer.source
        size = max(source.size, 0)
        try:
            there = self.existing.get(transfer.destination) if self.existing is not None else \
                self.store.stat(transfer.destination)
            if there is not None and not self.overwrite:
                same, why = self._compare(transfer, there)
                if same:
                    self._file_done(skipped_bytes=size)
                    return "skipped", 0, ""
                raise UserErrorException(f"the destination exists and differs ({why}); pass overwrite=True "
                                         "(--overwrite) to replace it")
            copied = size if self.dry_run else self._copy(transfer)
            self._file_done()
            return "copied", copied, ""
        except Exception as error:  # noqa: BLE001 — every failure is reported per file
            why = _why(error)
            _log.debug("copy failed: %s -> %s: %s", source.display, transfer.shown, why)
            self._file_done()
            return "failed", 0, why

    def _file_done(self, skipped_bytes: int = 0) -> None:
        with self.lock:
            if skipped_bytes:   # the bar measures the bytes to copy
                self.bar.add_total(nbytes=-skipped_bytes)
            self.bar.advance(files=1)

    def _progress(self, nbytes: int) -> None:
        with self.lock:
            self.bar.advance(nbytes=nbytes)

    def _compare(self, transfer: Transfer, there: FileStat) -> tuple[bool, str]:
        """Whether the destination already holds the source: same size, and same MD5 where both
        sides have one (a local file's is computed)."""
        source = transfer.source
        if source.size >= 0 and there.size != source.size:
            return False, f"{there.size} bytes there, {source.size} in the source"
        known = self.checksums.get((id(source.store), source.path))
        source_md5 = known.md5 if known is not None else None
        there_md5 = there.md5
        if source_md5 is None and not source.store.remote and (there_md5 is not None or not self.store.remote):
            source_md5 = _file_md5(source.store, source.path)
        if there_md5 is None and not self.store.remote and source_md5 is not None:
            there_md5 = _file_md5(self.store, transfer.destination)
        if source_md5 is not None and there_md5 is not None and source_md5 != there_md5:
            return False, "same size, different MD5"
        return True, ""

    # --- moving bytes --------------------------------------------------------------------------

    def _copy(self, transfer: Transfer) -> int:
        source = transfer.source
        known = self.checksums.get((id(source.store), source.path))
        expected_md5 = known.md5 if known is not None else None
        if 0 <= source.size <= parts.PART:
            data = source.store.fetch(source.path) if source.size else b""   # the listing said: empty
            if len(data) != source.size:
                raise _Changed(f"{len(data)} bytes read, {source.size} listed")
            md5 = hashlib.md5(data).digest()
            _check_md5(md5, expected_md5)
            with self.store.writing_parts(transfer.destination, source.size, overwrite=self.overwrite) as sink:
                sink.write_at(0, data)
                sink.md5 = md5
            self._progress(len(data))
            return len(data)
        with self.big_files:
            return self._copy_in_parts(transfer, expected_md5)

    def _copy_in_parts(self, transfer: Transfer, expected_md5: bytes | None) -> int:
        source, size = transfer.source, transfer.source.size
        ranged = size >= 0 and source.store.reads_ranges(source.path)
        stream = None if ranged else source.store.open_input(source.path)
        hasher, total = hashlib.md5(), 0
        pending: deque[tuple[int, Future]] = deque()
        try:
            with self.store.writing_parts(transfer.destination, size, overwrite=self.overwrite) as sink:
                offset, exhausted = 0, False
                while True:
                    while not exhausted and len(pending) < PARTS_AHEAD:
                        if self.stopping.is_set():
                            raise KeyboardInterrupt()
                        if ranged:
                            end = min(size, offset + parts.PART)
                            pending.append((offset, self.part_pool.submit(self._move, source, sink, offset, end)))
                            exhausted = end >= size
                        else:
                            data = _read_full(stream, parts.PART)
                            exhausted = len(data) < parts.PART
                            if not data:
                                break
                            pending.append((offset, self.part_pool.submit(_put, sink, offset, data) if sink.parallel
                                            else _done(data)))
                            end = offset + len(data)
                        offset = end
                    if not pending:
                        break
                    at, future = pending.popleft()
                    data = future.result()
                    hasher.update(data)
                    if not sink.parallel:
                        sink.write_at(at, data)
                    total += len(data)
                    self._progress(len(data))
                if size >= 0 and total != size:
                    raise _Changed(f"{total} bytes read, {size} listed")
                md5 = hasher.digest()
                _check_md5(md5, expected_md5)
                sink.md5 = md5
        finally:
            # Parts still running must end before the sink is gone: they write into it.
            for _, future in pending:
                future.cancel()
            wait([future for _, future in pending])
            if stream is not None:
                stream.close()
        return total

    def _move(self, source: FileRef, sink, start: int, end: int) -> bytes:
        data = source.store.read_range(source.path, start, end)
        if len(data) != end - start:
            raise _Changed(f"{len(data)} bytes read at offset {start}, {end - start} expected")
        if sink.parallel:
            sink.write_at(start, data)
        return data


def _put(sink, offset: int, data: bytes) -> bytes:
    sink.write_at(offset, data)
    return data


def _done(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def _read_full(stream, count: int) -> bytes:
    chunks, missing = [], count
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            break
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _check_md5(actual: bytes, expected: bytes | None) -> None:
    if expected is not None and actual != expected:
        raise _Changed(f"MD5 {actual.hex()} of the bytes read is not the source's stored MD5 {expected.hex()}")


def _file_md5(store: Store, path: str) -> bytes:
    hasher = hashlib.md5()
    with store.open_input(path) as handle:
        while True:
            chunk = handle.read(_HASH_CHUNK)
            if not chunk:
                return hasher.digest()
            hasher.update(chunk)


def _why(error: Exception) -> str:
    """One line saying why a file failed, without credentials."""
    if isinstance(error, _Changed):
        return (f"the source changed during the copy or arrived damaged ({error}); nothing was written, "
                "run the copy again")
    if isinstance(error, MLTableError):
        return error.message
    if isinstance(error, FileExistsError):
        return "a file appeared at the destination during the copy; pass overwrite=True (--overwrite) to replace it"
    if isinstance(error, OSError) and error.strerror:
        return redact(f"{error.strerror}" + (f": '{error.filename}'" if error.filename else ""))
    return redact(f"{type(error).__name__}: {error}".splitlines()[0])


# --- the public function ------------------------------------------------------------------------


def copy(source: str | list, destination: str, *, overwrite: bool = False, dry_run: bool = False,
         storage_options: dict | None = None, source_storage_options: dict | None = None,
         destination_storage_options: dict | None = None, max_concurrency: int = MAX_CONCURRENCY,
         show_progress: bool = False) -> CopyResult:
    """Copy files, folders or glob patterns from any store to any writable one, like ``azcopy cp``.

    Every file lands below ``destination`` at its path relative to the folder it was found in
    (``data/`` → ``dest/a.csv``, ``dest/2024/b.csv``; ``data/*.csv`` → ``dest/a.csv``), or under
    ``destination`` itself when one file is copied to a name that is not a folder. A file already
    there with the same size and checksum is skipped, so a copy can be run again to finish; a
    different one is replaced only with ``overwrite=True``. Files are written whole or not at all,
    checked against the source's MD5 where it has one, many at once (``max_concurrency``), big
    ones in parallel parts.

    Args:
        source: a path or URI (file, folder or pattern: local, ``http(s)://``, ``wasbs://``,
            ``abfss://``, ``az://``, ``azureml://`` datastore URIs or data assets), or a list of
            them or of the builders' path dicts (``{'pattern': 'data/*.csv'}``).
        destination: a folder (or, for one file, a file name) on a local disk, ``wasbs://``,
            ``abfss://``, ``az://`` or an ``azureml://`` datastore (``http(s)`` is read-only).
        overwrite: replace destination files that differ from their source.
        dry_run: copy nothing; the result lists what would be copied and skipped.
        storage_options: credentials for both sides (as the builders take them);
            ``source_storage_options`` / ``destination_storage_options`` replace them for one side.
        max_concurrency: files in flight at once.
        show_progress: a progress bar (files, bytes, throughput) on stderr / in the notebook.

    Returns a :class:`CopyResult`; raises :class:`CopyFailed` (a ``UserErrorException``) after
    the copy when some files failed, naming each with the reason.

    Example:
        >>> import mltable_lite as mltable
        >>> mltable.copy("wasbs://data@acct.blob.core.windows.net/trips/", "./trips",   # doctest: +SKIP
        ...              storage_options={"account_key": "..."}).summary()
        'copied 120 files (1.2 GiB) in 14.1 s, 87.1 MiB/s'
    """
    source_options = storage_options if source_storage_options is None else source_storage_options
    destination_options = storage_options if destination_storage_options is None else destination_storage_options
    from ..progress import listing

    with listing(show_progress):   # listing many remote files takes a while: a bar counts them
        transfers, store, folder = plan_copy(source, destination, source_options, destination_options)
    # What is there already: on a remote store, one listing of the destination beats a request
    # per file when there are many; a local disk answers each file's lookup at once, and its
    # destination folder may hold far more than this copy writes.
    listed = folder if store.remote and len(transfers) > LIST_ABOVE else None
    result = run_transfers(transfers, store, listed_folder=listed, overwrite=bool(overwrite), dry_run=dry_run,
                           max_concurrency=max_concurrency, show_progress=show_progress)
    if not result.ok:
        raise CopyFailed(result)
    return result
