"""Ordered, bounded read-ahead on a thread pool: the one concurrency helper readers share.

Imports nothing of ours, so any module (executor, readers, writers) can use it.

Example:
    >>> list(ordered_map(lambda x: x * x, range(5), workers=2))
    [0, 1, 4, 9, 16]
    >>> list(ordered_map(str.upper, "abc", workers=2, ahead=3))
    ['A', 'B', 'C']
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

LOOKAHEAD = max(2, min(8, (os.cpu_count() or 2)))


def ordered_map(function: Callable, items: Iterable, workers: int = LOOKAHEAD, ahead: int | None = None
                ) -> Iterator:
    """``map`` on a thread pool of ``workers`` threads, results in input order, at most ``ahead``
    items (default: ``workers``) taken from ``items`` and not yet yielded.

    Readers use it to overlap I/O and parsing of several files without holding them all in memory.
    An ``ahead`` above ``workers`` keeps every thread busy while the oldest result waits.
    """
    items = iter(items)
    ahead = workers if ahead is None else max(ahead, 1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mltable_lite")
    pending: deque = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # A consumer that stopped early (take(n)) must not wait for the reads still running:
        # they finish on their own and their results are dropped.
        pool.shutdown(wait=False, cancel_futures=True)
