"""The Azure SDK's own retry policy, bounded by our network policy (:mod:`.network`).

Azure keeps the storage SDK's ``ExponentialRetry`` (what it retries and, unless
``retry_backoff_factor`` is given, its backoff of 15 s and more, as Azure Storage advises for
throttling). Three things are ours: every count is ``retry_total`` (the SDK caps status, connect
and read retries at 3 each besides), a request that times out twice is not tried again (a stalled
service fails in about twice ``read_timeout``, not after four timeouts and a minute of backoff),
and a ``Retry-After`` header is waited for instead of the computed backoff, up to
``retry_backoff_max``.

Example:
    >>> from mltable_lite.storage.network import NetworkPolicy
    >>> bounded_storage_retry(NetworkPolicy(retry_total=1)).total_retries
    1
    >>> azure_client_options(NetworkPolicy())["read_timeout"]
    20.0
"""

from __future__ import annotations

import asyncio

from .network import TIMEOUT_ATTEMPTS, NetworkPolicy, retry_after_seconds

__all__ = ["azure_client_options", "bounded_storage_retry"]


def azure_client_options(policy: NetworkPolicy) -> dict:
    """Keyword arguments for an Azure SDK client: the policy's timeouts and the bounded retry policy."""
    return {"connection_timeout": policy.connection_timeout, "read_timeout": policy.read_timeout,
            "retry_policy": bounded_storage_retry(policy), "connection_verify": policy.connection_verify}


def bounded_storage_retry(policy: NetworkPolicy):
    """An ``azure.storage.blob.aio.ExponentialRetry`` bounded by ``policy``."""
    from azure.storage.blob.aio import ExponentialRetry

    class BoundedExponentialRetry(ExponentialRetry):
        def increment(self, settings, request, response=None, error=None) -> bool:
            if _timed_out(error):
                settings["timeouts"] = settings.get("timeouts", 0) + 1
                if settings["timeouts"] >= TIMEOUT_ATTEMPTS:
                    return False
            retry_after = None if response is None else retry_after_seconds(response.headers.get("Retry-After"))
            settings["retry_after"] = retry_after
            return super().increment(settings, request, response, error)

        def get_backoff_time(self, settings) -> float:
            retry_after = settings.get("retry_after")
            if retry_after is not None:
                return policy.backoff(settings["count"], retry_after)
            if policy.backoff_given:
                return policy.backoff(settings["count"])
            return super().get_backoff_time(settings)

    total = policy.retry_total
    return BoundedExponentialRetry(retry_total=total, retry_connect=total, retry_read=total, retry_status=total)


def _timed_out(error) -> bool:
    """Whether an SDK error is a time-out (older azure-core releases wrap them in plain
    ``ServiceResponseError``; the cause tells)."""
    from azure.core.exceptions import ServiceRequestTimeoutError, ServiceResponseTimeoutError

    if error is None:
        return False
    cause = getattr(error, "inner_exception", None) or error.__cause__
    return isinstance(error, (ServiceRequestTimeoutError, ServiceResponseTimeoutError)) or isinstance(
        cause, asyncio.TimeoutError)
