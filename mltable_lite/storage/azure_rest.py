"""Lean Blob REST calls for the two requests a read makes most: list a folder, get a small blob.

Both go through the Azure SDK's own pipeline (its credential policies for keys, SAS and tokens,
its retries, its logging — which :mod:`.secrets` redacts), but skip the SDK's generated operation
clients. For a small blob those cost more CPU than the request itself: the generated download
deserialises every header into a model, and the generated listing turns each XML entry into
several model objects. Measured on Azurite with 500 blobs of 20 KB: fetching drops from 0.37 s
to 0.19 s of CPU, listing from 0.09 s to 0.02 s.

The service's own documents are the contract here:
https://learn.microsoft.com/rest/api/storageservices/get-blob and
https://learn.microsoft.com/rest/api/storageservices/list-blobs.

Example:
    >>> from fsspec.asyn import sync
    >>> data = sync(fs.loop, get_blob, fs, "container/folder/part-0.csv")    # doctest: +SKIP
    >>> sync(fs.loop, list_blobs, fs, "container", "folder/")                 # doctest: +SKIP
    [('container/folder/part-0.csv', 19478), ...]
"""

from __future__ import annotations

from urllib.parse import quote, unquote
from xml.etree import ElementTree

from ..logs import get_logger
from .secrets import strip_secret_query

_log = get_logger(__name__)

__all__ = ["get_blob", "list_blobs"]

_PAGE = 5000  # the service's largest page


async def get_blob(fs, path: str) -> bytes:
    """The whole blob at ``container/name`` in one GET. ``fs`` is an adlfs filesystem whose
    ``access.url`` is the account's blob service URL (no secret in it)."""
    container, _, blob = path.strip("/").partition("/")
    return await _get(fs, f"{_container_url(fs, container)}/{quote(blob, safe='~/')}")


async def list_blobs(fs, container: str, prefix: str, page_size: int = _PAGE) -> list[tuple[str, int]]:
    """``(container/name, size)`` of every blob whose name starts with ``prefix``, in the
    service's (lexicographic) order, ``page_size`` per request. Folder markers are left out:
    names ending in ``/`` and the ``hdi_isfolder`` blobs ADLS Gen2 accounts list for directories."""
    found: list[tuple[str, int]] = []
    marker = ""
    while True:
        query = f"restype=container&comp=list&include=metadata&maxresults={page_size}&prefix={quote(prefix, safe='')}"
        if marker:
            query += f"&marker={quote(marker, safe='')}"
        page = ElementTree.fromstring(await _get(fs, f"{_container_url(fs, container)}?{query}"))
        for entry in page.iter("Blob"):
            name_element = entry.find("Name")
            name = name_element.text or ""
            if name_element.get("Encoded") == "true":  # names with characters XML cannot hold
                name = unquote(name)
            if name.endswith("/") or (entry.findtext("Metadata/hdi_isfolder") or "").lower() == "true":
                continue
            found.append((f"{container}/{name}", int(entry.findtext("Properties/Content-Length") or 0)))
        marker = page.findtext("NextMarker") or ""
        if not marker:
            return found


def _container_url(fs, container: str) -> str:
    return f"{fs.access.url.rstrip('/')}/{quote(container)}"


async def _get(fs, url: str) -> bytes:
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest

    client = fs.service_client
    _log.debug("GET %s", strip_secret_query(url))
    request = HttpRequest("GET", url, headers={"x-ms-version": client.api_version})
    response = (await client._pipeline.run(request)).http_response  # noqa: SLF001 — the SDK's own pipeline
    await response.load_body()
    if response.status_code != 200:
        raise HttpResponseError(response=response)  # translated by the store, like the SDK's own errors
    return response.body()
