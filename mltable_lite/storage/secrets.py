"""Keep secrets out of everything we show: errors, reprs, logs and saved MLTable files.

Storage credentials travel in ``storage_options`` (never in the plan), but they can still surface
inside text we did not write: a SAS token in a URL's query, a connection string echoed by a
library's exception, a bearer token in a header dump. :func:`redact` blanks every form we know of.

Example:
    >>> redact("GET https://acct.blob.core.windows.net/c/x.csv?sv=2024-01-01&sig=abc%3D failed")
    'GET https://acct.blob.core.windows.net/c/x.csv?sv=2024-01-01&sig=REDACTED failed'
    >>> redact("AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net")
    'AccountName=acct;AccountKey=REDACTED;EndpointSuffix=core.windows.net'
    >>> redact("https://ann:hunter22@host:8080/x.csv?page=2&api_token=t0k3n")
    'https://ann:REDACTED@host:8080/x.csv?page=2&api_token=REDACTED'
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "REDACTED"

# Query parameters that are a credential on their own (SAS signature, OAuth/OIDC tokens, API keys):
# these names, and any name ending in one of the suffixes (x-amz-signature, refresh_token...).
SECRET_QUERY_KEYS = frozenset({"sig", "signature", "token", "access_token", "code", "key", "api-key",
                               "apikey", "client_secret", "password", "sas", "sas_token", "secret", "pwd",
                               "passwd", "auth", "authorization", "credential", "credentials", "session"})
_SECRET_SUFFIXES = ("token", "_key", "apikey", "secret", "password", "passwd", "signature", "_sig", "credential")
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
# name=value in a URL query (after ? or &): masked when the name is a secret's (is_secret_query_key).
_QUERY_PAIR = re.compile(r"([?&])([^=&#\s'\"<>?]+)=([^&#\s'\"<>]*)")


def redact(text: str, *secrets: str) -> str:
    """``text`` with every credential-looking value, and each of ``secrets`` verbatim, masked."""
    if not isinstance(text, str):
        text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    if "=" in text:
        text = _QUERY_PAIR.sub(_masked_pair, text)
    return text


def _masked_pair(match: re.Match) -> str:
    separator, name, value = match.groups()
    if value and value != MASK and is_secret_query_key(name):
        return f"{separator}{name}={MASK}"
    return match.group()


def is_secret_query_key(name: str) -> bool:
    """Whether the query parameter ``name`` carries a credential.

    >>> [is_secret_query_key(n) for n in ("sig", "X-Amz-Security-Token", "refresh_token", "page", "monkey")]
    [True, True, True, False, False]
    """
    lowered = name.lower().replace("-", "_")
    return lowered in SECRET_QUERY_KEYS or lowered.replace("_", "-") in SECRET_QUERY_KEYS or lowered.endswith(
        _SECRET_SUFFIXES)


def strip_secret_query(uri: str) -> str:
    """``uri`` without its credentials, for saving and showing: no password in ``user:password@``
    (the user stays) and no credential in its query string.

    Non-secret parameters stay; a SAS's own fields (``sv``, ``se``, ``sp``...) are useless without
    its signature, so a query holding ``sig`` is dropped whole. Local paths are returned as given.

    >>> strip_secret_query("https://h/c/x.csv?sv=1&se=2&sig=abc")
    'https://h/c/x.csv'
    >>> strip_secret_query("https://h/x.csv?version=3&access_token=t")
    'https://h/x.csv?version=3'
    >>> strip_secret_query("http://ann:hunter22@h:8080/x.csv")
    'http://ann@h:8080/x.csv'
    """
    if "://" not in uri or uri[:5].lower() == "file:" or ("?" not in uri and "@" not in uri):
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:  # not a well-formed URL: mask what looks secret in the text
        return redact(uri)
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = userinfo.split(":", 1)[0] + "@" + host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [] if any(key.lower() in ("sig", "signature") for key, _ in pairs) else [
            (key, value) for key, value in pairs if not is_secret_query_key(key)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if netloc == parts.netloc and query == parts.query:
        return uri
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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
