"""Azure Blob Storage and ADLS Gen2: ``wasbs://``, ``wasb://``, ``abfss://``, ``abfs://`` and ``az://``.

Files are read with adlfs, over the blob API (ADLS Gen2 accounts serve it too). adlfs drops the
account from its paths, so this module maps the URIs users write itself, and back again in the
user's own spelling for the ``Path`` column::

    wasbs://<container>@<account>.blob.<suffix>/<path>   → adlfs path <container>/<path>
    abfss://<filesystem>@<account>.dfs.<suffix>/<path>   → the same, on https://<account>.blob.<suffix>
    az://<container>/<path>     (account: option account_name, blob_endpoint or connection_string)

The account's blob service is ``https://<account>.blob.<suffix>`` for the URI's host (so sovereign
clouds work; ``wasb://`` too is read over HTTPS, which accounts require by default), unless the
``blob_endpoint`` option or a connection string's ``BlobEndpoint`` names another one (Azurite:
``http://127.0.0.1:10000/devstoreaccount1``).

Credentials are resolved by :mod:`.azure_credentials` (first match wins: ``storage_options``,
then ``AZURE_STORAGE_CONNECTION_STRING``, then azure-identity, else anonymous); folders are listed
and small blobs fetched by the lean calls of :mod:`.azure_rest`. Every request has the timeouts
and the SDK's retries bounded as :mod:`.network` says (``connection_timeout``, ``read_timeout``,
``retry_total``... in ``storage_options``). Secrets never reach a repr or an error message.
Filesystems and stores are cached per account, credential and policy, the least recently used
dropped beyond :data:`CACHED_FILESYSTEMS` and freed, their connections closed, once no store uses
them (a fresh SAS per read must not grow memory or sockets forever).

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.load("wasbs://data@acct.blob.core.windows.net/iris",
    ...                    storage_options={"account_key": "..."})              # doctest: +SKIP
    >>> fs = blob_filesystem("acct", {"sas_token": "sv=...&sig=..."})            # doctest: +SKIP
    >>> fs.cat_file("data/iris/MLTable")                                         # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import functools
import io
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

from fsspec.asyn import sync
from pyarrow import PythonFile
from pyarrow.fs import FSSpecHandler

from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, MLTableError, UserErrorException
from ..logs import get_logger

try:
    from adlfs import AzureBlobFileSystem
    from adlfs.spec import AzureBlobFile
except ImportError:  # pragma: no cover — adlfs brings azure-storage-blob and aiohttp along
    raise UserErrorException("Reading wasbs://, abfss:// and az:// paths needs adlfs: pip install adlfs") from None
from . import azure_transfer
from .azure_credentials import CREDENTIAL_ORDER, STORAGE_SCOPE, Access, resolve_access
from .azure_rest import get_blob, get_blob_range, list_blobs
from .azure_retry import azure_client_options
from .network import NetworkPolicy
from .ranged import RangedFile
from .remote import FsspecStore, abandon
from .secrets import redact, strip_secret_query

__all__ = ["AzureStore", "AzureLocation", "parse_uri", "blob_filesystem", "AUTH_CODE"]

AUTH_CODE = "ScriptExecution.StreamAccess.Authentication"
READ_BLOCK = 16 << 20  # bytes per ranged GET when a big blob is read piece by piece
CACHED_FILESYSTEMS = 16  # filesystems (one per account, credential and policy) kept for reuse
_log = get_logger(__name__)


# --- URIs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AzureLocation:
    """One Azure URI taken apart. ``host`` is the authority after ``@`` as written (``None`` for
    ``az://container/path``); ``blob_host`` is the account's blob service host it implies."""

    scheme: str
    container: str
    key: str
    host: str | None = None
    account: str | None = None
    blob_host: str | None = None

    @property
    def path(self) -> str:
        """The adlfs path, ``container/key``."""
        return f"{self.container}/{self.key}" if self.key else self.container


def parse_uri(uri: str) -> AzureLocation:
    """Split an Azure URI into scheme, container, key and account host.

    Example:
        >>> parse_uri("abfss://fs@acct.dfs.core.chinacloudapi.cn/a/x.csv").blob_host
        'acct.blob.core.chinacloudapi.cn'
        >>> parse_uri("az://data/a/").path
        'data/a'
    """
    scheme, separator, rest = uri.partition("://")
    if not separator:
        raise UserErrorException(f"'{uri}' is not an Azure Storage URI (wasbs://, abfss://, az://...).")
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    authority, _, key = rest.partition("/")
    key = key.strip("/")
    scheme = scheme.lower()
    if "@" not in authority:
        if not authority:
            raise UserErrorException(f"'{uri}' names no container: write {scheme}://<container>/<path>.")
        return AzureLocation(scheme, authority, key)
    container, host = authority.split("@", 1)
    host = host.lower()
    if not container:
        raise UserErrorException(f"'{uri}' names no container before '@'.")
    labels = host.split(":", 1)[0].split(".")
    for index, label in enumerate(labels[1:], start=1):
        if label in ("blob", "dfs"):
            blob_host = ".".join(labels[:index] + ["blob"] + labels[index + 1:])
            return AzureLocation(scheme, container, key, host, labels[0], blob_host)
    # A custom domain: the account is its first label; the blob_endpoint option must say where it is.
    return AzureLocation(scheme, container, key, host, labels[0], None)


# --- the filesystem -----------------------------------------------------------------------------


class _BlobFileSystem(AzureBlobFileSystem):
    """adlfs on exactly the account URL and credential resolved above (adlfs' own environment
    lookups and its https-only URLs are bypassed), reading big blobs in :data:`READ_BLOCK` pieces."""

    def __init__(self, access: Access, policy: NetworkPolicy, **kwargs):
        self.access = access
        self.policy = policy
        self._clients: list = []   # every service client made; closed when this filesystem is freed
        super().__init__(account_name=access.account, anon=True, use_listings_cache=False, **kwargs)
        _free_when_unreachable(self)

    def do_connect(self):
        from azure.storage.blob.aio import BlobServiceClient

        self.service_client = BlobServiceClient(account_url=self.access.url, credential=self.access.credential,
                                                use_env_settings=_proxies_configured(),
                                                **azure_client_options(self.policy))
        self._clients.append(self.service_client)

    def _open(self, path, mode="rb", block_size=None, **kwargs):
        if mode != "rb":
            return super()._open(path, mode, block_size=block_size, **kwargs)
        return _BlobFile(self, path, mode, block_size=block_size or READ_BLOCK, cache_type="readahead")

    def __repr__(self) -> str:
        return f"_BlobFileSystem({self.access.account}, {self.access.url})"


def _free_when_unreachable(fs: _BlobFileSystem) -> None:
    """Let ``fs`` be freed, and its connections closed, once nothing uses it any more.

    adlfs registers ``weakref.finalize(fs, sync, loop, close_service_client, fs)``: the finalizer
    holds ``fs`` among its own arguments, so a filesystem is never freed before the interpreter
    exits, and its connection pool stays open, whatever our caches drop (a fresh SAS per read would
    grow memory and sockets forever). Those finalizers are detached here (found in the finalizer
    registry; where it does not exist the filesystem simply lives on, as before) and replaced by
    one that holds the clients only: a store or a file still reading keeps ``fs`` alive, and when
    the last of them goes, its clients are closed.
    """
    registry = getattr(weakref.finalize, "_registry", None)
    if registry is None:  # pragma: no cover — every CPython and PyPy since 3.4 has it
        return
    for finalizer, info in registry.copy().items():
        if info.weakref() is fs:
            finalizer.detach()
    weakref.finalize(fs, _close_clients, fs.loop, fs._clients)


def _close_clients(loop, clients: list) -> None:
    """Close ``clients`` on ``loop`` (fsspec's I/O loop): waited for from any other thread, only
    scheduled when the garbage collector runs this on the loop's own thread."""
    if loop is None or loop.is_closed() or not loop.is_running():
        return
    for client in clients:
        future = asyncio.run_coroutine_threadsafe(client.close(), loop)
        if not _on_loop(loop):
            try:
                future.result(timeout=10)
            except Exception:  # noqa: BLE001 — closing is a courtesy; nothing is left to report to
                pass


def _on_loop(loop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class _BlobFile(AzureBlobFile):
    """An adlfs file whose ranged reads fail with our errors (``shown`` is the URI to name)."""

    shown: str | None = None

    def _fetch_range(self, start, end=None, **kwargs):
        _log.debug("GET %s bytes %s-%s", strip_secret_query(self.shown or self.path), start, end)
        with _translated(self.shown or self.path, self.fs.access):
            return super()._fetch_range(start, end, **kwargs)


@functools.lru_cache(maxsize=1)
def _proxies_configured() -> bool:
    """Whether the environment names an HTTP proxy. When it does not, the transport is told not to
    look: aiohttp would otherwise scan every environment variable twice per request, which costs
    more CPU than the request itself when many small blobs are fetched."""
    from urllib.request import getproxies

    return bool(getproxies())


_CACHE_LOCK = threading.Lock()
_FILESYSTEMS: OrderedDict = OrderedDict()   # (account, credential fingerprint, policy) → filesystem
_STORES: OrderedDict = OrderedDict()        # (scheme, host, account, fingerprint, policy) → store


def _cached(cache: OrderedDict, key, make, limit: int):
    """``cache[key]``, made by ``make()`` when missing; the least recently used entries beyond
    ``limit`` are dropped (whoever still holds one keeps it working)."""
    with _CACHE_LOCK:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
            return value
    value = make()
    with _CACHE_LOCK:
        value = cache.setdefault(key, value)
        cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)
        return value


def _filesystem(access: Access, policy: NetworkPolicy) -> _BlobFileSystem:
    # Not fsspec's instance cache: it tells instances apart by repr, which hides credentials.
    return _cached(_FILESYSTEMS, (access.account, access.fingerprint, policy),
                   lambda: _BlobFileSystem(access, policy, skip_instance_cache=True), CACHED_FILESYSTEMS)


def blob_filesystem(account: str, options: dict | None = None, *, endpoint_suffix: str | None = None
                    ) -> AzureBlobFileSystem:
    """An adlfs filesystem for ``account`` (paths ``container/path``), credentials resolved as the
    module doc says; ``endpoint_suffix`` (``core.chinacloudapi.cn``...) for sovereign clouds.

    Example:
        >>> fs = blob_filesystem("acct", {"anon": True})                     # doctest: +SKIP
        >>> fs.find("public/data")                                          # doctest: +SKIP
    """
    return _filesystem(resolve_access(account, options, suffix=endpoint_suffix), NetworkPolicy.from_options(options))


# --- errors -------------------------------------------------------------------------------------


@contextmanager
def _translated(uri: str, access: Access):
    """Azure SDK, aiohttp and adlfs errors → :class:`UserErrorException` naming ``uri``."""
    try:
        yield
    except MLTableError:
        raise
    except Exception as error:  # noqa: BLE001 — translated or re-raised below
        translated = _translate(error, uri, access)
        if translated is None:
            raise
        raise translated from None


def _translate(error: Exception, uri: str, access: Access) -> MLTableError | None:
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

    if isinstance(error, FileExistsError):  # a write with overwrite=False: the caller says what exists
        return None
    status = getattr(error, "status_code", None)
    code = getattr(error, "error_code", None)
    code = getattr(code, "value", code)  # the SDK's StorageErrorCode enum → 'AuthorizationFailure'
    response = getattr(error, "response", None)
    if code is None and response is not None:
        code = response.headers.get("x-ms-error-code")
    answer = " ".join(str(part) for part in (status, code) if part)
    if isinstance(error, (FileNotFoundError, ResourceNotFoundError)) or status == 404:
        hint = (" Reading anonymously: a private container looks missing too, so give credentials if it is not "
                "public." if access.credential is None else "")
        return UserErrorException(f"{NOT_FOUND_MESSAGE} '{uri}' does not exist in storage account "
                                  f"'{access.account}'.{hint}", error_code=NOT_FOUND_CODE)
    if isinstance(error, ClientAuthenticationError) or status in (401, 403):
        why = f"Azure Storage answered {answer}" if answer else _first_line(error, access)
        return UserErrorException(f"Access denied to '{uri}' ({why}) using {access.source}. Check that the "
                                  f"credential is for account '{access.account}', has not expired and may read "
                                  f"and list this container. {CREDENTIAL_ORDER}", error_code=AUTH_CODE)
    if isinstance(error, HttpResponseError):
        return UserErrorException(f"Azure Storage refused the request for '{uri}' ({answer or 'no status'}): "
                                  f"{_first_line(error, access)}")
    if isinstance(error, (AzureError, OSError, asyncio.TimeoutError)) or type(error).__module__.startswith("aiohttp"):
        return UserErrorException(f"Cannot reach Azure Storage at {access.url} for '{uri}': "
                                  f"{_first_line(error, access)}. Check the account name, the network and "
                                  "storage_options['blob_endpoint'].")
    return None


def _first_line(error: Exception, access: Access) -> str:
    text = str(getattr(error, "message", None) or error or type(error).__name__)
    return redact(text.strip().splitlines()[0] if text.strip() else type(error).__name__, *access.secrets)[:300]


# --- the store ----------------------------------------------------------------------------------


class _ArrowHandler(FSSpecHandler):
    """``PyFileSystem`` handler opening files through :class:`AzureStore` (our errors, our URIs)."""

    def __init__(self, store: "AzureStore"):
        super().__init__(store.fs)
        self.store = store

    def open_input_file(self, path):
        return PythonFile(self.store.open_input(path), mode="r")

    open_input_stream = open_input_file


class AzureStore(FsspecStore):
    """Azure Blob Storage paths through adlfs; one store per URI scheme, host form and credential."""

    def __init__(self, fs: _BlobFileSystem, scheme: str, host: str | None):
        super().__init__(fs, scheme)
        self._host = host

    @classmethod
    def for_uri(cls, uri: str, storage_options: dict | None = None) -> "AzureStore":
        location = parse_uri(uri)
        access = resolve_access(location.account, storage_options, blob_host=location.blob_host, shown=uri,
                          custom_host=location.host is not None and location.blob_host is None)
        policy = NetworkPolicy.from_options(storage_options)
        key = (location.scheme, location.host, access.account, access.fingerprint, policy)
        return _cached(_STORES, key, lambda: cls(_filesystem(access, policy), location.scheme, location.host),
                       2 * CACHED_FILESYSTEMS)

    def __repr__(self) -> str:
        where = f"*@{self._host}" if self._host else f"* in account {self.fs.access.account}"
        return f"AzureStore({self.protocol}://{where})"

    @property
    def access(self) -> Access:
        return self.fs.access

    def path_of(self, uri: str) -> str:
        return parse_uri(uri).path

    def uri_of(self, path: str) -> str:
        container, _, key = path.strip("/").partition("/")
        authority = f"{container}@{self._host}" if self._host else container
        return f"{self.protocol}://{authority}/{key}" if key else f"{self.protocol}://{authority}"

    def kind(self, path: str) -> str | None:
        path = path.strip("/")
        with _translated(self.uri_of(path), self.access):
            if "/" not in path:  # a container: listing needs only 'list' permission (a SAS may lack more)
                return "directory" if sync(self.fs.loop, _container_exists, self.fs, path) else None
            try:
                info = self.fs.info(path)
            except FileNotFoundError:
                return None
        return "directory" if info.get("type") == "directory" else "file"

    def size(self, path: str) -> int:
        with _translated(self.uri_of(path), self.access):
            return int(self.fs.size(path) or 0)

    def find(self, folder: str) -> list[tuple[str, int]]:
        container, _, prefix = folder.strip("/").partition("/")
        with _translated(self.uri_of(folder), self.access):
            return sorted(sync(self.fs.loop, list_blobs, self.fs, container, prefix + "/" if prefix else ""))

    def open_input(self, path: str, size: int | None = None):
        """The blob read by ranges (parallel parts, read-ahead: :class:`.ranged.RangedFile`);
        its properties are asked for first only when ``size`` is not given."""
        return io.BufferedReader(self.open_random_access(path, size), buffer_size=1 << 20)

    def open_random_access(self, path: str, size: int | None = None):
        shown = self.uri_of(path)
        if size is None or size < 0:
            size = self.size(path)

        async def fetch(start: int, end: int) -> bytes:
            _log.debug("GET %s bytes %s-%s", strip_secret_query(shown), start, end - 1)
            with _translated(shown, self.access):
                return await get_blob_range(self.fs, path, start, end)

        # Parts of READ_BLOCK: a blob server spends far more per byte on many small ranges (Azurite on
        # 8 CSV blobs of 27 MB: 0.8-0.9 s of its CPU in 4 MiB ranges, 0.2 s in 16 MiB ones or whole).
        return RangedFile(fetch, size, self.fs.loop, shown=strip_secret_query(shown), part=READ_BLOCK)

    def fetch(self, path: str) -> bytes:
        """The whole blob in one GET; thread-safe (calls from many threads share fsspec's event loop)."""
        return sync(self.fs.loop, self._fetch, path)

    def fetch_later(self, path: str, pool) -> Future:
        """:meth:`fetch` as a task on fsspec's event loop: no thread waits for it."""
        return asyncio.run_coroutine_threadsafe(self._fetch(path), self.fs.loop)

    async def _fetch(self, path: str) -> bytes:
        with _translated(self.uri_of(path), self.access):
            return await get_blob(self.fs, path)

    def write_bytes(self, path: str, data: bytes, overwrite: bool = True) -> None:
        """One Put Blob: the blob appears whole (``overwrite=False``: only if nothing is there)."""
        with _translated(self.uri_of(path), self.access):
            self.fs.pipe_file(path, data, overwrite=overwrite)

    @contextmanager
    def writing(self, path: str, overwrite: bool = True):
        """A block blob upload: blocks are staged as data comes and the blob is committed (its
        block list put) only when the block ends without error; an aborted upload leaves only
        uncommitted blocks, which readers never see and Azure discards."""
        with _translated(self.uri_of(path), self.access):
            handle = self.fs.open(path, "wb" if overwrite else "xb")
        try:
            yield handle
        except BaseException:
            abandon(handle)
            raise
        with _translated(self.uri_of(path), self.access):
            handle.close()

    def delete(self, path: str) -> None:
        with _translated(self.uri_of(path), self.access):
            try:
                self.fs.rm_file(path)
            except FileNotFoundError:
                pass

    # --- copying: checksums, ranges, blocks (see .azure_transfer) ---------------------------

    keeps_md5 = True

    def stat(self, path: str):
        with _translated(self.uri_of(path), self.access):
            return azure_transfer.stat(self.fs, path)

    def stat_below(self, folder: str):
        with _translated(self.uri_of(folder), self.access):
            return azure_transfer.stat_below(self.fs, folder)

    def read_range(self, path: str, start: int, end: int) -> bytes:
        with _translated(self.uri_of(path), self.access):
            return azure_transfer.read_range(self.fs, path, start, end)

    def writing_parts(self, path: str, size: int, overwrite: bool = True):
        return azure_transfer.writing_blocks(self.fs, path, size, overwrite=overwrite,
                                             translated=lambda: _translated(self.uri_of(path), self.access))

    @property
    def arrow_filesystem(self):
        from pyarrow.fs import PyFileSystem

        return PyFileSystem(_ArrowHandler(self))

    def delta_location(self, uri: str) -> tuple[str, dict]:
        """The table URI and storage options for ``deltalake`` (delta-rs' object_store keys).

        Example:
            >>> store.delta_location("abfss://fs@acct.dfs.core.windows.net/t")   # doctest: +SKIP
            ('az://fs/t', {'account_name': 'acct', 'endpoint': 'https://acct.blob.core.windows.net', ...})
        """
        access = self.access
        policy = self.fs.policy
        options = {"account_name": access.account, "endpoint": access.url, "max_retries": str(policy.retry_total),
                   "connect_timeout": f"{policy.connection_timeout:g}s"}
        if access.url.startswith("http://"):
            options["allow_http"] = "true"
        if policy.connection_verify is False:
            options["allow_invalid_certificates"] = "true"
        credential = access.credential
        if access.kind == "key":
            options["account_key"] = credential.named_key.key
        elif access.kind == "sas":
            options["sas_token"] = credential.signature
        elif access.kind == "token":
            with _translated(uri, access):
                options["bearer_token"] = sync(self.fs.loop, credential.get_token, STORAGE_SCOPE).token
        else:
            options["skip_signature"] = "true"
        return f"az://{parse_uri(uri).path}", options


async def _container_exists(fs: _BlobFileSystem, container: str) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        async with fs.service_client.get_container_client(container) as client:
            async for _ in client.list_blobs(results_per_page=1):
                break
    except ResourceNotFoundError:
        return False
    return True
