"""An Azure Resource Manager look-alike for the Azure ML calls mltable_lite makes, on 127.0.0.1.

It answers, from in-memory dicts a test fills, with the JSON shapes of the real
``Microsoft.MachineLearningServices`` API (api-version 2024-04-01):

* ``GET  .../workspaces/{ws}/datastores/{name}``               → the datastore, no secrets
* ``POST .../workspaces/{ws}/datastores/{name}/listSecrets``   → ``{"secretsType": "AccountKey", "key": ...}``
* ``GET  .../workspaces/{ws}/data/{name}``                     → the data container (``latestVersion``)
* ``GET  .../workspaces/{ws}/data/{name}/versions/{v}``        → the version (``dataType``, ``dataUri``)

Like ARM it insists on ``Authorization: Bearer <token>`` (401 ``InvalidAuthenticationToken``) and an
``api-version`` (400), says 404 ``ResourceNotFound`` for what it does not hold and 403
``AuthorizationFailed`` for resources a test marks forbidden. Every request is recorded, so tests can
assert what was (not) asked and that caching works.

Fixtures: ``arm_server`` (fresh state per test, one server per session) and ``arm_server_session``.

Example:
    def test_x(arm_server):
        arm_server.add_blob_datastore(("sub", "rg", "ws"), "store", account="acct", container="data",
                                      credentials_type="AccountKey", secret="a2V5")
        options = {"credential": arm_server.credential(), "arm_endpoint": arm_server.endpoint}
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import namedtuple
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

try:
    from azure.core.credentials import AccessToken
except ImportError:  # the same shape
    AccessToken = namedtuple("AccessToken", ["token", "expires_on"])

__all__ = ["arm_server", "arm_server_session", "ArmServer", "StaticTokenCredential", "AccessToken"]

API_VERSIONS = frozenset({"2024-04-01", "2024-10-01", "2023-10-01"})
_PROVIDER = "providers/Microsoft.MachineLearningServices"
_WORKSPACE = (r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
              r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)")
_ROUTES = [
    ("GET", re.compile(rf"(?i)^{_WORKSPACE}/datastores/(?P<name>[^/]+)$"), "datastore"),
    ("POST", re.compile(rf"(?i)^{_WORKSPACE}/datastores/(?P<name>[^/]+)/listSecrets$"), "secrets"),
    ("GET", re.compile(rf"(?i)^{_WORKSPACE}/data/(?P<name>[^/]+)$"), "data_container"),
    ("GET", re.compile(rf"(?i)^{_WORKSPACE}/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$"), "data_version"),
]


class StaticTokenCredential:
    """A credential like azure-identity's: ``get_token(*scopes)`` → ``AccessToken``; records the scopes."""

    def __init__(self, token: str, lifetime_seconds: int = 3600):
        self._token = token
        self._lifetime = lifetime_seconds
        self.scopes: list[tuple] = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.append(scopes)
        return AccessToken(self._token, int(time.time()) + self._lifetime)

    def __repr__(self) -> str:
        return "StaticTokenCredential()"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    api_version: str | None
    authorized: bool
    status: int


def _workspace_key(workspace) -> tuple[str, str, str]:
    if isinstance(workspace, (tuple, list)):
        subscription, resource_group, name = workspace
    else:
        subscription, resource_group, name = workspace.subscription, workspace.resource_group, workspace.name
    return subscription.lower(), resource_group.lower(), name.lower()


class ArmServer:
    """The server's state and helpers; ``endpoint`` is its base URL, ``token`` the bearer token it accepts."""

    def __init__(self):
        self.token = "arm-test-token-" + secrets.token_hex(16)
        self._lock = threading.Lock()
        self.reset()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="arm-server", daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self.datastores: dict[tuple, dict] = {}
            self.secrets: dict[tuple, dict] = {}
            self.data_versions: dict[tuple, dict] = {}
            self.forbidden: set[tuple] = set()   # (kind, key) answered 403
            self.requests: list[Request] = []

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def credential(self) -> StaticTokenCredential:
        return StaticTokenCredential(self.token)

    def options(self, **more) -> dict:
        """storage_options pointing mltable_lite at this server with a valid credential."""
        return {"credential": self.credential(), "arm_endpoint": self.endpoint, **more}

    # --- filling it -----------------------------------------------------------------------------

    def add_datastore(self, workspace, name: str, properties: dict, secrets_body: dict | None = None) -> None:
        sub, rg, ws = _workspace_key(workspace)
        resource_id = f"/subscriptions/{sub}/resourceGroups/{rg}/{_PROVIDER}/workspaces/{ws}/datastores/{name}"
        body = {"id": resource_id, "name": name, "type": "Microsoft.MachineLearningServices/workspaces/datastores",
                "properties": {"description": None, "tags": {}, "properties": {}, "isDefault": False,
                               "serviceDataAccessAuthIdentity": "None", **properties},
                "systemData": {"createdAt": "2024-05-01T10:00:00.0000000Z", "createdBy": "someone@example.com",
                               "createdByType": "User"}}
        with self._lock:
            self.datastores[(sub, rg, ws, name.lower())] = body
            if secrets_body is not None:
                self.secrets[(sub, rg, ws, name.lower())] = secrets_body

    def add_blob_datastore(self, workspace, name: str, *, account: str, container: str,
                           endpoint: str = "core.windows.net", protocol: str = "https",
                           credentials_type: str = "AccountKey", secret: str | None = None,
                           adls_gen2: bool = False) -> None:
        """An AzureBlob (or AzureDataLakeGen2) datastore; ``secret`` is the account key or SAS token."""
        credentials = {"credentialsType": credentials_type}
        properties = {"datastoreType": "AzureDataLakeGen2" if adls_gen2 else "AzureBlob", "accountName": account,
                      "endpoint": endpoint, "protocol": protocol, "credentials": credentials,
                      **({"filesystem": container} if adls_gen2 else {"containerName": container})}
        secrets_body = None
        if credentials_type == "AccountKey":
            secrets_body = {"secretsType": "AccountKey", "key": secret}
        elif credentials_type == "Sas":
            secrets_body = {"secretsType": "Sas", "sasToken": secret}
        self.add_datastore(workspace, name, properties, secrets_body)

    def add_data_asset(self, workspace, name: str, version: str, data_uri: str, data_type: str = "mltable") -> None:
        sub, rg, ws = _workspace_key(workspace)
        body = {"id": f"/subscriptions/{sub}/resourceGroups/{rg}/{_PROVIDER}/workspaces/{ws}/data/{name}/versions/"
                      f"{version}",
                "name": str(version), "type": "Microsoft.MachineLearningServices/workspaces/data/versions",
                "properties": {"dataType": data_type, "dataUri": data_uri, "isAnonymous": False,
                               "isArchived": False, "tags": {}, "properties": {}, "description": None}}
        with self._lock:
            self.data_versions[(sub, rg, ws, name.lower(), str(version).lower())] = body

    def forbid(self, kind: str, workspace, name: str) -> None:
        """Answer 403 for ``kind`` ('datastore', 'secrets', 'data') of ``name``."""
        with self._lock:
            self.forbidden.add((kind, *_workspace_key(workspace), name.lower()))

    def requests_to(self, fragment: str) -> list[Request]:
        return [request for request in self.requests if fragment.lower() in request.path.lower()]

    # --- answering ------------------------------------------------------------------------------

    def answer(self, method: str, raw_path: str, authorization: str | None) -> tuple[int, dict]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        api_version = (parse_qs(parts.query).get("api-version") or [None])[0]
        authorized = authorization == f"Bearer {self.token}"
        status, body = self._route(method, path, api_version, authorized)
        with self._lock:
            self.requests.append(Request(method, path, api_version, authorized, status))
        return status, body

    def _route(self, method: str, path: str, api_version: str | None, authorized: bool) -> tuple[int, dict]:
        if not authorized:
            return 401, _error("InvalidAuthenticationToken", "The access token is invalid or missing.")
        if api_version is None:
            return 400, _error("MissingApiVersionParameter",
                               "The api-version query parameter (?api-version=) is required for all requests.")
        if api_version not in API_VERSIONS:
            return 400, _error("InvalidApiVersionParameter", f"The api-version '{api_version}' is invalid. "
                               f"The supported versions are '{', '.join(sorted(API_VERSIONS))}'.")
        for route_method, pattern, kind in _ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                return getattr(self, f"_answer_{kind}")(match)
            if match:
                return 405, _error("MethodNotAllowed", f"The method {method} is not allowed here.")
        return 404, _error("InvalidResourceType", f"No route for '{path}'.")

    def _key(self, match: re.Match, *extra) -> tuple:
        return (match["sub"].lower(), match["rg"].lower(), match["ws"].lower(), match["name"].lower(),
                *(value.lower() for value in extra))

    def _denied(self, kind: str, match: re.Match, action: str) -> tuple[int, dict] | None:
        if (kind, *self._key(match)) in self.forbidden:
            return 403, _error("AuthorizationFailed", f"The client 'someone@example.com' with object id "
                               f"'00000000-0000-0000-0000-000000000000' does not have authorization to perform action "
                               f"'Microsoft.MachineLearningServices/{action}' over scope '{match.group(0)}' or the "
                               "scope is invalid.")
        return None

    def _answer_datastore(self, match):
        denied = self._denied("datastore", match, "workspaces/datastores/read")
        if denied:
            return denied
        body = self.datastores.get(self._key(match))
        if body is None:
            return 404, _error("ResourceNotFound", f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
                               f"{match['ws']}/datastores/{match['name']}' under resource group '{match['rg']}' "
                               "was not found.")
        return 200, body

    def _answer_secrets(self, match):
        denied = self._denied("secrets", match, "workspaces/datastores/listSecrets/action")
        if denied:
            return denied
        if self._key(match) not in self.datastores:
            return 404, _error("ResourceNotFound", f"Datastore '{match['name']}' was not found.")
        return 200, self.secrets.get(self._key(match)) or {"secretsType": "None"}

    def _answer_data_container(self, match):
        denied = self._denied("data", match, "workspaces/data/read")
        if denied:
            return denied
        versions = [key[4] for key in self.data_versions if key[:4] == self._key(match)]
        if not versions:
            return 404, _error("ResourceNotFound", f"Data container '{match['name']}' was not found.")
        latest = max(versions, key=lambda version: (version.isdigit(), int(version) if version.isdigit() else 0,
                                                    version))
        return 200, {"name": match["name"], "type": "Microsoft.MachineLearningServices/workspaces/data",
                     "properties": {"dataType": "mltable", "latestVersion": latest, "nextVersion": None,
                                    "isArchived": False}}

    def _answer_data_version(self, match):
        denied = self._denied("data", match, "workspaces/data/versions/read")
        if denied:
            return denied
        body = self.data_versions.get(self._key(match, match["version"]))
        if body is None:
            return 404, _error("ResourceNotFound", f"Data version {match['name']}:{match['version']} (dataContainer"
                               f"Name:version) not found.")
        return 200, body


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _handler_for(server: ArmServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, body = server.answer(self.command, self.path, self.headers.get("Authorization"))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-ms-request-id", secrets.token_hex(8))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format, *args):  # quiet
            pass

    return Handler


@pytest.fixture(scope="session")
def arm_server_session():
    server = ArmServer()
    yield server
    server.close()


@pytest.fixture
def arm_server(arm_server_session):
    """The session's ARM look-alike, emptied for this test."""
    arm_server_session.reset()
    yield arm_server_session
    arm_server_session.reset()
