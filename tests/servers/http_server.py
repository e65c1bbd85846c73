"""A real HTTP file server on 127.0.0.1 for the ``http(s)://`` tests (standard library only).

It behaves like the simple servers people point mltable at (``python -m http.server``, nginx with
``autoindex``, Apache's fancy index), including the parts a client must cope with:

* files with ``Content-Length``; a folder URL without its trailing ``/`` is redirected (301);
* HTML folder listings with a parent link ``../``, Apache-style sort links (``?C=N;O=D``) and
  every entry linked twice (an icon and a name), names percent-encoded, subfolders ending in ``/``;
* ``Range`` requests (206 + ``Content-Range``) when ``ranges=True``; with ``ranges=False`` the
  header is ignored and the whole body is sent with 200, as many simple servers do;
* ``listings=False``: folders answer 403, like nginx without ``autoindex``;
* ``token='...'``: every request needs ``Authorization: Bearer <token>``, else 401;
* ``delay=0.1``: every request waits that long first (a far server: shows whether a client's
  requests overlap).

The query string is ignored (a SAS-like ``?sv=..&sig=..`` is accepted and does nothing). Each
server counts the body bytes it sent, the bodies it sent to their end and the requests it
answered, so tests can check that a reader stopped early or fetched concurrently.

Example:
    >>> with serve_folder("/data", ranges=False) as served:      # doctest: +SKIP
    ...     mltable.from_delimited_files([{"file": served.url + "a.csv"}])
    >>> def test_x(serve_http, tmp_path):                        # doctest: +SKIP
    ...     served = serve_http(tmp_path, listings=False)           # shut down after the test
"""

from __future__ import annotations

import html
import mimetypes
import os
import re
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import quote, unquote, urlsplit

import pytest

__all__ = ["ServedFolder", "serve_folder", "serve_http"]

_CHUNK = 64 << 10
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class ServedFolder:
    """A running server: its base ``url`` (ending in ``/``) and what it has served so far."""

    url: str
    folder: str
    ranges: bool = True
    listings: bool = True
    token: str | None = None
    delay: float = 0.0
    body_bytes: int = 0
    complete_bodies: int = 0                       # file bodies sent to their end (not cut short)
    requests: list = field(default_factory=list)   # (method, path with query, Range header or None)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        with self._lock:
            self.body_bytes = self.complete_bodies = 0
            self.requests.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as real servers: clients reuse connections
    disable_nagle_algorithm = True  # as real servers: headers and body written apart must not wait 40 ms for an ACK
    served: ServedFolder            # set on a subclass per server

    def log_message(self, format, *args):  # quiet: pytest shows failures, not access logs
        pass

    def do_HEAD(self):
        self._answer(send_body=False)

    def do_GET(self):
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        served = self.served
        with served._lock:
            served.requests.append((self.command, self.path, self.headers.get("Range")))
        if served.delay:
            time.sleep(served.delay)
        if served.token is not None and self.headers.get("Authorization") != f"Bearer {served.token}":
            return self._small(401, b"401 Unauthorized\n", send_body, {"WWW-Authenticate": 'Bearer realm="test"'})
        url_path = unquote(urlsplit(self.path).path)
        local = os.path.normpath(os.path.join(served.folder, url_path.lstrip("/")))
        if local != served.folder and not local.startswith(served.folder + os.sep):
            return self._small(404, b"404 Not Found\n", send_body)
        if os.path.isdir(local):
            if not url_path.endswith("/"):
                query = urlsplit(self.path).query
                location = quote(url_path + "/") + (f"?{query}" if query else "")
                return self._small(301, b"", send_body, {"Location": location})
            if not served.listings:
                return self._small(403, b"403 Forbidden\n", send_body)
            body = _listing(local, url_path).encode("utf-8")
            return self._small(200, body, send_body, {"Content-Type": "text/html; charset=utf-8"})
        if not os.path.isfile(local):
            return self._small(404, b"404 Not Found\n", send_body)
        self._send_file(local, send_body)

    def _send_file(self, local: str, send_body: bool) -> None:
        size = os.path.getsize(local)
        start, end, status = 0, size, 200
        headers = {"Content-Type": mimetypes.guess_type(local)[0] or "application/octet-stream"}
        if self.served.ranges:
            headers["Accept-Ranges"] = "bytes"
            wanted = self.headers.get("Range")
            if wanted is not None:
                parsed = _parse_range(wanted, size)
                if parsed is None:
                    return self._small(416, b"", send_body, {"Content-Range": f"bytes */{size}"})
                start, end, status = parsed[0], parsed[1], 206
                headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if not send_body:
            return
        with open(local, "rb") as handle:
            handle.seek(start)
            left = end - start
            while left:
                chunk = handle.read(min(_CHUNK, left))
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
                    self.close_connection = True
                    return
                left -= len(chunk)
                with self.served._lock:
                    self.served.body_bytes += len(chunk)
        with self.served._lock:
            self.served.complete_bodies += 1

    def _small(self, status: int, body: bytes, send_body: bool, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single ``bytes=`` range, or None if unsatisfiable."""
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), size if last == "" else min(size, int(last) + 1)
    return (start, end) if start < end else None


def _listing(local: str, url_path: str) -> str:
    """An Apache/nginx-like index page: sort links, a parent link, each entry linked twice."""
    rows = ['<a href="?C=N;O=D">Name</a> <a href="?C=M;O=A">Last modified</a> <a href="?C=S;O=A">Size</a>',
            '<a href="../">Parent Directory</a>']
    for name in sorted(os.listdir(local)):
        path = os.path.join(local, name)
        href = quote(name) + ("/" if os.path.isdir(path) else "")
        size = "-" if os.path.isdir(path) else str(os.path.getsize(path))
        rows.append(f'<a href="{html.escape(href)}"><img src="/icons/x.gif" alt="[ ]"></a> '
                    f'<a href="{html.escape(href)}">{html.escape(name)}</a> {size}')
    title = html.escape(f"Index of {url_path}")
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1><pre>\n" \
           + "\n".join(rows) + "\n</pre></body></html>\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False       # idle keep-alive connections must not hold up shutdown
    request_queue_size = 256     # clients open many connections at once (concurrent HEADs)


@contextmanager
def serve_folder(folder, ranges: bool = True, listings: bool = True, token: str | None = None,
                 delay: float = 0.0) -> Iterator[ServedFolder]:
    """Serve ``folder`` on a free port of 127.0.0.1 until the block ends."""
    root = os.path.realpath(os.fspath(folder))
    served = ServedFolder(url="", folder=root, ranges=ranges, listings=listings, token=token, delay=delay)
    handler = type("Handler", (_Handler,), {"served": served})
    server = _Server(("127.0.0.1", 0), handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="http-file-server", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def serve_http():
    """A factory: ``serve_http(folder, ranges=True, listings=True, token=None, delay=0)`` → :class:`ServedFolder`.

    Every server started through it is shut down when the test ends.
    """
    with ExitStack() as stack:
        def start(folder, **options) -> ServedFolder:
            return stack.enter_context(serve_folder(folder, **options))

        yield start


def main() -> None:
    """``python tests/servers/http_server.py FOLDER [--no-ranges]``: serve until SIGTERM (the
    benchmarks run it so, in a process of its own); prints ``listening on <port>`` once ready."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--no-ranges", dest="ranges", action="store_false")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve_folder(args.folder, ranges=args.ranges) as served:
        print(f"listening on {urlsplit(served.url).port}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
