"""Logging under the ``mltable_lite`` logger: what was listed, read, pushed down or pruned, and how long
it took, all at DEBUG. Nothing is logged at WARNING or above unless something is wrong.

The library adds only a ``NullHandler``; turn the messages on the usual way::

    import logging
    logging.basicConfig()
    logging.getLogger("mltable_lite").setLevel(logging.DEBUG)

Every record of these loggers passes through the redacting filter of :mod:`.storage.secrets`, and
paths are logged as the ``Path`` column shows them (without a SAS query), so credentials never
reach a log.

Example:
    >>> log = get_logger("mltable_lite.example")
    >>> with timed(log, "a quick thing"):
    ...     pass
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

__all__ = ["get_logger", "timed", "log_listing", "log_read_plan"]

ROOT = "mltable_lite"
_SHOWN_FILES = 5
_filtered: set = set()


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` (a child of ``mltable_lite``) with secrets redacted from its records."""
    logger = logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")
    if logger.name not in _filtered:
        from .storage.secrets import RedactingFilter

        # A logger's filters see only the records logged to it, not its children's: one per logger.
        logger.addFilter(RedactingFilter())
        _filtered.add(logger.name)
    return logger


@contextmanager
def timed(logger: logging.Logger, what: str) -> Iterator[None]:
    """Log at DEBUG how long the block took (also when it raised)."""
    if not logger.isEnabledFor(logging.DEBUG):
        yield
        return
    started = time.perf_counter()
    outcome = "failed after"
    try:
        yield
        outcome = "took"
    finally:
        logger.debug("%s %s %.3f s", what, outcome, time.perf_counter() - started)


def log_listing(logger: logging.Logger, shown_spec: str, files: Sequence, seconds: float) -> None:
    """One DEBUG line per path spec expanded: how many files, how many bytes, which."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("listed %s: %d files, %d bytes in %.3f s%s", shown_spec, len(files),
                     sum(file.size for file in files), seconds, _some(files))


def log_read_plan(logger: logging.Logger, reader_name: str, files: Sequence, notes: str) -> None:
    """One DEBUG line per read: the reader, the files, and what the optimiser pushed down or pruned."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("reading %d files (%d bytes) with %s%s", len(files), sum(file.size for file in files),
                     reader_name, _some(files))
        logger.debug("pushdown: %s", notes.replace("\n", "; ") if notes else "nothing to push down or prune")


def _some(files: Sequence) -> str:
    shown = ", ".join(file.display for file in files[:_SHOWN_FILES])
    more = f", ... ({len(files) - _SHOWN_FILES} more)" if len(files) > _SHOWN_FILES else ""
    return f": {shown}{more}" if files else ""
