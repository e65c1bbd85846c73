"""A small client for the Azure ML control plane (ARM): datastores, their secrets, data asset versions.

Stdlib only (``urllib.request`` + ``json``). The bearer token comes from a credential object with
``get_token(scope)`` (azure-identity's, an ``ml_client``'s, or any look-alike); the endpoint can be
pointed elsewhere (sovereign clouds, a local test server). Every failure is a ``UserErrorException``
that says what is missing or which role is needed; no token or secret ever appears in one.

Example:
    >>> client = arm_client_for({"credential": DefaultAzureCredential()})          # doctest: +SKIP
    >>> client.get_datastore(workspace, "workspaceblobstore")["properties"]["datastoreType"]  # doctest: +SKIP
    'AzureBlob'
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import UserErrorException
from .secrets import redact

API_VERSION = "2024-04-01"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
ARM_ENDPOINT_ENV = "MLTABLE_LITE_ARM_ENDPOINT"
TIMEOUT_SECONDS = 30
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_ATTEMPTS = 3
_TOKEN_MARGIN_SECONDS = 300

# What each call needs, for the message of a 401/403.
_ROLE_HINTS = {
    "datastore": "read datastores (Microsoft.MachineLearningServices/workspaces/datastores/read), e.g. the "
                 "'AzureML Data Scientist' or 'Reader' role on the workspace",
    "secrets": "list datastore secrets (Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action), "
               "e.g. the 'AzureML Data Scientist' or 'Contributor' role on the workspace ('Reader' is not enough)",
    "data": "read data assets (Microsoft.MachineLearningServices/workspaces/data/versions/read), e.g. the "
            "'AzureML Data Scientist' or 'Reader' role on the workspace",
}


class ArmClient:
    """Calls the Azure ML REST API of one ARM endpoint with one credential."""

    def __init__(self, endpoint: str, credential, scope: str | None = None):
        self.endpoint = endpoint.rstrip("/")
        self._credential = credential
        self._scope = scope or _scope_of(self.endpoint)
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        host = (urlsplit(self.endpoint).hostname or "").lower()
        # A local endpoint is never reached through a proxy (tests, port forwards).
        handlers = [urllib.request.ProxyHandler({})] if host in ("127.0.0.1", "localhost", "::1") else []
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"ArmClient({self.endpoint})"

    # --- the calls ------------------------------------------------------------------------------

    def get_datastore(self, workspace, name: str) -> dict:
        """The datastore's JSON (``properties.datastoreType``, ``accountName``...), without secrets."""
        return self._call("GET", f"{workspace.arm_path}/datastores/{quote(name, safe='')}",
                          what=f"datastore '{name}'", workspace=workspace, role="datastore")

    def list_secrets(self, workspace, name: str) -> dict:
        """The datastore's secrets: ``{"secretsType": "AccountKey", "key": ...}`` or ``{"secretsType": "Sas", ...}``."""
        return self._call("POST", f"{workspace.arm_path}/datastores/{quote(name, safe='')}/listSecrets",
                          what=f"datastore '{name}'", workspace=workspace, role="secrets", body={})

    def get_data_version(self, workspace, name: str, version: str) -> dict:
        """A data asset version's JSON (``properties.dataType``, ``properties.dataUri``)."""
        return self._call("GET", f"{workspace.arm_path}/data/{quote(name, safe='')}/versions/{quote(version, safe='')}",
                          what=f"data asset '{name}' version {version}", workspace=workspace, role="data")

    def latest_data_version(self, workspace, name: str) -> str:
        """The latest version of a data asset (its container's ``properties.latestVersion``)."""
        body = self._call("GET", f"{workspace.arm_path}/data/{quote(name, safe='')}",
                          what=f"data asset '{name}'", workspace=workspace, role="data")
        latest = (body.get("properties") or {}).get("latestVersion")
        if not latest:
            raise UserErrorException(f"The data asset '{name}' in workspace {workspace} has no version yet.")
        return str(latest)

    # --- plumbing -------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, what: str, workspace, role: str, body: dict | None = None) -> dict:
        url = f"{self.endpoint}/{path}?api-version={API_VERSION}"
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(_ATTEMPTS):
            request = urllib.request.Request(url, data=data, method=method, headers={
                "Authorization": f"Bearer {self._bearer_token()}", "Accept": "application/json",
                **({"Content-Type": "application/json"} if data is not None else {})})
            try:
                with self._opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                    return _json_of(response.read(), what)
            except urllib.error.HTTPError as error:
                status, detail = error.code, _error_detail(error)
                retry_after = error.headers.get("Retry-After") if error.headers else None
                if status in _RETRIED_STATUSES and attempt + 1 < _ATTEMPTS:
                    _pause(retry_after, attempt)
                    continue
                raise self._http_error(status, detail, what, workspace, role) from None
            except (urllib.error.URLError, OSError) as error:
                if attempt + 1 < _ATTEMPTS:
                    _pause(None, attempt)
                    continue
                reason = getattr(error, "reason", error)
                raise UserErrorException(
                    f"Cannot reach the Azure ML control plane at {self.endpoint} to resolve {what}: {reason}. "
                    f"Check the network, or set storage_options['arm_endpoint'] / {ARM_ENDPOINT_ENV}.") from None
        raise AssertionError("unreachable")

    def _http_error(self, status: int, detail: str, what: str, workspace, role: str) -> UserErrorException:
        suffix = f" ({detail})" if detail else ""
        if status == 404:
            return UserErrorException(f"The {what} does not exist in workspace {workspace}{suffix}.",
                                      error_code="ScriptExecution.StreamAccess.NotFound")
        if status in (401, 403):
            return UserErrorException(
                f"Permission denied (HTTP {status}) resolving {what} in workspace {workspace}: the signed-in "
                f"identity must be allowed to {_ROLE_HINTS[role]}{suffix}.",
                error_code="ScriptExecution.StreamAccess.Authentication")
        return UserErrorException(f"The Azure ML control plane answered HTTP {status} for {what} in workspace "
                                  f"{workspace}{suffix}.")

    def _bearer_token(self) -> str:
        with self._lock:
            if self._token is not None and self._token[1] - _TOKEN_MARGIN_SECONDS > time.time():
                return self._token[0]
            try:
                answer = self._credential.get_token(self._scope)
            except Exception as error:  # azure-identity raises its own types; all mean "not signed in"
                raise UserErrorException(
                    f"Cannot get an Azure token for the Azure ML control plane ({type(error).__name__}: "
                    f"{redact(str(error)).splitlines()[0] if str(error) else ''}). Sign in with 'az login', or pass "
                    "storage_options={'credential': ...} or ml_client.") from None
            token = getattr(answer, "token", answer)
            expires = float(getattr(answer, "expires_on", 0) or 0) or time.time() + 600
            self._token = (token, expires)
            return token


def _scope_of(endpoint: str) -> str:
    return endpoint.rstrip("/") + "/.default"


def _pause(retry_after: str | None, attempt: int) -> None:
    try:
        seconds = min(float(retry_after), 10.0) if retry_after else 0.5 * (2 ** attempt)
    except ValueError:
        seconds = 0.5 * (2 ** attempt)
    time.sleep(seconds)


def _json_of(raw: bytes, what: str) -> dict:
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        raise UserErrorException(f"The Azure ML control plane answered with something that is not JSON for "
                                 f"{what}.") from None
    return value if isinstance(value, dict) else {}


def _error_detail(error: urllib.error.HTTPError) -> str:
    """``code: message`` from an ARM error body, scrubbed; empty when there is none."""
    try:
        body = json.loads(error.read().decode("utf-8"))
        inner = body.get("error") or {}
        text = ": ".join(str(part) for part in (inner.get("code"), inner.get("message")) if part)
    except Exception:
        return ""
    return redact(text)[:500]


# --- which endpoint and credential --------------------------------------------------------------


def arm_endpoint_for(storage_options: dict | None) -> str:
    """Option ``arm_endpoint``, else env ``MLTABLE_LITE_ARM_ENDPOINT``, else ``https://management.azure.com``."""
    options = storage_options or {}
    return (options.get("arm_endpoint") or os.environ.get(ARM_ENDPOINT_ENV) or DEFAULT_ARM_ENDPOINT).rstrip("/")


def credential_for(storage_options: dict | None):
    """The credential for ARM: option ``credential``, else ``ml_client``'s, else the one given to
    :func:`set_default_credential`, else azure-identity's ``DefaultAzureCredential``."""
    chosen = explicit_credential(storage_options)
    return chosen if chosen is not None else _default_credential()


def explicit_credential(storage_options: dict | None):
    """The credential the caller chose (option ``credential``, ``ml_client``'s, :func:`set_default_credential`'s),
    or ``None`` when the default chain would be used."""
    options = storage_options or {}
    if options.get("credential") is not None:
        return options["credential"]
    client = options.get("ml_client")
    if client is not None and getattr(client, "_credential", None) is not None:
        return client._credential
    return _CHOSEN_CREDENTIAL


_DEFAULT_CREDENTIAL = None
_CHOSEN_CREDENTIAL = None


def set_default_credential(credential: Any) -> None:
    """Use ``credential`` (anything with ``get_token(scope)``) for ARM whenever ``storage_options`` name
    none, as for tables made by ``from_*_files``, which take no options; ``None`` restores
    azure-identity's ``DefaultAzureCredential``.

    Example:
        >>> set_default_credential(ManagedIdentityCredential(client_id="..."))   # doctest: +SKIP
    """
    global _CHOSEN_CREDENTIAL
    if credential is not None and not hasattr(credential, "get_token"):
        raise UserErrorException("set_default_credential needs an azure credential (an object with get_token), "
                                 f"not {type(credential).__name__}")
    _CHOSEN_CREDENTIAL = credential
_CLIENTS: dict[tuple, ArmClient] = {}
_CLIENTS_LOCK = threading.Lock()


def _default_credential():
    global _DEFAULT_CREDENTIAL
    if _DEFAULT_CREDENTIAL is None:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise UserErrorException(
                "Resolving azureml:// URIs through the workspace needs an Azure credential: install azure-identity "
                "(pip install azure-identity) and sign in with 'az login', or pass storage_options={'credential': ...} "
                "or ml_client, or register the datastore locally (register_datastore or a datastores.yaml).") from None
        _DEFAULT_CREDENTIAL = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    return _DEFAULT_CREDENTIAL


def arm_client_for(storage_options: dict | None) -> ArmClient:
    """One client per (endpoint, credential), so its token is reused across calls."""
    options = storage_options or {}
    endpoint = arm_endpoint_for(options)
    credential = credential_for(options)
    scope = options.get("arm_scope") or (_scope_of(DEFAULT_ARM_ENDPOINT) if endpoint == DEFAULT_ARM_ENDPOINT else None)
    key = (endpoint, id(credential), scope)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None or client._credential is not credential:
            client = _CLIENTS[key] = ArmClient(endpoint, credential, scope)
        return client
