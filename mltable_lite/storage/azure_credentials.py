"""Azure Storage credentials: which account, which blob service URL, which credential.

First match wins: ``storage_options`` ``connection_string``, ``account_key``, ``sas_token``,
``anon=True``, ``credential`` (an azure ``TokenCredential``); then the
``AZURE_STORAGE_CONNECTION_STRING`` environment variable; then azure-identity's
``DefaultAzureCredential`` if installed (never an interactive browser prompt); else anonymous.
Secrets are kept as SDK credential objects and as a list of strings to scrub from any text we
show; caches tell credentials apart by hashes, never by the secrets themselves.

Example:
    >>> access = resolve_access("acct", {"sas_token": "sv=2024&sig=abc"})
    >>> access.url, access.kind, access
    ('https://acct.blob.core.windows.net', 'sas', Access(acct, https://acct.blob.core.windows.net, sas))
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import inspect
import os
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import UserErrorException

__all__ = ["Access", "resolve_access", "CREDENTIAL_ORDER", "ENV_CONNECTION_STRING", "PUBLIC_SUFFIX",
           "STORAGE_SCOPE"]

ENV_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
PUBLIC_SUFFIX = "core.windows.net"
STORAGE_SCOPE = "https://storage.azure.com/.default"
CREDENTIAL_ORDER = (
    "Credentials are tried in this order, first match wins: storage_options 'connection_string', "
    "'account_key', 'sas_token' (with read and list permissions), 'anon': True (public containers), "
    "'credential' (an azure TokenCredential); then the AZURE_STORAGE_CONNECTION_STRING environment variable; "
    "then Microsoft Entra ID through azure-identity's DefaultAzureCredential "
    "(pip install mltable-lite[azure-identity], then 'az login' or a managed identity).")


@dataclass(frozen=True, eq=False)
class Access:
    """How to reach one account: its blob service URL (no secret in it) and the SDK credential."""

    account: str
    url: str
    credential: Any            # None means anonymous
    source: str                # what was used, for error messages
    fingerprint: tuple         # tells credentials apart in caches (hashes and ids, never secrets)
    secrets: tuple = ()        # scrubbed from any text we show
    kind: str = "anonymous"    # 'key', 'sas', 'token', 'anonymous'

    def __repr__(self) -> str:
        return f"Access({self.account}, {self.url}, {self.kind})"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def resolve_access(account: str | None, options: dict | None, *, blob_host: str | None = None,
             suffix: str | None = None, shown: str | None = None, custom_host: bool = False) -> Access:
    """The account, its blob service URL and the credential, from the URI and the options.

    ``blob_host`` is the blob service host the URI implies; ``custom_host`` says the URI's host
    implies none (a custom domain), so an endpoint must come from the options.
    """
    options = options or {}
    shown = shown or account or "the Azure Storage account"
    named = options.get("account_name")
    if account and named and named != account:
        raise UserErrorException(f"storage_options['account_name'] is '{named}' but '{shown}' is in account "
                                 f"'{account}'. Remove account_name or make them agree.")
    account = account or named
    endpoint = options.get("blob_endpoint")
    conn, conn_source = options.get("connection_string"), "storage_options['connection_string']"
    explicit = conn or any(options.get(key) for key in ("account_key", "sas_token", "anon", "credential"))
    if not explicit and os.environ.get(ENV_CONNECTION_STRING):
        conn, conn_source = os.environ[ENV_CONNECTION_STRING], f"the {ENV_CONNECTION_STRING} environment variable"
    if conn:
        fields = _parse_connection_string(conn, conn_source)
        conn_account = fields.get("accountname")
        if account and conn_account and conn_account != account:
            raise UserErrorException(
                f"The connection string in {conn_source} is for account '{conn_account}', but '{shown}' is in "
                f"account '{account}'. Give a connection string of account '{account}', or other credentials in "
                "storage_options ('account_key', 'sas_token', or 'anon': True for a public container).")
        account = account or conn_account
        endpoint = endpoint or fields.get("blobendpoint") or (
            None if blob_host or not account else
            f"{fields.get('defaultendpointsprotocol', 'https')}://{account}.blob."
            f"{fields.get('endpointsuffix', suffix or PUBLIC_SUFFIX)}")
    if not account and endpoint:
        account = _account_of_endpoint(endpoint)
    if not account:
        raise UserErrorException(
            f"'{shown}' does not say which storage account it is in. Write "
            "wasbs://<container>@<account>.blob.core.windows.net/<path> (or abfss://<filesystem>@<account>.dfs."
            "core.windows.net/<path>), or pass storage_options={'account_name': ...}.")
    if custom_host and not endpoint:
        raise UserErrorException(f"Cannot tell the blob service of '{shown}' from its host; pass "
                                 "storage_options={'blob_endpoint': 'https://<account>.blob.<suffix>'}.")
    url = (endpoint or f"https://{blob_host or f'{account}.blob.{suffix or PUBLIC_SUFFIX}'}").rstrip("/")
    if not url.lower().startswith(("https://", "http://")) or "?" in url:
        raise UserErrorException(f"The blob endpoint '{url.split('?')[0]}' must be an http(s) URL such as "
                                 "'https://<account>.blob.core.windows.net', without a query (a SAS goes in "
                                 "'sas_token').")
    if conn:
        return _from_connection_string(account, url, fields, conn, conn_source)
    return _from_options(account, url, options)


def _parse_connection_string(conn: str, source: str) -> dict:
    from azure.core.utils import parse_connection_string

    try:
        fields = parse_connection_string(conn, case_sensitive_keys=False)
    except (ValueError, TypeError, AttributeError):
        raise UserErrorException(f"The connection string in {source} is not valid: it must be "
                                 "'Key=Value;...' pairs such as AccountName=...;AccountKey=...") from None
    if fields.get("usedevelopmentstorage", "").lower() == "true":  # Azurite's well-known account
        proxy = fields.get("developmentstorageproxyuri", "http://127.0.0.1:10000").rstrip("/")
        fields.setdefault("accountname", "devstoreaccount1")
        fields.setdefault("accountkey", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFP"
                                        "TOtr/KBHBeksoGMGw==")
        fields.setdefault("blobendpoint", f"{proxy}/devstoreaccount1")
    return fields


def _account_of_endpoint(endpoint: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ".blob." in host:
        return host.split(".", 1)[0]
    first = parts.path.strip("/").split("/", 1)[0]  # path style: http://127.0.0.1:10000/<account>
    return first or None


def _from_connection_string(account: str, url: str, fields: dict, conn: str, source: str) -> Access:
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    key, sas = fields.get("accountkey"), fields.get("sharedaccesssignature")
    secrets = tuple(value for value in (conn, key, sas) if value)
    fingerprint = ("connection_string", _digest(conn), url)
    if key:
        _check_key(key, source)
        return Access(account, url, AzureNamedKeyCredential(account, key), source, fingerprint, secrets, "key")
    if sas:
        return Access(account, url, AzureSasCredential(sas.lstrip("?")), source, fingerprint, secrets, "sas")
    return Access(account, url, None, source, fingerprint, secrets)


def _from_options(account: str, url: str, options: dict) -> Access:
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    if options.get("account_key"):
        key = str(options["account_key"])
        _check_key(key, "storage_options['account_key']")
        return Access(account, url, AzureNamedKeyCredential(account, key), "storage_options['account_key']",
                       ("account_key", _digest(key), url), (key,), "key")
    if options.get("sas_token"):
        sas = str(options["sas_token"]).lstrip("?")
        return Access(account, url, AzureSasCredential(sas), "storage_options['sas_token']",
                       ("sas_token", _digest(sas), url), (sas,), "sas")
    if _truthy(options.get("anon")):
        return Access(account, url, None, "anonymous access (storage_options['anon'])", ("anon", url))
    credential = options.get("credential")
    if credential is not None:
        if not hasattr(credential, "get_token"):
            raise UserErrorException(
                "storage_options['credential'] must be an azure TokenCredential (such as "
                "azure.identity.DefaultAzureCredential()); give a key as 'account_key' and a SAS as 'sas_token'.")
        return Access(account, url, _asynchronous(credential), "storage_options['credential']",
                       ("credential", id(credential), url), (), "token")
    default = _default_credential()
    if default is None:
        return Access(account, url, None, "anonymous access (no credentials found; azure-identity is not "
                       "installed)", ("anon", url))
    return Access(account, url, default, "azure-identity's DefaultAzureCredential", ("default", url), (), "token")


def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))


def _check_key(key: str, source: str) -> None:
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise UserErrorException(f"The account key in {source} is not valid base64; copy the key from the "
                                 "storage account's 'Access keys' page.") from None


_DEFAULT_LOCK = threading.Lock()
_DEFAULT: list = []


def _default_credential():
    """azure-identity's async DefaultAzureCredential (one per process), or None without azure-identity."""
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            try:
                from azure.identity.aio import DefaultAzureCredential
            except ImportError:
                _DEFAULT.append(None)
            else:
                _DEFAULT.append(DefaultAzureCredential(exclude_interactive_browser_credential=True))
        return _DEFAULT[0]


def _asynchronous(credential):
    """adlfs' clients are asynchronous: a synchronous TokenCredential gets its tokens on a thread."""
    if inspect.iscoroutinefunction(getattr(credential, "get_token", None)):
        return credential
    return _ThreadedCredential(credential)


class _ThreadedCredential:
    """An async view of a synchronous TokenCredential (the event loop is never blocked by it)."""

    def __init__(self, credential):
        self.credential = credential

    async def get_token(self, *scopes, **kwargs):
        return await asyncio.to_thread(self.credential.get_token, *scopes, **kwargs)

    async def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"_ThreadedCredential({type(self.credential).__name__})"
