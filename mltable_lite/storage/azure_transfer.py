"""What a copy needs of Azure Blob Storage beyond reading: checksums, ranges, block uploads.

* **Checksums**: a blob's ``Content-MD5`` comes with its listing (the lean listing of
  :mod:`.azure_rest`, one request per 5 000 blobs) or its properties. The service computes it for
  blobs uploaded in one request; for blobs uploaded in blocks it is whatever the uploader set
  (mltable_lite always sets it), and may be missing.
* **Ranges**: a big blob is read in pieces at once, one GET with a ``Range`` each.
* **Writes in parts**: a blob of at most one part (:data:`.parts.PART`) goes up in one Put Blob
  carrying its MD5, which the service checks against the bytes it received; a bigger one as
  blocks staged in parallel, then committed in offset order with the whole blob's MD5. Nothing is visible under the blob's
  name until that commit; an upload that fails (or a process killed) leaves only uncommitted
  blocks, which readers never see and the service discards. Block ids carry a token of the
  upload's own, so two uploads of one name never mix their blocks. ``overwrite=False`` commits
  only if no blob is there (``If-None-Match: *``). A missing container is created (as azcopy does).

All calls go through the filesystem's SDK client (credentials, retries and timeouts as configured
for its store); :class:`~.azure.AzureStore` turns their errors into its own, naming the blob's URI.

Example:
    >>> fs = open_store("wasbs://data@acct.blob.core.windows.net/", options).fs   # doctest: +SKIP
    >>> with writing_blocks(fs, "data/big.bin", size=3 * PART) as sink:           # doctest: +SKIP
    ...     sink.write_at(0, part0); sink.write_at(PART, part1); sink.write_at(2 * PART, part2)
    ...     sink.md5 = whole_file_md5
"""

from __future__ import annotations

import base64
import secrets
import threading
from contextlib import contextmanager, nullcontext
from typing import Callable, ContextManager, Iterator

from fsspec.asyn import sync

from . import FileStat
from .azure_rest import list_blobs
from . import parts
from .parts import PartSink

__all__ = ["stat", "stat_below", "read_range", "writing_blocks"]


def _split(path: str) -> tuple[str, str]:
    container, _, blob = path.strip("/").partition("/")
    return container, blob


def _run(fs, coroutine_function, *args):
    return sync(fs.loop, coroutine_function, fs.service_client, *args)


def stat(fs, path: str) -> FileStat | None:
    """The blob at ``container/name`` of the adlfs filesystem ``fs``: size and Content-MD5; None
    when there is none."""
    return _run(fs, _properties, *_split(path))


def stat_below(fs, folder: str) -> dict[str, FileStat]:
    """Every blob below ``container/prefix`` with size and Content-MD5, folder markers left out;
    empty when the container or the prefix does not exist."""
    container, prefix = _split(folder)
    return _run(fs, _listing, fs, container, prefix + "/" if prefix else "")


def read_range(fs, path: str, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` (exclusive) of the blob, in one ranged GET."""
    return _run(fs, _range, *_split(path), start, end)


@contextmanager
def writing_blocks(fs, path: str, size: int, overwrite: bool = True,
                   translated: Callable[[], ContextManager] = nullcontext) -> Iterator[PartSink]:
    """A parallel :class:`PartSink` for the blob at ``container/name`` (see the module doc);
    ``translated()`` wraps every request (the store turns SDK errors into its own there)."""
    sink = _BlockSink(fs, path, single=0 <= size <= parts.PART, translated=translated)
    yield sink
    sink.commit(overwrite)


class _BlockSink(PartSink):
    parallel = True

    def __init__(self, fs, path: str, single: bool, translated: Callable[[], ContextManager]):
        super().__init__()
        self._fs, self._path, self._translated = fs, path, translated
        self._single = single
        self._token = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._blocks: dict[int, str] = {}     # offset → block id
        self._parts: dict[int, bytes] = {}    # single mode: the parts, put at commit

    def write_at(self, offset: int, data: bytes) -> None:
        if self._single:
            with self._lock:
                self._parts[offset] = bytes(data)
            return
        # Ids must be of one length within a blob; the offset keeps them unique and ordered.
        block_id = base64.b64encode(f"{self._token}-{offset:020d}".encode()).decode()
        self._call(_stage_block, block_id, data)
        with self._lock:
            self._blocks[offset] = block_id

    def commit(self, overwrite: bool) -> None:
        if self._single:
            data = b"".join(self._parts[offset] for offset in sorted(self._parts))
            self._call(_put_blob, data, self.md5, overwrite)
        else:
            self._call(_commit, [self._blocks[offset] for offset in sorted(self._blocks)], self.md5, overwrite)

    def _call(self, coroutine_function, *args):
        with self._translated():
            return _run(self._fs, _in_container, coroutine_function, *_split(self._path), *args)


# --- the calls, on the filesystem's event loop ---------------------------------------------------


async def _properties(service, container: str, blob: str) -> FileStat | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        async with service.get_blob_client(container, blob) as client:
            properties = await client.get_blob_properties()
    except ResourceNotFoundError:
        return None
    if (properties.metadata or {}).get("hdi_isfolder", "").lower() == "true":
        return None
    return FileStat(int(properties.size or 0), _md5_of(properties))


async def _listing(service, fs, container: str, prefix: str) -> dict[str, FileStat]:
    from azure.core.exceptions import HttpResponseError

    md5s: dict[str, bytes] = {}
    try:
        found = await list_blobs(fs, container, prefix, md5s=md5s)
    except HttpResponseError as error:
        if error.status_code == 404:  # no such container: nothing below
            return {}
        raise
    return {path: FileStat(size, md5s.get(path)) for path, size in found}


async def _range(service, container: str, blob: str, start: int, end: int) -> bytes:
    async with service.get_blob_client(container, blob) as client:
        downloader = await client.download_blob(offset=start, length=end - start, max_concurrency=1)
        return await downloader.readall()


async def _in_container(service, coroutine_function, container: str, blob: str, *args):
    """Run a write; when the container does not exist, create it and run the write again."""
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

    async with service.get_blob_client(container, blob) as client:
        try:
            return await coroutine_function(client, *args)
        except ResourceNotFoundError as error:
            if getattr(error, "error_code", None) != "ContainerNotFound":
                raise
        try:
            await service.get_container_client(container).create_container()
        except ResourceExistsError:   # made by another writer meanwhile
            pass
        return await coroutine_function(client, *args)


async def _stage_block(client, block_id: str, data: bytes) -> None:
    await client.stage_block(block_id, data, length=len(data))


async def _put_blob(client, data: bytes, md5: bytes | None, overwrite: bool) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import ContentSettings

    try:
        # With an MD5, the service checks the bytes it received against it.
        await client.upload_blob(data, length=len(data), overwrite=overwrite,
                                 content_settings=ContentSettings(content_md5=md5) if md5 else None)
    except ResourceExistsError:
        raise FileExistsError(client.blob_name) from None


async def _commit(client, block_ids: list[str], md5: bytes | None, overwrite: bool) -> None:
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
    from azure.storage.blob import BlobBlock, ContentSettings

    conditions = {} if overwrite else {"if_none_match": "*"}
    try:
        await client.commit_block_list([BlobBlock(block_id) for block_id in block_ids],
                                       content_settings=ContentSettings(content_md5=md5) if md5 else None,
                                       **conditions)
    except (ResourceExistsError, ResourceModifiedError):
        raise FileExistsError(client.blob_name) from None


def _md5_of(properties) -> bytes | None:
    settings = getattr(properties, "content_settings", None)
    md5 = getattr(settings, "content_md5", None)
    return bytes(md5) if md5 else None
