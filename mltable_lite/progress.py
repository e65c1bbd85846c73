"""Progress bars for long reads, writes and copies (``show_progress=True``), through ``tqdm.auto``.

Off by default, so scripts and tests print nothing; when off, nothing is imported and counting
costs one method call per batch. In a terminal the bar goes to stderr; in Jupyter it is a widget
(or the text bar when ``ipywidgets`` is missing). The bar counts bytes of the files involved
against their total, with files and rows alongside.

A writer or copier reports as it goes::

    with progress(show_progress, "writing", total_files=len(batches)) as bar:
        for batch in batches:
            ...                                   # write it
            bar.advance(files=1, nbytes=size, rows=batch.num_rows)

Example:
    >>> with progress(False, "reading", total_bytes=100) as bar:   # off: a silent counter
    ...     bar.advance(files=1, nbytes=100, rows=5)
    >>> bar.rows
    5
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

__all__ = ["Progress", "progress", "tracking_reader", "listing", "listed"]


class Progress:
    """Counts files, bytes and rows; shows them on a bar when ``show`` is true.

    Use :func:`progress` to make one. The bar measures bytes when ``total_bytes`` is known
    (files otherwise); the other counts are shown beside it.
    """

    def __init__(self, show: bool, description: str, total_files: int | None = None,
                 total_bytes: int | None = None, by_bytes: bool | None = None):
        self.files = 0
        self.nbytes = 0
        self.rows = 0
        self.total_files = total_files
        self.total_bytes = total_bytes
        # Bytes when they can be known (reads and copies know file sizes); files otherwise.
        self._by_bytes = by_bytes
        self._show, self._description = show, description
        self._bar = None   # drawn at the first news, so a read shows its total from the start

    def advance(self, files: int = 0, nbytes: int = 0, rows: int = 0) -> None:
        """Record work done since the last call: whole ``files``, ``nbytes`` bytes, ``rows`` rows."""
        self.files += files
        self.nbytes += nbytes
        self.rows += rows
        if not self._drawn():
            return
        self._bar.update(nbytes if self._by_bytes else files)
        if self._by_bytes or self.rows or self.total_files is not None:   # else the bar's count says it all
            counted = f"{self.files}/{self.total_files}" if self.total_files is not None else str(self.files)
            rows = f", rows={self.rows:,}" if self.rows else ""   # a copy counts no rows
            self._bar.set_postfix_str(f"files={counted}{rows}", refresh=False)

    def add_total(self, files: int = 0, nbytes: int = 0) -> None:
        """Announce more work: ``files`` files of ``nbytes`` bytes in all (a read learns its files
        only once they are listed)."""
        self.total_files = (self.total_files or 0) + files
        self.total_bytes = (self.total_bytes or 0) + nbytes
        if self._drawn():
            self._bar.total = self.total_bytes if self._by_bytes else self.total_files
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._show = False

    def _drawn(self) -> bool:
        if self._bar is None and self._show:
            self._bar = _make_bar(self._description, self.total_bytes if self._by_bytes else self.total_files,
                                  self._by_bytes)
        return self._bar is not None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def progress(show: bool, description: str, total_files: int | None = None,
             total_bytes: int | None = None, by_bytes: bool | None = None) -> Progress:
    """A :class:`Progress` that draws a bar only when ``show`` is true.

    Example:
        >>> with progress(False, "copying", total_files=2) as bar:   # True draws the bar on stderr
        ...     bar.advance(files=1, nbytes=1024)
        >>> (bar.files, bar.nbytes)
        (1, 1024)
    """
    if by_bytes is None:
        by_bytes = total_bytes is not None
    return Progress(bool(show), description, total_files, total_bytes, by_bytes)


# Bars of the listings running now: storage reports the files it finds through :func:`listed`
# (deep inside event loops and thread pools, where passing a bar along is not practical).
_listing_bars: list[Progress] = []
_listing_lock = threading.Lock()


@contextmanager
def listing(show: bool) -> Iterator[Progress | None]:
    """While the block runs, remote listings count the files they find on a bar (drawn only once
    a listing reports, so local reads show none)."""
    if not show:
        yield None
        return
    bar = Progress(True, "listing")
    with _listing_lock:
        _listing_bars.append(bar)
    try:
        yield bar
    finally:
        with _listing_lock:
            _listing_bars.remove(bar)
        bar.close()


def listed(files: int) -> None:
    """Storage found ``files`` more files (a page of a blob listing, a size from an HTTP server)."""
    if not _listing_bars:   # the usual case: no bar, no lock
        return
    with _listing_lock:
        bars = list(_listing_bars)
    for bar in bars:
        bar.advance(files=files)


def tracking_reader(bar: Progress) -> Callable:
    """Wrap a reader function (the readers' ``read(files, step, columns, ...)`` contract) so that
    ``bar`` counts the rows it yields and the bytes of each file it finishes."""

    def wrap(read: Callable) -> Callable:
        def read_tracked(files, step, columns=None, **options) -> Iterator:
            groups = options.get("row_groups")
            chosen = sorted(groups) if groups is not None else list(range(len(files)))
            bar.add_total(files=len(chosen), nbytes=sum(files[index].size for index in chosen))
            done = 0

            def finish_before(index: float) -> None:
                nonlocal done
                while done < len(chosen) and chosen[done] < index:
                    bar.advance(files=1, nbytes=files[chosen[done]].size)
                    done += 1

            for index, table in read(files, step, columns, **options):
                finish_before(index)
                bar.advance(rows=table.num_rows)
                yield index, table
            finish_before(float("inf"))

        return read_tracked

    return wrap


def _make_bar(description: str, total: int | None, by_bytes: bool):
    import warnings

    with warnings.catch_warnings():
        # Without ipywidgets, tqdm.auto warns once and falls back to the text bar, which is fine.
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    options = dict(total=total, desc=description, leave=True, dynamic_ncols=True)
    if by_bytes:
        options.update(unit="B", unit_scale=True, unit_divisor=1024)
    else:
        options.update(unit="file")
    try:
        return tqdm(**options)
    except ImportError:  # a notebook front end without widgets: the plain text bar still works
        from tqdm.std import tqdm as text_tqdm

        return text_tqdm(**options)
