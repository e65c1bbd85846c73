"""Keep secrets out of everything we show: errors, reprs, logs and saved MLTable files.

Storage credentials travel in ``storage_options`` (never in the plan), but they can still surface
inside text we did not write: a SAS token in a URL's query, a connection string echoed by a
library's exception, a bearer token in a header dump. :func:`redact` blanks every form we know of.

Example:
    >>> redact("GET https://acct.blob.core.windows.net/c/x.csv?sv=2024-01-01&sig=abc%3D failed")
    'GET https://acct.blob.core.windows.net/c/x.csv?sv=2024-01-01&sig=REDACTED failed'
    >>> redact("AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net")
    'AccountName=acct;AccountKey=REDACTED;EndpointSuffix=core.windows.net'
    >>> redact("https://ann:hunter22@host:8080/x.csv")
    'https://ann:REDACTED@host:8080/x.csv'
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "REDACTED"

# Query parameters that are a credential on their own (SAS signature, OAuth/OIDC tokens, API keys).
SECRET_QUERY_KEYS = frozenset({"sig", "signature", "token", "access_token", "code", "key", "api-key",
                               "apikey", "client_secret", "password", "sas", "sas_token"})
# Option names whose values are secrets, in storage_options, connection strings and YAML alike.
SECRET_OPTION_KEYS = frozenset({"account_key", "sas_token", "connection_string", "client_secret",
                                "password", "credential", "token", "key", "secret", "sig"})

_PATTERNS = [
    # user:password@ in a URL's authority.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@'\"]+:)[^/\s@'\"]+@"), r"\g<1>" + MASK + "@"),
    # key=value inside URLs and connection strings; stops at the next separator.
    (re.compile(r"(?i)(\b(?:sig|signature|access_token|client_secret|password|api-key|apikey)=)[^&;\s'\"<>]+"),
     r"\g<1>" + MASK),
    (re.compile(r"(?i)(\b(?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s'\"<>]+"), r"\g<1>" + MASK),
    (re.compile(r"(?i)(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\g<1>" + MASK),
    (re.compile(r"(?i)(['\"]?(?:account_key|sas_token|connection_string|client_secret|accountKey|sasToken|"
                r"secretKey)['\"]?\s*[:=]\s*['\"]?)[^'\",;\s}]+"), r"\g<1>" + MASK),
]


def redact(text: str, *secrets: str) -> str:
    """``text`` with every credential-looking value, and each of ``secrets`` verbatim, masked."""
    if not isinstance(text, str):
        text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def strip_secret_query(uri: str) -> str:
    """``uri`` without a SAS token or other credential in its query string, for saving and showing.

    Non-secret parameters stay; a SAS's own fields (``sv``, ``se``, ``sp``...) are useless without
    its signature, so a query holding ``sig`` is dropped whole.

    >>> strip_secret_query("https://h/c/x.csv?sv=1&se=2&sig=abc")
    'https://h/c/x.csv'
    >>> strip_secret_query("https://h/x.csv?version=3")
    'https://h/x.csv?version=3'
    """
    if "?" not in uri:
        return uri
    parts = urlsplit(uri)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(key.lower() in ("sig", "signature") for key, _ in pairs):
        pairs = []
    kept = [(key, value) for key, value in pairs if key.lower() not in SECRET_QUERY_KEYS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))


def safe_options(options: dict | None) -> dict:
    """``storage_options`` fit to show: secret values masked, anything else as given."""
    return {key: (MASK if _is_secret_key(key) and value is not None else value)
            for key, value in (options or {}).items()}


def _is_secret_key(key) -> bool:
    lowered = str(key).lower()
    return lowered in SECRET_OPTION_KEYS or lowered.endswith(("_key", "_secret", "_token", "password"))


# Libraries under our stores that log URLs or request details (fsspec's http logs every URL, with
# its SAS query, at DEBUG). A logger's filters see only records logged to it, so each is named.
_LOGGERS = ("fsspec", "fsspec.http", "fsspec.caching", "fsspec.asyn", "adlfs", "adlfs.spec", "adlfs.utils",
            "azure", "azure.core.pipeline.policies.http_logging_policy", "azure.identity", "aiohttp.client",
            "aiohttp.access", "urllib3.connectionpool", "mltable_lite")
_installed = False


class RedactingFilter:
    """A logging filter that rewrites each record's text with :func:`redact` (it never drops one)."""

    def filter(self, record) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's problem; leave it be
            return True
        cleaned = redact(message)
        if cleaned != message or record.exc_info:
            record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact("".join(__import__("traceback").format_exception(*record.exc_info)))
                record.exc_info = None
        return True


def install_log_redaction() -> None:
    """Scrub secrets from the records of the storage libraries' loggers (done once, when the
    first remote store opens)."""
    global _installed
    if _installed:
        return
    import logging

    redacting = RedactingFilter()
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(redacting)
    _installed = True
