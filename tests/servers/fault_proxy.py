"""An HTTP/1.1 reverse proxy on 127.0.0.1 that injects network faults, counts requests and adds latency.

Put it in front of any server (the test HTTP server, Azurite) and point the client at
``proxy.url`` (or ``proxy.port``) instead: requests pass through unchanged unless a fault was
armed for them. Faults apply to the next requests that match, in the order they were armed:

* ``status``: answer ``503`` (or any status) with an optional ``Retry-After``; nothing is forwarded;
* ``drop``: close the client's connection without answering (a dropped connection);
* ``stall``: read the request and never answer (``seconds=None``) or answer late;
* ``truncate``: forward, pass the response headers and ``after_bytes`` of the body, then close
  (fewer bytes than ``Content-Length`` says);
* ``stall_body``: like ``truncate`` but hold the connection open, silent, instead of closing.

Every request is recorded as ``(method, path with query, Range header or None)`` with the body
bytes sent back, so tests can count round trips and bytes, and ``delay`` holds each request that
long before forwarding it (a far server). Each request opens its own upstream connection; the
client's connection is kept alive between requests as a real server would.

Run as a process (the benchmarks do, so the proxy never competes for their GIL)::

    python tests/servers/fault_proxy.py --target-port 10000 --delay-ms 20 --counts counts.json
    # prints "listening on <port>"; on SIGTERM writes the request log to counts.json

``GET /__counts__`` on the proxy itself answers the counts since the last such request (JSON:
``requests``, ``by_method``, ``body_bytes``) and starts counting afresh; it is never forwarded.

Example:
    >>> def test_retry(serve_http, fault_proxy, tmp_path):                  # doctest: +SKIP
    ...     served = serve_http(tmp_path)
    ...     proxy = fault_proxy(served.url)
    ...     proxy.arm("status", status=503, retry_after="1", match=r"GET /a\\.csv")
    ...     mltable.from_delimited_files([{"file": proxy.url + "a.csv"}]).to_pandas_dataframe()
    ...     assert proxy.count("GET", "/a.csv") == 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlsplit

__all__ = ["Fault", "FaultProxy", "fault_proxy", "run_fault_proxy"]

_KINDS = ("status", "drop", "stall", "truncate", "stall_body")
COUNTS_PATH = "/__counts__"
_CHUNK = 64 << 10


@dataclass
class Fault:
    """One armed fault: what to do to the next ``times`` requests whose ``"METHOD path"`` matches."""

    kind: str
    match: str = ""
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    seconds: float | None = None     # stall: None means until the proxy stops
    after_bytes: int = 0             # truncate / stall_body: body bytes passed on first

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {_KINDS}")


@dataclass
class Record:
    method: str
    path: str
    range: str | None
    status: int | None = None
    body_bytes: int = 0
    fault: str | None = None


@dataclass
class FaultProxy:
    """A running proxy: its ``url``, armed faults and the requests it saw."""

    target_host: str
    target_port: int
    delay: float = 0.0
    port: int = 0
    records: list = field(default_factory=list)
    _faults: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _stopping: asyncio.Event | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def arm(self, kind: str, match: str = "", times: int = 1, **options) -> Fault:
        """Apply a fault to the next ``times`` requests whose ``"METHOD /path?query"`` matches ``match``."""
        fault = Fault(kind, match, times, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def disarm(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget the requests seen so far (and any faults still armed)."""
        with self._lock:
            self.records.clear()
            self._faults.clear()

    def requests(self, method: str | None = None, path: str | None = None) -> list[Record]:
        """Requests seen, optionally only those of ``method`` whose path (query removed) ends with ``path``."""
        with self._lock:
            seen = list(self.records)
        return [record for record in seen if (method is None or record.method == method)
                and (path is None or urlsplit(record.path).path.endswith(path))]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return len(self.requests(method, path))

    def body_bytes(self) -> int:
        return sum(record.body_bytes for record in self.requests())

    def take_counts(self) -> dict:
        """Requests and body bytes since the last call (what ``GET /__counts__`` answers)."""
        with self._lock:
            seen, self.records = self.records, []
        by_method: dict[str, int] = {}
        for record in seen:
            by_method[record.method] = by_method.get(record.method, 0) + 1
        return {"requests": len(seen), "by_method": by_method, "body_bytes": sum(r.body_bytes for r in seen)}

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if re.search(fault.match, f"{method} {path}"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # --- serving ---------------------------------------------------------------------------------

    async def _serve(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:   # connections still open: end them before the loop closes
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                request_line, headers = head
                method, path, _ = request_line.split(" ", 2)
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                if path == COUNTS_PATH:
                    writer.write(_json_answer(self.take_counts()))
                    await writer.drain()
                    continue
                record = Record(method, path, headers.get("range"))
                with self._lock:
                    self.records.append(record)
                fault = self._take_fault(method, path)
                record.fault = fault.kind if fault else None
                if self.delay:
                    await asyncio.sleep(self.delay)
                keep_open = await self._answer(fault, record, request_line, headers, body, writer)
                if not keep_open:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _answer(self, fault: Fault | None, record: Record, request_line: str, headers: dict, body: bytes,
                      writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the client's connection must close."""
        if fault is not None and fault.kind == "drop":
            return False
        if fault is not None and fault.kind == "stall":
            try:
                await asyncio.wait_for(self._stopping.wait(), fault.seconds)
                return False
            except asyncio.TimeoutError:
                fault = None   # answered late, normally
        if fault is not None and fault.kind == "status":
            extra = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after is not None else ""
            message = f"{fault.status} injected\n".encode()
            writer.write(f"HTTP/1.1 {fault.status} Injected\r\n{extra}Content-Length: {len(message)}\r\n"
                         "Content-Type: text/plain\r\n\r\n".encode() + message)
            record.status = fault.status
            await writer.drain()
            return True
        upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
        try:
            forwarded = {**headers, "connection": "close"}
            upstream_writer.write((request_line + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in
                                                                    forwarded.items()) + "\r\n").encode("latin-1")
                                  + body)
            await upstream_writer.drain()
            head = await _read_head(upstream_reader)
            if head is None:
                return False
            status_line, response_headers = head
            record.status = int(status_line.split(" ", 2)[1])
            length = response_headers.get("content-length")
            chunked = "chunked" in response_headers.get("transfer-encoding", "").lower()
            writer.write((status_line + "\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in response_headers.items() if name != "connection")
                + ("" if length is not None or chunked or request_line.startswith("HEAD ")
                   else "connection: close\r\n") + "\r\n").encode("latin-1"))
            head_only = request_line.startswith("HEAD ") or record.status in (204, 304)
            left = 0 if head_only else (int(length) if length is not None else None)  # None: until upstream closes
            limit = fault.after_bytes if fault is not None and fault.kind in ("truncate", "stall_body") else None
            while left is None or left > 0:
                want = _CHUNK if left is None else min(_CHUNK, left)
                if limit is not None:
                    want = min(want, limit - record.body_bytes)
                    if want <= 0:
                        break
                chunk = await upstream_reader.read(want)
                if not chunk:
                    return left is None and chunked   # a chunked body ends when upstream closes
                writer.write(chunk)
                await writer.drain()
                record.body_bytes += len(chunk)
                if left is not None:
                    left -= len(chunk)
            if limit is not None:
                if fault.kind == "stall_body":
                    await self._stopping.wait()
                return False
            return length is not None or chunked or head_only
        finally:
            upstream_writer.close()


def _json_answer(value) -> bytes:
    body = json.dumps(value).encode()
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body)


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, dict] | None:
    """The first line and the headers (names lower-cased) of a request or response; None at EOF."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


@contextmanager
def run_fault_proxy(target_url: str, delay: float = 0.0) -> Iterator[FaultProxy]:
    """Run a proxy to ``target_url``'s host and port on its own thread until the block ends."""
    target = urlsplit(target_url)
    proxy = FaultProxy(target.hostname or "127.0.0.1", target.port or 80, delay)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    proxy._loop = loop
    thread = threading.Thread(target=loop.run_until_complete, args=(proxy._serve(ready),), name="fault-proxy",
                              daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fault proxy did not start")
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(proxy._stopping.set)
        thread.join(timeout=5)
        loop.close()


try:
    import pytest
except ImportError:  # run as a process by the benchmarks, without pytest
    pytest = None

if pytest is not None:
    @pytest.fixture
    def fault_proxy():
        """A factory: ``fault_proxy(target_url, delay=0)`` → :class:`FaultProxy`, stopped when the test ends."""
        with ExitStack() as stack:
            def start(target_url: str, delay: float = 0.0) -> FaultProxy:
                return stack.enter_context(run_fault_proxy(target_url, delay))

            yield start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--counts", help="write the request log here (JSON) on SIGTERM")
    args = parser.parse_args()
    proxy = FaultProxy("127.0.0.1", args.target_port, args.delay_ms / 1000)

    async def serve() -> None:
        # _serve runs as this (the main) task: at SIGTERM it cancels every *other* task, which must
        # not include a task awaiting it (that wait would never end, and SIGTERM would not stop it).
        ready = threading.Event()

        async def announce() -> None:
            while not ready.is_set():
                await asyncio.sleep(0.01)
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, proxy._stopping.set)
            print(f"listening on {proxy.port}", flush=True)

        announcing = asyncio.ensure_future(announce())
        await proxy._serve(ready)
        await announcing

    asyncio.run(serve())
    if args.counts:
        with open(args.counts, "w") as handle:
            json.dump([record.__dict__ for record in proxy.records], handle)


if __name__ == "__main__":
    main()
