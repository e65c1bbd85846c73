"""Requests to web servers under the network policy: timeouts, bounded retries, no short bodies.

Every request the ``http(s)://`` store makes goes through :func:`request` (a whole answer),
:func:`fetch_range` (a ``Range`` of a file) or :class:`ResumingStream` (a body read piece by piece
from a server without ``Range`` support). Each retries what :mod:`.network` says is transient (5xx,
429, 408, dropped or refused connections, bodies cut short) and gives up with an
:class:`~mltable_lite.errors.ExecutionError` naming the URL (never its secret query), how many
attempts were made and how to tune them. A body is checked against the size the listing or a
``HEAD`` announced: fewer bytes is a fault to retry, never a short table.

Example:
    >>> answer = sync(loop, request, session, "GET", url, NetworkPolicy(), "https://host/a.csv")  # doctest: +SKIP
    >>> answer.status, len(answer.body)                                                           # doctest: +SKIP
    (200, 20480)
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from ..errors import ExecutionError, UserErrorException
from .network import RETRIED_STATUSES, TIMEOUT_ATTEMPTS, NetworkPolicy, retry_after_seconds
from .secrets import strip_secret_query

__all__ = ["Answer", "StatusError", "request", "fetch_range", "ResumingStream", "shown_url", "TUNING_HINT"]

TUNING_HINT = ("Timeouts and retries are set by storage_options 'read_timeout', 'connection_timeout' and "
               "'retry_total'.")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")
_STREAM_CHUNK = 1 << 20


@dataclass
class Answer:
    """A whole answer: status, final URL (after redirects), headers and body."""

    status: int
    url: str
    headers: object
    body: bytes
    attempts: int = 1


class ShortBody(Exception):
    """The body ended before the size announced (by ``Content-Length``, the listing or ``HEAD``)."""

    def __init__(self, got: int, expected: int):
        super().__init__(f"the body ended after {got} of {expected} bytes")
        self.got, self.expected = got, expected


def shown_url(url: str) -> str:
    """``url`` fit for a message: no SAS token or other secret query, no ``user:password@``."""
    parts = urlsplit(strip_secret_query(url))
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Attempts:
    """Counts one request's attempts and decides whether (and how long) to wait before another."""

    def __init__(self, policy: NetworkPolicy, shown: str):
        self.policy, self.shown = policy, shown
        self.retries = 0
        self.timeouts = 0

    @property
    def count(self) -> int:
        return self.retries + 1

    def may_retry_status(self) -> bool:
        return self.retries < self.policy.retry_total

    async def after_status(self, headers) -> None:
        """Wait before retrying an answer with a retried status (``Retry-After`` honoured)."""
        self.retries += 1
        await asyncio.sleep(self.policy.backoff(self.retries, retry_after_seconds(headers.get("Retry-After"))))

    async def after_error(self, error: BaseException) -> None:
        """Wait before retrying after ``error``, or raise our error when it is not transient or
        the attempts are used up."""
        if not transient(error):
            raise failure(error, self.shown, self.count) from None
        if isinstance(error, asyncio.TimeoutError):
            self.timeouts += 1
        if self.timeouts >= TIMEOUT_ATTEMPTS or self.retries >= self.policy.retry_total:
            raise failure(error, self.shown, self.count, self.policy) from None
        self.retries += 1
        await asyncio.sleep(self.policy.backoff(self.retries))


def transient(error: BaseException) -> bool:
    """Whether ``error`` may pass on another attempt: dropped, refused or timed-out connections and
    bodies cut short; not a name that does not resolve, nor a bad certificate."""
    if isinstance(error, (ShortBody, aiohttp.ClientPayloadError, asyncio.TimeoutError)):
        return True
    if isinstance(error, aiohttp.ClientConnectorError):
        return not isinstance(error.os_error, socket.gaierror) and not isinstance(
            error, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError))
    return isinstance(error, (aiohttp.ClientConnectionError, ConnectionError))


def failure(error: BaseException, shown: str, attempts: int, policy: NetworkPolicy | None = None) -> Exception:
    """Our error for a request that failed with ``error`` after ``attempts`` attempts."""
    tried = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(error, aiohttp.ClientConnectorError) and not isinstance(error, aiohttp.ConnectionTimeoutError):
        reason = getattr(error.os_error, "strerror", None) or str(error.os_error) or type(error.os_error).__name__
        return UserErrorException(
            f"Cannot connect to {error.host}:{error.port} to read '{shown}': {reason}{tried}. "
            "Check the URL and that the server is running and reachable.")
    if isinstance(error, asyncio.TimeoutError):
        connecting = isinstance(error, aiohttp.ConnectionTimeoutError)
        limit = policy.connection_timeout if connecting and policy else policy.read_timeout if policy else None
        what = ("did not accept a connection" if connecting else "stopped sending data") + (
            f" for {limit:g} s" if limit is not None else "")
        return ExecutionError(f"Reading '{shown}' failed: the server {what}{tried}. Try again later. {TUNING_HINT}")
    if isinstance(error, ShortBody):
        return ExecutionError(f"Reading '{shown}' failed: {error}{tried}; the server cut the file short, or it "
                              f"changed while being read. Try again. {TUNING_HINT}")
    if isinstance(error, aiohttp.ClientPayloadError):
        return ExecutionError(f"Reading '{shown}' failed: the server's answer was cut short or malformed{tried}. "
                              f"Try again. {TUNING_HINT}")
    if isinstance(error, (aiohttp.ClientConnectionError, ConnectionError)):
        return ExecutionError(f"Reading '{shown}' failed: the connection to the server was dropped{tried}. "
                              f"Try again. {TUNING_HINT}")
    return ExecutionError(f"Reading '{shown}' failed: {type(error).__name__}{tried}. Try again.")


async def request(session: aiohttp.ClientSession, method: str, url, policy: NetworkPolicy, shown: str, *,
                  headers: dict | None = None, options: dict | None = None, read_body: bool = True,
                  expected_size: int | None = None) -> Answer:
    """One request, retried as the policy says. ``read_body=False`` leaves the body unread (a
    ``HEAD``-like probe); ``expected_size`` (≥ 0) is the body size a listing announced."""
    attempts = Attempts(policy, shown)
    while True:
        try:
            async with session.request(method, url, headers=headers, timeout=policy.aiohttp_timeout(),
                                       **(options or {})) as response:
                if response.status in RETRIED_STATUSES and attempts.may_retry_status():
                    await attempts.after_status(response.headers)
                    continue
                body = b""
                if read_body:
                    body = await response.read()
                    if response.status == 200 and expected_size is not None and 0 <= len(body) < expected_size:
                        raise ShortBody(len(body), expected_size)
                return Answer(response.status, str(response.url), response.headers.copy(), body, attempts.count)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, ShortBody) as error:
            await attempts.after_error(error)


async def fetch_range(session: aiohttp.ClientSession, url, policy: NetworkPolicy, shown: str, start: int, end: int,
                      *, headers: dict | None = None, options: dict | None = None) -> tuple[bytes, int | None, bool]:
    """Bytes ``[start, end)`` of the file, its total size (None when the server did not say) and
    whether the server honoured ``Range``.

    Fewer bytes than asked is retried, unless the file ends there. A server that answers the
    whole file (it ignores ``Range``) is read only as far as ``end`` and only when ``start`` is 0.
    """
    attempts = Attempts(policy, shown)
    wanted = {**(headers or {}), "Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
    while True:
        try:
            async with session.get(url, headers=wanted, timeout=policy.aiohttp_timeout(),
                                   **(options or {})) as response:
                if response.status in RETRIED_STATUSES and attempts.may_retry_status():
                    await attempts.after_status(response.headers)
                    continue
                if response.status == 416:   # at or past the end of the file
                    return b"", _total_of(response.headers.get("Content-Range")), True
                if response.status == 206:
                    first, total = _content_range(response.headers.get("Content-Range"), shown)
                    if first != start:
                        raise ExecutionError(f"Reading '{shown}' failed: asked for bytes from {start}, the server "
                                             f"sent bytes from {first}.")
                    data = await response.read()
                    expected = end - start if total is None else min(end, total) - start
                    if len(data) < expected:
                        raise ShortBody(len(data), expected)
                    return data[:end - start], total, True
                if response.status == 200:
                    if start:
                        raise ExecutionError(f"Reading '{shown}' failed: the server stopped honouring Range "
                                             "requests in the middle of the file.")
                    data = await _read_upto(response, end)
                    length = response.content_length
                    if length is not None and len(data) < min(end, length):
                        raise ShortBody(len(data), min(end, length))
                    return data, length, False
                raise StatusError(response.status, attempts.count)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, ShortBody) as error:
            await attempts.after_error(error)


class StatusError(Exception):
    """An answer whose status means the bytes asked for are not coming (the store says why)."""

    def __init__(self, status: int, attempts: int = 1):
        super().__init__(f"HTTP {status}")
        self.status, self.attempts = status, attempts


async def _read_upto(response, limit: int) -> bytes:
    parts, got = [], 0
    while got < limit:
        chunk = await response.content.read(min(_STREAM_CHUNK, limit - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _content_range(header: str | None, shown: str) -> tuple[int, int | None]:
    match = _CONTENT_RANGE.match(header or "")
    if match is None:
        raise ExecutionError(f"Reading '{shown}' failed: the server answered a Range request with a "
                             f"malformed Content-Range {header!r}.")
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _total_of(header: str | None) -> int | None:
    match = re.match(r"^\s*bytes\s+\*/(\d+)\s*$", header or "")
    return int(match.group(1)) if match else None


class ResumingStream:
    """A forward-only body (a server that ignores ``Range``), resumed after a fault by asking
    for the file again and skipping what was already read; the attempts are bounded as for any
    request. Methods are coroutines, run on the store's event loop."""

    def __init__(self, session_of, url, policy: NetworkPolicy, shown: str, *, headers: dict | None = None,
                 options: dict | None = None, expected_size: int | None = None):
        self._session_of = session_of
        self._url, self._policy, self._shown = url, policy, shown
        self._headers, self._options = headers, options or {}
        self._expected = expected_size if expected_size is not None and expected_size >= 0 else None
        self._response = None
        self._position = 0
        self._done = False
        self._attempts = Attempts(policy, shown)

    async def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        while True:
            try:
                if self._response is None:
                    await self._open()
                data = await (self._response.content.read() if size < 0 else self._response.content.read(size))
                if not data:
                    if self._expected is not None and self._position < self._expected:
                        raise ShortBody(self._position, self._expected)
                    self._done = True
                    await self.close()
                    return b""
                self._position += len(data)
                return data
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, ShortBody) as error:
                await self.close()
                await self._attempts.after_error(error)

    async def _open(self) -> None:
        session = await self._session_of()
        while True:
            response = await session.get(self._url, headers=self._headers, timeout=self._policy.aiohttp_timeout(),
                                         **self._options)
            if response.status in RETRIED_STATUSES and self._attempts.may_retry_status():
                response.release()
                await self._attempts.after_status(response.headers)
                continue
            break
        if response.status != 200:
            response.release()
            raise StatusError(response.status, self._attempts.count)
        skip = self._position   # resuming: the bytes already handed out come again first
        while skip:
            chunk = await response.content.read(min(skip, _STREAM_CHUNK))
            if not chunk:
                response.release()
                raise ShortBody(self._position - skip, self._position)
            skip -= len(chunk)
        self._response = response

    async def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
