"""``http://`` and ``https://`` paths: read-only files on a web server, through fsspec's aiohttp client.

Paths are the URLs themselves, query string included (it is often the credential: a SAS token).
What a plain web server can and cannot do decides how each operation works:

* **Files** are found with one ``HEAD`` request (size from ``Content-Length``).
* **Folders and patterns** need the server to list folders: the HTML index page of
  ``python -m http.server``, nginx ``autoindex`` or Apache is read (links below the folder only;
  parent and sort links are skipped) and subfolders are listed concurrently, as the sizes are
  then fetched with concurrent ``HEAD`` requests. A server that does not list folders gets a clear
  error asking for ``file`` paths. Glob matching itself is :func:`mltable_lite.storage.expand_paths`'s.
* **Reading**: the first file opened on a host is asked for one byte with a ``Range`` header. If
  the server honours ranges, files open seekable (fsspec's ranged ``HTTPFile``); if not, they
  open as a forward-only stream of the response body, which the CSV and JSON lines readers read
  piece by piece without holding the whole file. Parquet needs random access:
  :meth:`HttpStore.open_random_access` gives the seekable file, or, when the server ignores
  ranges, the whole file downloaded into memory (the only way to seek into it).
* **Errors** name the URL without its secret query: 404 is the reference's not-found error,
  401/403 say how to pass credentials, a refused connection names ``host:port``.

Storage options: ``headers`` (e.g. ``{"Authorization": "Bearer ..."}``), ``client_kwargs`` and the
other options fsspec's ``HTTPFileSystem`` and aiohttp understand are passed on; any other key
(Azure ML's ``subscription``, ``workspace``, ``account_key``...) is ignored.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files([{"pattern": "https://example.org/data/*.csv"}],  # doctest: +SKIP
    ...                                    storage_options={"headers": {"Authorization": "Bearer ..."}})
"""

from __future__ import annotations

import asyncio
import io
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import aiohttp
import fsspec
from fsspec.asyn import sync
from fsspec.exceptions import FSTimeoutError
from fsspec.implementations.http import HTTPStreamFile

from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, ExecutionError, MLTableError, UserErrorException
from ..logs import get_logger
from .remote import FsspecStore
from .secrets import strip_secret_query
from .uris import scheme_of

_log = get_logger(__name__)

__all__ = ["HttpStore"]

# Options HTTPFileSystem takes itself, and those it passes on to every aiohttp request.
_FILESYSTEM_OPTIONS = frozenset({"client_kwargs", "block_size", "cache_type", "cache_options", "encoded",
                                 "skip_instance_cache"})
_REQUEST_OPTIONS = frozenset({"headers", "auth", "cookies", "proxy", "proxy_auth", "proxy_headers", "ssl",
                              "timeout", "server_hostname"})
_CONCURRENT_REQUESTS = 32
_UNKNOWN_SIZE = -1   # no Content-Length: readers then treat the file as one partition
_LISTING_HELP = ("Folder and pattern paths over HTTP need a server that lists folders (an HTML index page, "
                 "like nginx autoindex or python -m http.server); otherwise name each file with {'file': url}.")
_CREDENTIALS_HELP = ("If the server needs credentials, pass them as storage_options={'headers': "
                     "{'Authorization': ...}} or use a URL with a SAS token.")


class HttpStore(FsspecStore):
    """Files on a web server; see the module docstring."""

    def __init__(self, fs, protocol: str):
        super().__init__(fs, protocol)
        self._sizes: dict[str, int] = {}        # URL → size, learnt while listing or probing
        self._ranges: dict[str, bool] = {}      # scheme://host:port → whether it honours Range

    @classmethod
    def for_uri(cls, uri: str, storage_options: dict | None = None) -> "HttpStore":
        options = {key: value for key, value in (storage_options or {}).items()
                   if key in _FILESYSTEM_OPTIONS or key in _REQUEST_OPTIONS}
        return cls(fsspec.filesystem("http", **options), scheme_of(uri))

    # --- paths and metadata ---------------------------------------------------------------------

    def path_of(self, uri: str) -> str:
        return uri

    def uri_of(self, path: str) -> str:
        return path

    def kind(self, url: str) -> str | None:
        """``'directory'`` for a URL ending in ``/`` (or redirected to one), the site root, or an
        HTML page at an extension-less URL (a listing served without a trailing slash)."""
        status, final, headers = self._run(url, self._probe, url)
        folder = _is_folder_url(url) or _is_folder_url(final)
        if status == 404 and not folder:
            return None
        if status >= 400:
            raise _status_error(status, url, folder)
        last_segment = urlsplit(url).path.rsplit("/", 1)[-1]
        if folder or (_is_html(headers) and "." not in last_segment):
            return "directory"
        self._sizes[url] = _content_length(headers)
        return "file"

    def size(self, url: str) -> int:
        if url not in self._sizes:
            status, _, headers = self._run(url, self._probe, url)
            if status >= 400:
                raise _status_error(status, url, folder=False)
            self._sizes[url] = _content_length(headers)
        return self._sizes[url]

    def find(self, folder: str) -> list[tuple[str, int]]:
        """Every file below ``folder``, read from the server's listings, with sizes, sorted."""
        found = self._run(folder, self._find, folder)
        self._sizes.update(found)
        return sorted(found.items(), key=lambda item: (unquote(item[0]), item[0]))

    # --- reading --------------------------------------------------------------------------------

    def open_input(self, url: str):
        """Seekable when the server honours ``Range`` requests, else a forward-only stream."""
        ranged = self._honours_ranges(url)
        size = self._sizes.get(url)
        _log.debug("GET %s (%s)", _shown(url), "ranged reads" if ranged else "one streamed body")
        with self._translated(url):
            inner = self.fs.open(url, "rb", block_size=None if ranged else 0, size=size if size and size > 0 else None)
        # fsspec streams an empty file (or one of unknown size) even when ranges work
        seekable = not isinstance(inner, HTTPStreamFile)
        return io.BufferedReader(_Body(inner, seekable, self, url), buffer_size=1 << 20)

    def open_random_access(self, url: str):
        """A seekable input for parquet: ranged reads when the server allows them; otherwise
        the whole file is downloaded into memory, since a plain body cannot seek."""
        if self._honours_ranges(url):
            return self.open_input(url)
        import pyarrow as pa

        return pa.BufferReader(self.fetch(url))

    def fetch(self, url: str) -> bytes:
        """The whole file in one ``GET``."""
        _log.debug("GET %s (whole file)", _shown(url))
        with self._translated(url):
            return self.fs.cat_file(url)

    def writing(self, url: str, overwrite: bool = True):
        raise _read_only(url)

    def write_bytes(self, url: str, data: bytes, overwrite: bool = True) -> None:
        raise _read_only(url)

    def delete(self, url: str) -> None:
        raise _read_only(url)

    @property
    def arrow_filesystem(self):
        raise NotImplementedError("http(s):// files are read through open_input")

    # --- requests -------------------------------------------------------------------------------

    def _honours_ranges(self, url: str) -> bool:
        """Whether the server answers ``Range`` requests; asked once per host (one byte of ``url``)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._ranges:
            status, _, headers = self._run(url, self._probe, url, "GET", Range="bytes=0-0")
            if status >= 400 and status != 416:  # 416: an empty file, but Range was understood
                raise _status_error(status, url, folder=False)
            self._ranges[origin] = status in (206, 416) and headers.get("Accept-Ranges") != "none"
        return self._ranges[origin]

    async def _probe(self, url: str, method: str = "HEAD", **headers) -> tuple[int, str, dict]:
        """``(status, final URL after redirects, headers)``; the body is never read."""
        _log.debug("%s %s%s", method, _shown(url), "".join(f" ({k}: {v})" for k, v in headers.items()))
        session = await self.fs.set_session()
        options = dict(self.fs.kwargs)
        headers = {**options.pop("headers", {}), "Accept-Encoding": "identity", **headers}
        async with session.request(method, self.fs.encode_url(url), headers=headers, **options) as response:
            if method == "HEAD" and response.status in (405, 501):  # HEAD not allowed: GET, unread
                return await self._probe(url, "GET", **headers)
            return response.status, str(response.url), response.headers.copy()

    async def _find(self, folder: str) -> dict[str, int]:
        parts = urlsplit(folder)
        query = parts.query      # a folder's SAS token is sent with every request below it
        given = urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")
        final, links = await self._listing(folder)
        base = urlsplit(final)._replace(query="", fragment="")
        below = base.path if base.path.endswith("/") else base.path + "/"
        files: set[str] = set()
        seen_folders: set[str] = set()
        while links:
            subfolders = []
            for link in links:
                linked = urlsplit(link)
                if linked.query or (linked.scheme, linked.netloc) != (base.scheme, base.netloc):
                    continue  # sort links (?C=N;O=D) and other sites
                if not linked.path.startswith(below) or linked.path == below:
                    continue  # parent and sibling links
                relative = linked.path[len(below):]
                if relative.endswith("/"):
                    if relative not in seen_folders:
                        seen_folders.add(relative)
                        subfolders.append(_with_query(f"{given}/{relative}", query))
                else:
                    files.add(_with_query(f"{given}/{relative}", query))
            pages = await asyncio.gather(*(self._listing(subfolder) for subfolder in subfolders))
            links = [link for _, page_links in pages for link in page_links]
        known = {url: self._sizes[url] for url in files if url in self._sizes}
        missing = [url for url in files if url not in known]
        limit = asyncio.Semaphore(_CONCURRENT_REQUESTS)

        async def size_of(url: str) -> int:
            async with limit:
                status, _, headers = await self._probe(url)
            if status >= 400:
                raise _status_error(status, url, folder=False)
            return _content_length(headers)

        sizes = await asyncio.gather(*(size_of(url) for url in missing))
        return {**known, **dict(zip(missing, sizes))}

    async def _listing(self, folder: str) -> tuple[str, list[str]]:
        """The folder page's final URL and every link on it, made absolute."""
        _log.debug("GET %s (folder listing)", _shown(folder))
        session = await self.fs.set_session()
        async with session.get(self.fs.encode_url(folder), **self.fs.kwargs) as response:
            if response.status >= 400:
                raise _status_error(response.status, folder, folder=True)
            if not _is_html(response.headers):
                raise UserErrorException(
                    f"Cannot list the folder '{_shown(folder)}': the server answered with "
                    f"'{response.headers.get('Content-Type', 'no content type')}', not an HTML folder listing. "
                    + _LISTING_HELP)
            page = await response.text(errors="replace")
            final = str(response.url)
        return final, [urljoin(final, href).split("#", 1)[0] for href in _hrefs(page)]

    def _run(self, url: str, coroutine_function, *args, **kwargs):
        """Run one of our coroutines on fsspec's event loop, errors translated."""
        with self._translated(url):
            return sync(self.fs.loop, coroutine_function, *args, **kwargs)

    @contextmanager
    def _translated(self, url: str):
        """Library errors → our errors, naming ``url`` without its secret query."""
        try:
            yield
        except MLTableError:
            raise
        except FileNotFoundError:  # fsspec's word for 404, and for any failed HEAD: ask again
            status, _, _ = self._run(url, self._probe, url)
            raise _status_error(status if status >= 400 else 404, url, _is_folder_url(url)) from None
        except aiohttp.ClientResponseError as error:
            raise _status_error(error.status, url, _is_folder_url(url)) from None
        except aiohttp.ClientConnectorError as error:
            reason = getattr(error.os_error, "strerror", None) or type(error.os_error).__name__
            raise UserErrorException(
                f"Cannot connect to {error.host}:{error.port} to read '{_shown(url)}': {reason}. "
                "Check the URL and that the server is running and reachable."
            ) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, FSTimeoutError) as error:
            raise ExecutionError(
                f"Reading '{_shown(url)}' failed: {type(error).__name__}. The connection to the server "
                "broke or timed out; try again."
            ) from None


class _Body(io.RawIOBase):
    """An fsspec HTTP file as a raw stream whose errors name the URL (``io.BufferedReader``
    on top adds ``readline`` and buffering, which a forward-only stream lacks)."""

    def __init__(self, inner, seekable: bool, store: HttpStore, url: str):
        self._inner, self._seekable, self._store, self._url = inner, seekable, store, url

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def readinto(self, buffer) -> int:
        with self._store._translated(self._url):
            data = self._inner.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        with self._store._translated(self._url):
            return self._inner.read()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self.seekable():
            raise io.UnsupportedOperation("an HTTP body from a server without Range support cannot seek")
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def _hrefs(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    parser.close()
    return parser.hrefs


def _read_only(url: str) -> UserErrorException:
    return UserErrorException(
        f"Cannot write '{_shown(url)}': http(s):// paths are read-only. Write to a local folder or to "
        "cloud storage (abfss://, wasbs://, azureml://) instead.")


def _status_error(status: int, url: str, folder: bool) -> UserErrorException:
    shown = _shown(url)
    if status == 404:
        hint = f" If it is a folder: {_LISTING_HELP}" if folder else ""
        return UserErrorException(f"{NOT_FOUND_MESSAGE} '{shown}' (HTTP 404).{hint}", error_code=NOT_FOUND_CODE)
    if status == 401 or (status == 403 and not folder):
        return UserErrorException(f"Access denied to '{shown}' (HTTP {status}). {_CREDENTIALS_HELP}")
    if status == 403:
        return UserErrorException(
            f"The server does not list the folder '{shown}' (HTTP 403). {_LISTING_HELP} {_CREDENTIALS_HELP}")
    return UserErrorException(f"The server answered HTTP {status} for '{shown}'.")


def _shown(url: str) -> str:
    """``url`` fit for a message: no SAS token or other secret query, no ``user:password@``."""
    parts = urlsplit(strip_secret_query(url))
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _is_folder_url(url: str) -> bool:
    path = urlsplit(url).path
    return not path or path.endswith("/")


def _is_html(headers) -> bool:
    return headers.get("Content-Type", "").partition(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")


def _content_length(headers) -> int:
    try:
        return int(headers["Content-Length"])
    except (KeyError, ValueError):
        return _UNKNOWN_SIZE
