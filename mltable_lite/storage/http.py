"""``http://`` and ``https://`` paths: read-only files on a web server, through fsspec's aiohttp client.

Paths are the URLs themselves, query string included (it is often the credential: a SAS token).
What a plain web server can and cannot do decides how each operation works:

* **Files** are found with one ``HEAD`` request (size from ``Content-Length``).
* **Folders and patterns** need the server to list folders: the HTML index page of
  ``python -m http.server``, nginx ``autoindex`` or Apache is read (links below the folder only;
  parent and sort links are skipped) and subfolders are listed concurrently. A listing gives no
  sizes, and none is asked for: a listed file is read with one ``GET`` that asks for its first
  :data:`FIRST_BYTES` (``Range``) and learns its size from the answer, so a small file costs one
  request in all (:meth:`HttpStore.fetch_small`); a big one is then read in ranges, or sized
  with a ``HEAD`` where a size is needed first. A server that does not list folders gets a
  clear error asking for ``file`` paths. Glob matching itself is
  :func:`mltable_lite.storage.expand_paths`'s.
* **Reading**: whether a host honours ``Range`` is learnt from the first ranged answer (or, if a
  big file is opened first, from asking for one byte). If it does, files open seekable
  (:class:`.ranged.RangedFile`); if not, they open as a forward-only stream of the response body, which the CSV and JSON lines readers read
  piece by piece without holding the whole file. Parquet needs random access:
  :meth:`HttpStore.open_random_access` gives the seekable file, or, when the server ignores
  ranges, the whole file downloaded into memory (the only way to seek into it).
* **Faults**: every request has a connect and a read timeout and is retried, a bounded number
  of times with backoff, after 5xx/429/408 answers (honouring ``Retry-After``), dropped or
  refused connections and bodies cut short (:mod:`.network`, :mod:`.http_requests`); a body is
  checked against the size the listing or ``HEAD`` announced, so a short answer is retried or
  raised, never read as a shorter file. Seekable files are read by :class:`.ranged.RangedFile`
  (parallel ranges, read-ahead); streams resume after a fault by asking again and skipping
  what was read.
* **Errors** name the URL without its secret query: 404 is the reference's not-found error,
  401/403 say how to pass credentials, a refused connection names ``host:port``.

Storage options: ``headers`` (e.g. ``{"Authorization": "Bearer ..."}``), ``client_kwargs`` and the
other options fsspec's ``HTTPFileSystem`` and aiohttp understand are passed on;
``connection_timeout``, ``read_timeout``, ``retry_total``, ``retry_backoff_factor`` and
``retry_backoff_max`` set the network policy (:mod:`.network`); any other key (Azure ML's
``subscription``, ``workspace``, ``account_key``...) is ignored.

Example:
    >>> import mltable_lite as mltable
    >>> tbl = mltable.from_delimited_files([{"pattern": "https://example.org/data/*.csv"}],  # doctest: +SKIP
    ...                                    storage_options={"headers": {"Authorization": "Bearer ..."}})
"""

from __future__ import annotations

import asyncio
import io
import re
from contextlib import contextmanager
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import aiohttp
import fsspec
from fsspec.asyn import sync
from fsspec.exceptions import FSTimeoutError

from ..errors import NOT_FOUND_CODE, NOT_FOUND_MESSAGE, ExecutionError, MLTableError, UserErrorException
from ..logs import get_logger
from ..progress import listed
from .http_requests import ResumingStream, StatusError, fetch_range, request, shown_url
from .network import NetworkPolicy
from .ranged import RangedFile
from .remote import FsspecStore
from .uris import scheme_of

_log = get_logger(__name__)

__all__ = ["HttpStore"]

# Options HTTPFileSystem takes itself, and those it passes on to every aiohttp request.
_FILESYSTEM_OPTIONS = frozenset({"client_kwargs", "block_size", "cache_type", "cache_options", "encoded",
                                 "skip_instance_cache"})
_REQUEST_OPTIONS = frozenset({"headers", "auth", "cookies", "proxy", "proxy_auth", "proxy_headers", "ssl",
                              "server_hostname"})
_UNKNOWN_SIZE = -1   # not listed, or no Content-Length: readers then treat the file as one partition
FIRST_BYTES = 1 << 20   # asked for at once from a file of unknown size: most "small files" are whole in it
TAIL_BYTES = 64 << 10   # asked for from the end of a parquet file of unknown size: pyarrow's footer read
_LISTING_HELP = ("Folder and pattern paths over HTTP need a server that lists folders (an HTML index page, "
                 "like nginx autoindex or python -m http.server); otherwise name each file with {'file': url}.")
_CREDENTIALS_HELP = ("If the server needs credentials, pass them as storage_options={'headers': "
                     "{'Authorization': ...}} or use a URL with a SAS token.")
_shown = shown_url


class HttpStore(FsspecStore):
    """Files on a web server; see the module docstring."""

    def __init__(self, fs, protocol: str, policy: NetworkPolicy | None = None):
        super().__init__(fs, protocol)
        self.policy = policy or NetworkPolicy()
        self._sizes: dict[str, int] = {}        # URL → size, learnt while listing or probing
        self._ranges: dict[str, bool] = {}      # scheme://host:port → whether it honours Range
        self._folders: dict[str, str] = {}      # folder URL → where it redirected (its listing's URL)

    @classmethod
    def for_uri(cls, uri: str, storage_options: dict | None = None) -> "HttpStore":
        options = {key: value for key, value in (storage_options or {}).items()
                   if key in _FILESYSTEM_OPTIONS or key in _REQUEST_OPTIONS}
        return cls(fsspec.filesystem("http", **options), scheme_of(uri), NetworkPolicy.from_options(storage_options))

    # --- paths and metadata ---------------------------------------------------------------------

    def path_of(self, uri: str) -> str:
        return uri

    def uri_of(self, path: str) -> str:
        return path

    def kind(self, url: str) -> str | None:
        """``'directory'`` for a URL ending in ``/`` (or redirected to one), the site root, or an
        HTML page at an extension-less URL (a listing served without a trailing slash)."""
        answer = self._run(url, self._probe, url)
        folder = _is_folder_url(url) or _is_folder_url(answer.url)
        if answer.status == 404 and not folder:
            return None
        if answer.status >= 400:
            raise _status_error(answer.status, url, folder, answer.attempts)
        last_segment = urlsplit(url).path.rsplit("/", 1)[-1]
        if folder or (_is_html(answer.headers) and "." not in last_segment):
            self._folders[url] = answer.url
            return "directory"
        self._sizes[url] = _content_length(answer.headers)
        return "file"

    def size(self, url: str) -> int:
        if url not in self._sizes:
            answer = self._run(url, self._probe, url)
            if answer.status >= 400:
                raise _status_error(answer.status, url, False, answer.attempts)
            self._sizes[url] = _content_length(answer.headers)
        return self._sizes[url]

    def find(self, folder: str) -> list[tuple[str, int]]:
        """Every file below ``folder``, read from the server's listings, sorted, with the sizes
        known already (-1 for the others: a listing tells none)."""
        found = self._run(folder, self._find, folder)
        return sorted(found.items(), key=lambda item: (unquote(item[0]), item[0]))

    # --- reading --------------------------------------------------------------------------------

    def open_input(self, url: str, size: int | None = None):
        """Seekable when the server honours ``Range`` requests and the size is known, else a
        forward-only stream (resumed after faults)."""
        size = self._known_size(url, size)
        if size > 0 and self._honours_ranges(url):
            _log.debug("GET %s (ranged reads)", _shown(url))
            return io.BufferedReader(self._ranged(url, size), buffer_size=1 << 20)
        _log.debug("GET %s (one streamed body)", _shown(url))
        stream = ResumingStream(self.fs.set_session, self.fs.encode_url(url), self.policy, _shown(url),
                                options=self._request_options(), expected_size=size,
                                headers=self._request_headers())
        return io.BufferedReader(_Stream(stream, self, url), buffer_size=1 << 20)

    def open_random_access(self, url: str, size: int | None = None):
        """A seekable input for parquet: ranged reads when the server allows them; otherwise
        the whole file is downloaded into memory, since a plain body cannot seek. A file of
        unknown size is first asked for its last :data:`TAIL_BYTES` (where a parquet footer is):
        the answer tells the size too, so the footer costs one request."""
        import pyarrow as pa

        if (size is None or size < 0) and self._sizes.get(url, -1) < 0 and self._ranges.get(_origin(url)) is not False:
            tail, total, ranged = self._run(url, self._tail, url, TAIL_BYTES)
            if not ranged:   # the whole body came: a server without Range support
                return pa.BufferReader(tail)
            self._sizes[url] = total
            ranged_file = self._ranged(url, total)
            ranged_file.seed(total - len(tail), tail)
            return ranged_file
        size = self._known_size(url, size)
        if size > 0 and self._honours_ranges(url):
            return self._ranged(url, size)
        return pa.BufferReader(self.fetch(url))

    def _known_size(self, url: str, size: int | None) -> int:
        if size is not None and size >= 0:
            self._sizes.setdefault(url, size)
            return size
        return self._sizes[url] if url in self._sizes else self.size(url)

    def fetch_small(self, url: str, limit: int) -> bytes | None:
        """The whole file if it holds at most ``limit`` bytes, else None; one ``GET`` for files
        up to :data:`FIRST_BYTES` (size and body from one answer), two up to ``limit``."""
        data, total, ranged = self._run(url, self._first_bytes, url, min(limit, FIRST_BYTES) + 1)
        if total is not None:
            self._sizes[url] = total
        if total is not None and len(data) >= total:
            return data[:total]
        if total is None and len(data) <= min(limit, FIRST_BYTES):   # no length given, and it ended
            self._sizes[url] = len(data)
            return data
        if total is not None and total <= limit:
            return self.fetch(url)
        return None

    async def _tail(self, url: str, count: int) -> tuple[bytes, int, bool]:
        """The last ``count`` bytes (all of a smaller file), the size, and whether the server
        honoured ``Range`` (if not: the whole body, read to its end)."""
        _log.debug("GET %s last %s bytes (size unknown)", _shown(url), count)
        session = await self.fs.set_session()
        answer = await request(session, "GET", self.fs.encode_url(url), self.policy, _shown(url),
                               headers={**self._request_headers(), "Range": f"bytes=-{count}",
                                        "Accept-Encoding": "identity"},
                               options=self._request_options())
        if answer.status == 416:   # an empty file
            self._ranges[_origin(url)] = True
            return b"", 0, True
        if answer.status >= 400:
            raise _status_error(answer.status, url, False, answer.attempts)
        ranged = answer.status == 206
        self._ranges[_origin(url)] = ranged
        if not ranged:
            return answer.body, len(answer.body), False
        match = re.match(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", answer.headers.get("Content-Range", ""))
        if match is None or int(match.group(2)) + 1 != int(match.group(3)) or \
                len(answer.body) != int(match.group(2)) - int(match.group(1)) + 1:
            raise ExecutionError(f"Reading '{_shown(url)}' failed: the server answered a request for the end of the "
                                 f"file with Content-Range {answer.headers.get('Content-Range')!r} and "
                                 f"{len(answer.body)} bytes.")
        return answer.body, int(match.group(3)), True

    async def _first_bytes(self, url: str, count: int) -> tuple[bytes, int | None, bool]:
        _log.debug("GET %s bytes 0-%s (size unknown)", _shown(url), count - 1)
        session = await self.fs.set_session()
        try:
            data, total, ranged = await fetch_range(session, self.fs.encode_url(url), self.policy, _shown(url), 0,
                                                    count, headers=self._request_headers(),
                                                    options=self._request_options())
        except StatusError as error:
            raise _status_error(error.status, url, False, error.attempts) from None
        self._ranges[_origin(url)] = ranged
        return data, total, ranged

    def fetch(self, url: str) -> bytes:
        """The whole file in one ``GET`` (checked against the size the listing announced)."""
        _log.debug("GET %s (whole file)", _shown(url))
        answer = self._run(url, self._get, url)
        if answer.status >= 400:
            raise _status_error(answer.status, url, False, answer.attempts)
        return answer.body

    def reads_ranges(self, url: str) -> bool:
        return self._honours_ranges(url)

    def read_range(self, url: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` of the file in one ranged ``GET`` (retried as every request)."""
        return self._run(url, self._range_fetcher(url), start, end)

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

    def _ranged(self, url: str, size: int) -> RangedFile:
        return RangedFile(self._range_fetcher(url), size, self.fs.loop, shown=_shown(url))

    def _range_fetcher(self, url: str):
        """A coroutine function ``fetch(start, end) -> bytes`` of ``url``'s bytes."""
        encoded, shown = self.fs.encode_url(url), _shown(url)

        async def fetch(start: int, end: int) -> bytes:
            _log.debug("GET %s bytes %s-%s", shown, start, end - 1)
            session = await self.fs.set_session()
            try:
                data, _, _ = await fetch_range(session, encoded, self.policy, shown, start, end,
                                               headers=self._request_headers(), options=self._request_options())
            except StatusError as error:
                raise _status_error(error.status, url, False, error.attempts) from None
            return data

        return fetch

    def _request_headers(self) -> dict:
        return dict(self.fs.kwargs.get("headers") or {})

    def _request_options(self) -> dict:
        options = {key: value for key, value in self.fs.kwargs.items() if key != "headers"}
        if "ssl" not in options and self.policy.connection_verify is not True:
            options["ssl"] = self.policy.aiohttp_ssl()
        return options

    def _honours_ranges(self, url: str) -> bool:
        """Whether the server answers ``Range`` requests; asked once per host (one byte of ``url``)."""
        origin = _origin(url)
        if origin not in self._ranges:
            answer = self._run(url, self._probe, url, "GET", Range="bytes=0-0")
            if answer.status >= 400 and answer.status != 416:  # 416: an empty file, but Range was understood
                raise _status_error(answer.status, url, False, answer.attempts)
            self._ranges[origin] = answer.status in (206, 416) and answer.headers.get("Accept-Ranges") != "none"
        return self._ranges[origin]

    async def _probe(self, url: str, method: str = "HEAD", **headers):
        """The answer's status, final URL after redirects and headers; the body is never read."""
        _log.debug("%s %s%s", method, _shown(url), "".join(f" ({k}: {v})" for k, v in headers.items()))
        session = await self.fs.set_session()
        headers = {**self._request_headers(), "Accept-Encoding": "identity", **headers}
        answer = await request(session, method, self.fs.encode_url(url), self.policy, _shown(url), headers=headers,
                               options=self._request_options(), read_body=False)
        if method == "HEAD" and answer.status in (405, 501):  # HEAD not allowed: GET, unread
            return await self._probe(url, "GET", **headers)
        return answer

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
        listed(len(files))
        return {url: self._sizes.get(url, _UNKNOWN_SIZE) for url in files}

    async def _listing(self, folder: str) -> tuple[str, list[str]]:
        """The folder page's final URL and every link on it, made absolute."""
        _log.debug("GET %s (folder listing)", _shown(folder))
        session = await self.fs.set_session()
        where = self._folders.get(folder, folder)   # the probe followed its redirect already
        answer = await request(session, "GET", self.fs.encode_url(where), self.policy, _shown(folder),
                               headers=self._request_headers(), options=self._request_options())
        if answer.status >= 400:
            raise _status_error(answer.status, folder, True, answer.attempts)
        if not _is_html(answer.headers):
            raise UserErrorException(
                f"Cannot list the folder '{_shown(folder)}': the server answered with "
                f"'{answer.headers.get('Content-Type', 'no content type')}', not an HTML folder listing. "
                + _LISTING_HELP)
        page = answer.body.decode(_charset(answer.headers), errors="replace")
        return answer.url, [urljoin(answer.url, href).split("#", 1)[0] for href in _hrefs(page)]

    async def _get(self, url: str):
        """The whole answer to a ``GET``, its body checked against the size the listing announced."""
        session = await self.fs.set_session()
        return await request(session, "GET", self.fs.encode_url(url), self.policy, _shown(url),
                             headers=self._request_headers(), options=self._request_options(),
                             expected_size=self._sizes.get(url))

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
        except StatusError as error:
            raise _status_error(error.status, url, _is_folder_url(url), error.attempts) from None
        except aiohttp.ClientResponseError as error:
            raise _status_error(error.status, url, _is_folder_url(url)) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, FSTimeoutError) as error:
            raise ExecutionError(
                f"Reading '{_shown(url)}' failed: {type(error).__name__}. The connection to the server "
                "broke or timed out; try again."
            ) from None


class _Stream(io.RawIOBase):
    """A :class:`ResumingStream` as a raw stream (``io.BufferedReader`` on top adds ``readline``
    and buffering, which a forward-only stream lacks)."""

    def __init__(self, stream: ResumingStream, store: HttpStore, url: str):
        self._stream, self._store, self._url = stream, store, url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._store._run(self._url, self._stream.read, len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self._store._run(self._url, self._stream.read, -1)

    def close(self) -> None:
        if not self.closed:
            try:
                sync(self._store.fs.loop, self._stream.close)
            except Exception:  # noqa: BLE001 - closing a broken connection must not hide the real error
                pass
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


def _status_error(status: int, url: str, folder: bool, attempts: int = 1) -> UserErrorException:
    shown = _shown(url)
    if status == 404:
        hint = f" If it is a folder: {_LISTING_HELP}" if folder else ""
        return UserErrorException(f"{NOT_FOUND_MESSAGE} '{shown}' (HTTP 404).{hint}", error_code=NOT_FOUND_CODE)
    if status == 401 or (status == 403 and not folder):
        return UserErrorException(f"Access denied to '{shown}' (HTTP {status}). {_CREDENTIALS_HELP}")
    if status == 403:
        return UserErrorException(
            f"The server does not list the folder '{shown}' (HTTP 403). {_LISTING_HELP} {_CREDENTIALS_HELP}")
    tried = f" on each of {attempts} attempts" if attempts > 1 else ""
    return UserErrorException(f"The server answered HTTP {status} for '{shown}'{tried}.")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _is_folder_url(url: str) -> bool:
    path = urlsplit(url).path
    return not path or path.endswith("/")


def _is_html(headers) -> bool:
    return headers.get("Content-Type", "").partition(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")


def _charset(headers) -> str:
    for parameter in headers.get("Content-Type", "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            import codecs

            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                break
    return "utf-8"


def _content_length(headers) -> int:
    try:
        return int(headers["Content-Length"])
    except (KeyError, ValueError):
        return _UNKNOWN_SIZE
