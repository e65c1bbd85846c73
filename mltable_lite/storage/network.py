"""Timeouts and bounded retries for every remote request, from ``storage_options``.

One policy for every store, with the Azure SDK's option names (so one ``storage_options`` dict
tunes HTTP(S) and Azure alike):

==========================  =======  ================================================================
option                      default  meaning
==========================  =======  ================================================================
``connection_timeout``      10       seconds to open a connection
``read_timeout``            20       seconds without a byte from the server (before the answer or
                                     inside a body): a stalled server
``retry_total``             3        retries after the first attempt (0: none)
``retry_backoff_factor``    0.5      the first wait in seconds; it doubles each retry (±20% jitter)
``retry_backoff_max``       30       the longest wait, and the longest ``Retry-After`` honoured
``connection_verify``       True     check TLS certificates; a path: the CA bundle to trust (a
                                     private CA); False: do not check (test servers only)
==========================  =======  ================================================================

What is retried: answers 408, 429, 500, 502, 503, 504 (waiting what ``Retry-After`` asks, capped
at ``retry_backoff_max``), connections refused, reset or dropped, and bodies cut short. A request
that times out is tried once more only: a stalled server therefore fails after about twice
``read_timeout`` (40 s by default), never minutes later or never. Azure keeps the SDK's own retry
policy (its backoff starts at 15 s, as Azure Storage advises for throttling) with these timeouts,
the same limit on timed-out attempts, ``retry_total``, and ``Retry-After`` honoured; it uses
``retry_backoff_factor`` only when it is given.

Example:
    >>> policy = NetworkPolicy.from_options({"read_timeout": 5, "retry_total": 1})
    >>> policy.read_timeout, policy.retry_total, policy.connection_timeout
    (5.0, 1, 10.0)
    >>> retry_after_seconds("2"), retry_after_seconds(None)
    (2.0, None)
"""

from __future__ import annotations

import email.utils
import functools
import random
import time
from dataclasses import dataclass, fields

from ..errors import UserErrorException

__all__ = ["NetworkPolicy", "RETRIED_STATUSES", "retry_after_seconds", "OPTION_NAMES"]

RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TIMEOUT_ATTEMPTS = 2   # a request that times out this many times fails: a stalled server stays stalled


@dataclass(frozen=True)
class NetworkPolicy:
    """Timeouts and retries for one store (see the module doc)."""

    connection_timeout: float = 10.0
    read_timeout: float = 20.0
    retry_total: int = 3
    retry_backoff_factor: float = 0.5
    retry_backoff_max: float = 30.0
    connection_verify: bool | str = True
    backoff_given: bool = False    # whether retry_backoff_factor came from the options (Azure keeps its own)

    @classmethod
    def from_options(cls, options: dict | None) -> "NetworkPolicy":
        """The policy ``storage_options`` ask for; a bad value raises :class:`UserErrorException`."""
        options = options or {}
        values = {}
        for name in _NUMBERS:
            if options.get(name) is None:
                continue
            value = options[name]
            wanted = int if name == "retry_total" else float
            try:
                if isinstance(value, bool):
                    raise ValueError
                number = wanted(value)
                if not 0 <= number < float("inf") or (number == 0 and name.endswith("_timeout")):
                    raise ValueError
            except (TypeError, ValueError, OverflowError):
                kind = ("a whole number ≥ 0" if wanted is int else
                        "a number of seconds > 0" if name.endswith("_timeout") else "a number of seconds ≥ 0")
                raise UserErrorException(f"storage_options['{name}'] must be {kind}, not {value!r}.") from None
            values[name] = number
        verify = options.get("connection_verify", True)
        if verify is None:
            verify = True
        if not isinstance(verify, (bool, str)) or verify == "":
            raise UserErrorException("storage_options['connection_verify'] must be True, False or the path of a CA "
                                     f"bundle file, not {verify!r}.")
        return cls(**values, connection_verify=verify, backoff_given="retry_backoff_factor" in values)

    def backoff(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first): what ``Retry-After``
        asks when the server said, else exponential with jitter; never more than ``retry_backoff_max``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_backoff_max)
        wait = self.retry_backoff_factor * 2 ** (retry - 1)
        return min(wait * random.uniform(0.8, 1.2), self.retry_backoff_max)

    def aiohttp_timeout(self):
        """The per-request ``aiohttp.ClientTimeout``: no total (a big body may take long), only
        bounds on connecting and on silence."""
        import aiohttp

        return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=self.connection_timeout,
                                     sock_read=self.read_timeout)


    def aiohttp_ssl(self):
        """aiohttp's ``ssl`` argument for ``connection_verify``: True, False or a context trusting the bundle."""
        if isinstance(self.connection_verify, bool):
            return self.connection_verify
        return _ssl_context(self.connection_verify)


OPTION_NAMES = tuple(f.name for f in fields(NetworkPolicy) if f.name != "backoff_given")
_NUMBERS = tuple(name for name in OPTION_NAMES if name != "connection_verify")


@functools.lru_cache(maxsize=8)
def _ssl_context(bundle: str):
    import ssl

    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as error:
        raise UserErrorException(f"storage_options['connection_verify'] names '{bundle}', which is not a readable "
                                 f"CA bundle ({error}).") from None


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` (delay-seconds or an HTTP date) in seconds from now; None when absent or unreadable.

    Example:
        >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT")   # in the past: no wait
        0.0
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - time.time())
