"""A remote file read by byte ranges: seekable, with parallel parts and read-ahead sized to the wire.

One request at a time cannot fill a far link: each waits a round trip before its first byte. So a
:class:`RangedFile` splits every large read into parts of :data:`PART` bytes fetched at once (at
most :data:`PARALLEL` per file), and while a reader goes through the file in order it keeps
fetching ahead: the window starts at the size of the last read and doubles whenever a read had to
wait for bytes still in flight (the link is slower than the reader), up to :data:`MAX_AHEAD`
bytes. Random reads (a parquet footer, a column chunk) fetch exactly what is asked. Memory stays
bounded: what a read asks for, plus the window, plus the last part behind the position (readers
that step back to the start of a line find it here).

The store gives a coroutine ``fetch(start, end) -> bytes`` (retries and timeouts are its own) and
the event loop to run it on.

Example:
    >>> handle = RangedFile(fetch, size, loop, shown="https://host/big.csv")   # doctest: +SKIP
    >>> handle.seek(-8, 2); handle.read(8)                                      # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import bisect
import io
import threading
from concurrent.futures import Future
from typing import Awaitable, Callable

from ..errors import ExecutionError

__all__ = ["RangedFile", "PART", "PARALLEL", "MAX_AHEAD"]

PART = 4 << 20          # bytes per request when a read or the read-ahead is split
PARALLEL = 8            # requests in flight per file
MAX_AHEAD = 32 << 20    # the read-ahead window's limit


class RangedFile(io.RawIOBase):
    """A seekable, read-only remote file of known ``size``; see the module doc."""

    def __init__(self, fetch: Callable[[int, int], Awaitable[bytes]], size: int, loop: asyncio.AbstractEventLoop,
                 *, shown: str = "", part: int = PART, parallel: int = PARALLEL, max_ahead: int = MAX_AHEAD):
        super().__init__()
        self._fetch, self.size, self._loop, self.shown = fetch, size, loop, shown
        self._part, self._max_ahead = part, max_ahead
        self._limit: asyncio.Semaphore | None = None     # made on the loop, at the first fetch
        self._parallel = parallel
        self._lock = threading.Lock()           # pyarrow may read from several threads
        self._position = 0
        self._starts: list[int] = []            # segment starts, sorted
        self._segments: dict[int, tuple[int, Future]] = {}   # start → (end, future of bytes)
        self._next_sequential = 0               # where an in-order read would start
        self._window = 0                        # read-ahead bytes beyond the last read

    def seed(self, start: int, data: bytes) -> None:
        """Bytes already fetched (a file's tail, asked for with its size): reads of them cost no request."""
        with self._lock:
            if data and not self._cover_any(start, start + len(data)):
                future: Future = Future()
                future.set_result(data)
                bisect.insort(self._starts, start)
                self._segments[start] = (start + len(data), future)

    def _cover_any(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self._starts, end) - 1
        return index >= 0 and self._segments[self._starts[index]][0] > start

    # --- io.RawIOBase ------------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise OSError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read_at(self._position, len(view))
        view[:len(data)] = data
        self._position += len(data)
        return len(data)

    def readall(self) -> bytes:
        data = self.read_at(self._position, max(0, self.size - self._position))
        self._position += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            for _, future in self._segments.values():
                future.cancel()
            self._segments.clear()
            self._starts.clear()
        super().close()

    # --- reading -----------------------------------------------------------------------------------

    def read_at(self, start: int, length: int) -> bytes:
        """Bytes ``[start, start + length)`` (fewer only past the end of the file)."""
        with self._lock:
            if self.closed:
                raise ValueError("read from a closed file")
            end = min(start + length, self.size)
            if end <= start:
                return b""
            sequential = start == self._next_sequential
            pieces = self._cover(start, end)
            waited = any(not future.done() for _, _, future in pieces)
            if sequential:
                if waited:   # the reader caught up with the fetches: a deeper window hides more latency
                    self._window = min(max(self._window * 2, end - start), self._max_ahead)
                elif not self._window:
                    self._window = min(end - start, self._max_ahead)
                self._run_ahead(end, min(end + self._window, self.size))
            else:
                self._window = 0
            data = b"".join(_slice(future.result(), segment_start, start, end)
                            for segment_start, _, future in pieces)
            if len(data) < end - start:
                raise ExecutionError(f"Reading '{self.shown}' failed: the file ended after {start + len(data)} "
                                     f"bytes, but it was announced as {self.size} bytes. It changed while being "
                                     "read, or the server cut it short; read it again.")
            self._next_sequential = end
            self._forget_before(start - self._part)
            return data

    def _cover(self, start: int, end: int) -> list[tuple[int, int, Future]]:
        """Segments (fetched, in flight or new) that together hold ``[start, end)``, in order.
        Segments never overlap: new ones only fill the gaps between those there."""
        pieces = []
        position = start
        while position < end:
            index = bisect.bisect_right(self._starts, position) - 1
            if index >= 0:
                segment_start = self._starts[index]
                segment_end, future = self._segments[segment_start]
                if segment_end > position:
                    pieces.append((segment_start, segment_end, future))
                    position = segment_end
                    continue
            gap_end = min(end, self._starts[index + 1]) if index + 1 < len(self._starts) else end
            for piece_start in range(position, gap_end, self._part):
                piece_end = min(piece_start + self._part, gap_end)
                pieces.append((piece_start, piece_end, self._submit(piece_start, piece_end)))
            position = gap_end
        return pieces

    def _run_ahead(self, start: int, end: int) -> None:
        """Start fetching ``[start, end)`` where nothing covers it yet."""
        if end > start:
            self._cover(start, end)

    def _submit(self, start: int, end: int) -> Future:
        future = asyncio.run_coroutine_threadsafe(self._limited(start, end), self._loop)
        bisect.insort(self._starts, start)
        self._segments[start] = (end, future)
        return future

    async def _limited(self, start: int, end: int) -> bytes:
        if self._limit is None:
            self._limit = asyncio.Semaphore(self._parallel)
        async with self._limit:
            return await self._fetch(start, end)

    def _forget_before(self, position: int) -> None:
        while self._starts:
            first = self._starts[0]
            segment_end, future = self._segments[first]
            if segment_end > position:
                break
            self._starts.pop(0)
            del self._segments[first]
            future.cancel()


def _slice(data: bytes, segment_start: int, start: int, end: int) -> bytes:
    low = max(start - segment_start, 0)
    high = min(end - segment_start, len(data))
    return data if low == 0 and high == len(data) else data[low:high]
