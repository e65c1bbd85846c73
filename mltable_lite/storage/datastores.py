"""Datastores: what an ``azureml://`` datastore name means, found by a chain of resolvers.

For a ``(workspace, name)`` the first resolver that knows the name answers:

1. the in-code registry (:func:`register_datastore`);
2. the registry file: env ``MLTABLE_LITE_DATASTORES``, else ``$XDG_CONFIG_HOME/mltable_lite/datastores.yaml``
   (``~/.config/...`` when ``XDG_CONFIG_HOME`` is unset); see ``docs/azureml.md`` for its format;
3. the workspace's control plane (ARM), cached per process.

A :class:`Datastore` then says where its files are: a storage URI and options for the Azure store, or a
local folder. Secrets live only in :class:`DatastoreCredential` and never show in a repr.

Example:
    >>> register_datastore("shared", kind="local", folder="/mnt/shared")
    Datastore(name='shared', kind='local', folder='/mnt/shared', credential=DatastoreCredential(identity))
    >>> resolve_datastore(None, "shared").storage_uri("a/b.csv")
    'file:///mnt/shared/a/b.csv'
    >>> unregister_datastore("shared")
"""

from __future__ import annotations

import ipaddress
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserErrorException

KINDS = ("azure_blob", "adls_gen2", "local")
DEFAULT_ENDPOINT = "core.windows.net"
REGISTRY_ENV = "MLTABLE_LITE_DATASTORES"
# ARM's datastoreType → our kind.
ARM_KINDS = {"azureblob": "azure_blob", "azuredatalakegen2": "adls_gen2"}
CREDENTIAL_KINDS = ("account_key", "sas", "connection_string", "service_principal", "anonymous", "identity")


@dataclass(frozen=True)
class DatastoreCredential:
    """How the storage is reached: a kind, and for key/SAS/connection string/service principal, the secret.

    ``identity`` means no secret: the storage client's own credential chain (or the ``credential`` option).
    """

    kind: str = "identity"
    secret: str | None = field(default=None, repr=False, compare=False)
    tenant_id: str | None = None
    client_id: str | None = None

    def __repr__(self) -> str:
        return f"DatastoreCredential({self.kind})"

    __str__ = __repr__


@dataclass(frozen=True)
class Datastore:
    """A datastore resolved to storage. ``source`` says which resolver answered."""

    name: str
    kind: str
    account: str = ""
    container: str = ""
    endpoint: str = DEFAULT_ENDPOINT
    protocol: str = "https"
    folder: str = ""
    credential: DatastoreCredential = field(default_factory=DatastoreCredential)
    source: str = field(default="", compare=False)

    def __repr__(self) -> str:  # only the fields that mean something for this kind; never a secret
        shown = ["name", "kind", "folder"] if self.kind == "local" else \
            ["name", "kind", "account", "container", "endpoint", "protocol"]
        parts = [f"{name}={getattr(self, name)!r}" for name in shown] + [f"credential={self.credential!r}"]
        return f"Datastore({', '.join(parts)})"

    __str__ = __repr__

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def blob_endpoint(self) -> str:
        """The blob service URL: ``https://<account>.blob.<endpoint>``, or path-style
        ``http://<host:port>/<account>`` when the endpoint is an IP address or localhost (Azurite)."""
        if path_style_endpoint(self.endpoint):
            return f"{self.protocol}://{self.endpoint}/{self.account}"
        return f"{self.protocol}://{self.account}.blob.{self.endpoint}"

    def storage_uri(self, path: str = "") -> str:
        """Where ``path`` on this datastore is: ``wasbs://<container>@<account>.blob.<endpoint>/<path>``,
        ``abfss://<filesystem>@<account>.dfs.<endpoint>/<path>`` or ``file://<folder>/<path>``.

        For a path-style (Azurite) endpoint the host stays ``<account>.blob.core.windows.net``: the
        ``blob_endpoint`` option says where the service really is.
        """
        path = path.lstrip("/")
        if self.is_local:
            return "file://" + os.path.join(self.folder, path) if path else "file://" + self.folder
        suffix = DEFAULT_ENDPOINT if path_style_endpoint(self.endpoint) else self.endpoint
        secure = self.protocol == "https"
        if self.kind == "adls_gen2":
            return f"{'abfss' if secure else 'abfs'}://{self.container}@{self.account}.dfs.{suffix}/{path}"
        return f"{'wasbs' if secure else 'wasb'}://{self.container}@{self.account}.blob.{suffix}/{path}"

    def storage_options(self) -> dict:
        """Options for the Azure store: the credential (``account_key``, ``sas_token``, ``connection_string``,
        ``anon`` or, for a service principal, an azure-identity ``credential``), ``account_name`` and
        ``blob_endpoint``. Identity-based datastores carry no credential: the store's own chain applies."""
        if self.is_local:
            return {}
        options = {"account_name": self.account, "blob_endpoint": self.blob_endpoint}
        credential = self.credential
        if credential.kind == "account_key":
            options["account_key"] = credential.secret
        elif credential.kind == "sas":
            options["sas_token"] = credential.secret.lstrip("?")
        elif credential.kind == "connection_string":
            options["connection_string"] = credential.secret
        elif credential.kind == "service_principal":
            options["credential"] = _service_principal(credential)
        elif credential.kind == "anonymous":
            options["anon"] = True
        return options


def _service_principal(credential: DatastoreCredential):
    try:
        from azure.identity import ClientSecretCredential
    except ImportError:
        raise UserErrorException("A datastore with service principal credentials needs azure-identity "
                                 "(pip install azure-identity).") from None
    return ClientSecretCredential(credential.tenant_id, credential.client_id, credential.secret)


def path_style_endpoint(endpoint: str) -> bool:
    """True for ``127.0.0.1:10000``, ``localhost:10000``, ``[::1]:10000``: hosts the Azure SDK addresses path-style."""
    host = endpoint.rsplit(":", 1)[0] if ":" in endpoint and not endpoint.endswith("]") else endpoint
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_datastore(name: str, *, kind: str = "azure_blob", account: str | None = None, container: str | None = None,
                   endpoint: str | None = None, protocol: str | None = None, folder: str | None = None,
                   account_key: str | None = None, sas_token: str | None = None, connection_string: str | None = None,
                   client_id: str | None = None, tenant_id: str | None = None, client_secret: str | None = None,
                   anonymous: bool = False, source: str = "", where: str = "") -> Datastore:
    """A validated :class:`Datastore`; ``where`` prefixes error messages (which file and key)."""
    where = where or f"datastore '{name}'"
    kind = ARM_KINDS.get(str(kind).lower(), str(kind).lower())
    if kind not in KINDS:
        raise UserErrorException(f"{where}: type must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "local":
        if not folder:
            raise UserErrorException(f"{where}: a local datastore needs 'folder'")
        return Datastore(name, kind, folder=os.path.abspath(os.path.expanduser(str(folder))), source=source)
    secrets = {"account_key": account_key, "sas": sas_token, "connection_string": connection_string,
               "service_principal": client_secret, "anonymous": anonymous or None}
    given = [credential_kind for credential_kind, value in secrets.items() if value]
    if len(given) > 1:
        raise UserErrorException(f"{where}: give one credential, not {' and '.join(given)}")
    if connection_string:
        parsed = _connection_string_parts(connection_string)
        account = account or parsed.get("accountname")
        endpoint = endpoint or _endpoint_of_connection_string(parsed)
        protocol = protocol or parsed.get("defaultendpointsprotocol")
    if given == ["service_principal"] and not (client_id and tenant_id):
        raise UserErrorException(f"{where}: a service principal needs 'client_id' and 'tenant_id' too")
    for key, value in (("account", account), ("container", container)):
        if not value:
            raise UserErrorException(f"{where}: an {kind} datastore needs '{key}'"
                                     f"{' (the filesystem)' if key == 'container' and kind == 'adls_gen2' else ''}")
    protocol = (protocol or "https").lower()
    if protocol not in ("https", "http"):
        raise UserErrorException(f"{where}: protocol must be 'https' or 'http', not {protocol!r}")
    credential_kind = given[0] if given else "identity"
    secret = secrets[credential_kind] if given and credential_kind != "anonymous" else None
    principal = credential_kind == "service_principal"
    credential = DatastoreCredential(credential_kind, secret, tenant_id if principal else None,
                                     client_id if principal else None)
    return Datastore(name, kind, str(account), str(container), str(endpoint or DEFAULT_ENDPOINT).strip("/"),
                     protocol, credential=credential, source=source)


def _connection_string_parts(text: str) -> dict:
    pairs = (part.split("=", 1) for part in text.split(";") if "=" in part)
    return {key.strip().lower(): value.strip() for key, value in pairs}


def _endpoint_of_connection_string(parts: dict) -> str | None:
    """``EndpointSuffix``, or ``host:port`` of a path-style ``BlobEndpoint`` (Azurite's)."""
    blob = parts.get("blobendpoint")
    if blob:
        host = blob.split("://", 1)[-1].split("/", 1)[0]
        if path_style_endpoint(host):
            return host
        if ".blob." in host:
            return host.split(".blob.", 1)[1]
    return parts.get("endpointsuffix")


# --- 1. the in-code registry --------------------------------------------------------------------

_REGISTERED: dict[tuple[str | None, str], Datastore] = {}
_REGISTRY_LOCK = threading.Lock()


def register_datastore(name: str, *, kind: str = "azure_blob", account: str | None = None,
                       container: str | None = None, endpoint: str | None = None, protocol: str | None = None,
                       folder: str | None = None, account_key: str | None = None, sas_token: str | None = None,
                       connection_string: str | None = None, anonymous: bool = False, workspace: Any = None,
                       client_id: str | None = None, tenant_id: str | None = None,
                       client_secret: str | None = None) -> Datastore:
    """Say what datastore ``name`` is, for ``workspace`` (a name, ``'<sub>/<rg>/<ws>'``, a ``Workspace``)
    or, with ``workspace=None``, for every workspace. Checked before the registry file and ARM.

    Example:
        >>> register_datastore("raw", account="myacct", container="raw",
        ...                    sas_token=os.environ["RAW_SAS"])                               # doctest: +SKIP
        >>> mltable.from_parquet_files([{"pattern": "azureml://datastores/raw/paths/*.parquet"}])  # doctest: +SKIP
    """
    if not isinstance(name, str) or not name:
        raise UserErrorException("register_datastore needs the datastore's name")
    datastore = make_datastore(name, kind=kind, account=account, container=container, endpoint=endpoint,
                               protocol=protocol, folder=folder, account_key=account_key, sas_token=sas_token,
                               connection_string=connection_string, anonymous=anonymous, client_id=client_id,
                               tenant_id=tenant_id, client_secret=client_secret, source="register_datastore")
    with _REGISTRY_LOCK:
        _REGISTERED[(_selector(workspace), name)] = datastore
    return datastore


def unregister_datastore(name: str, workspace: Any = None) -> None:
    """Forget a datastore registered with :func:`register_datastore` (no error if it was not)."""
    with _REGISTRY_LOCK:
        _REGISTERED.pop((_selector(workspace), name), None)


def _selector(workspace) -> str | None:
    """``None`` (any workspace), a workspace name, or ``'<sub>/<rg>/<ws>'``."""
    if workspace is None or workspace == "*":
        return None
    if hasattr(workspace, "subscription"):
        return f"{workspace.subscription}/{workspace.resource_group}/{workspace.name}"
    return str(workspace).strip("/")


def _selectors_for(workspace) -> list[str | None]:
    """The registry keys that match ``workspace``, most specific first."""
    if workspace is None:
        return [None]
    return [f"{workspace.subscription}/{workspace.resource_group}/{workspace.name}", workspace.name, None]


def _from_code(workspace, name: str) -> Datastore | None:
    with _REGISTRY_LOCK:
        return next((_REGISTERED[(key, name)] for key in _selectors_for(workspace) if (key, name) in _REGISTERED),
                    None)


# --- 2. the registry file ----------------------------------------------------------------------

_FILE_KEYS = frozenset({"type", "kind", "account", "container", "filesystem", "endpoint", "protocol", "folder",
                        "credential", "account_key", "account_key_env", "sas_token", "sas_token_env",
                        "connection_string", "connection_string_env", "client_id", "tenant_id", "client_secret",
                        "client_secret_env"})
_SECRET_KEYS = ("account_key", "sas_token", "connection_string", "client_secret")
_FILE_CREDENTIALS = {"account_key": "account_key", "sas": "sas_token", "sas_token": "sas_token",
                     "connection_string": "connection_string", "service_principal": "client_secret"}
_PARSED_FILE: dict[str, tuple[tuple, dict]] = {}


def registry_file_path() -> str | None:
    """``$MLTABLE_LITE_DATASTORES``, else ``$XDG_CONFIG_HOME/mltable_lite/datastores.yaml`` (default
    ``~/.config/...``) if it exists, else ``None``. A file named by the variable must exist."""
    named = os.environ.get(REGISTRY_ENV)
    if named:
        named = os.path.abspath(os.path.expanduser(named))
        if not os.path.isfile(named):
            raise UserErrorException(f"The datastore registry file '{named}' named by {REGISTRY_ENV} does not exist.")
        return named
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    default = os.path.join(config_home, "mltable_lite", "datastores.yaml")
    return default if os.path.isfile(default) else None


def from_registry_file(workspace, name: str) -> Datastore | None:
    """The datastore ``name`` as the registry file describes it for ``workspace``, if it does."""
    path = registry_file_path()
    if path is None:
        return None
    entries = _registry_entries(path)
    for selector in _selectors_for(workspace):
        spec = entries.get(selector, {}).get(name)
        if spec is not None:
            where = f"{path}: {'datastores' if selector is None else f'workspaces.{selector}'}.{name}"
            return _datastore_from_spec(name, spec, path, where)
    return None


def _registry_entries(path: str) -> dict:
    """``{selector: {name: spec}}`` of a registry file (``None`` = any workspace), parsed once per change."""
    status = os.stat(path)
    stamp = (status.st_mtime_ns, status.st_size)
    cached = _PARSED_FILE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    import yaml

    try:
        with open(path, encoding="utf-8-sig") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise UserErrorException(f"The datastore registry file '{path}' cannot be read: {error}") from None
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise UserErrorException(f"The datastore registry file '{path}' must be a mapping with 'datastores' "
                                 "and/or 'workspaces'")
    unknown = set(document) - {"datastores", "workspaces", "version"}
    if unknown:
        raise UserErrorException(f"The datastore registry file '{path}' has the unknown key '{sorted(unknown)[0]}' "
                                 "(expected 'datastores' and/or 'workspaces')")
    entries: dict = {None: _mapping(document.get("datastores"), path, "datastores")}
    for selector, datastores in _mapping(document.get("workspaces"), path, "workspaces").items():
        entries[str(selector).strip("/")] = _mapping(datastores, path, f"workspaces.{selector}")
    for scope, datastores in entries.items():
        prefix = "datastores" if scope is None else f"workspaces.{scope}"
        for datastore_name, spec in datastores.items():
            _mapping(spec, path, f"{prefix}.{datastore_name}")
            unknown = set(spec) - _FILE_KEYS
            if unknown:
                raise UserErrorException(f"The datastore registry file '{path}' has the unknown key "
                                         f"'{prefix}.{datastore_name}.{sorted(unknown)[0]}'")
    _PARSED_FILE[path] = (stamp, entries)
    return entries


def _mapping(value, path: str, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserErrorException(f"The datastore registry file '{path}': '{key}' must be a mapping")
    return value


def _datastore_from_spec(name: str, spec: dict, path: str, where: str) -> Datastore:
    """One entry → a Datastore; secrets are read from the environment variables the entry names."""
    values = {key: (str(value) if value is not None and not isinstance(value, bool) else value)
              for key, value in spec.items()}
    secrets = {}
    for key in _SECRET_KEYS:
        variable = values.get(f"{key}_env")
        if variable:
            if not os.environ.get(variable):
                raise UserErrorException(f"{where}.{key}_env: the environment variable {variable} is not set")
            secrets[key] = os.environ[variable]
        elif values.get(key):
            secrets[key] = values[key]  # inline secret: allowed, discouraged (see docs/azureml.md)
    credential = str(values.get("credential") or "").lower()
    if credential and credential not in CREDENTIAL_KINDS + ("sas_token",):
        raise UserErrorException(f"{where}.credential must be one of {', '.join(CREDENTIAL_KINDS)}, "
                                 f"not {values['credential']!r}")
    if credential in _FILE_CREDENTIALS and _FILE_CREDENTIALS[credential] not in secrets:
        needed = _FILE_CREDENTIALS[credential]
        raise UserErrorException(f"{where}.credential is {credential} but neither {needed}_env nor {needed} is given")
    if credential in ("identity", "anonymous"):
        secrets = {}
    folder = values.get("folder")
    if folder and not os.path.isabs(os.path.expanduser(folder)):
        folder = os.path.join(os.path.dirname(path), folder)
    return make_datastore(
        name, kind=values.get("type") or values.get("kind") or "azure_blob", account=values.get("account"),
        container=values.get("container") or values.get("filesystem"), endpoint=values.get("endpoint"),
        protocol=values.get("protocol"), folder=folder, client_id=values.get("client_id"),
        tenant_id=values.get("tenant_id"), anonymous=credential == "anonymous", source=f"registry file {path}",
        where=where, **secrets)


# --- 3. ARM, cached per process -----------------------------------------------------------------

_RESOLVED: dict[tuple, Datastore] = {}
_RESOLVED_LOCK = threading.Lock()


def clear_datastore_cache() -> None:
    """Forget the datastores and data asset versions resolved through ARM (after rotating a key, say)."""
    from .azureml import _ASSET_VERSIONS

    with _RESOLVED_LOCK:
        _RESOLVED.clear()
        _ASSET_VERSIONS.clear()


def _from_arm(workspace, name: str, storage_options: dict | None) -> Datastore:
    from .arm import arm_client_for

    client = arm_client_for(storage_options)
    key = (client.endpoint, workspace, name)
    with _RESOLVED_LOCK:
        if key in _RESOLVED:
            return _RESOLVED[key]
    body = client.get_datastore(workspace, name)
    properties = body.get("properties") or {}
    where = f"The datastore '{name}' of workspace {workspace}"
    datastore_type = str(properties.get("datastoreType") or "")
    if datastore_type.lower() not in ARM_KINDS:
        raise UserErrorException(f"{where} is of type {datastore_type or 'unknown'}; mltable_lite reads AzureBlob "
                                 "and AzureDataLakeGen2 datastores (register others with register_datastore).")
    credentials = properties.get("credentials") or {}
    credentials_type = str(credentials.get("credentialsType") or "None")
    secrets = {}
    if credentials_type.lower() in ("accountkey", "sas", "serviceprincipal"):
        secrets = client.list_secrets(workspace, name)
    kwargs = _arm_credential(credentials_type, credentials, secrets, where)
    datastore = make_datastore(
        name, kind=datastore_type, account=properties.get("accountName"),
        container=properties.get("containerName") or properties.get("filesystem"),
        endpoint=properties.get("endpoint"), protocol=properties.get("protocol"), source=f"ARM {client.endpoint}",
        where=where, **kwargs)
    with _RESOLVED_LOCK:
        _RESOLVED[key] = datastore
    return datastore


def _arm_credential(credentials_type: str, credentials: dict, secrets: dict, where: str) -> dict:
    lowered = credentials_type.lower()
    if lowered == "none":
        return {}
    if lowered == "accountkey" and secrets.get("key"):
        return {"account_key": secrets["key"]}
    if lowered == "sas" and secrets.get("sasToken"):
        return {"sas_token": secrets["sasToken"]}
    if lowered == "serviceprincipal" and secrets.get("clientSecret"):
        return {"client_secret": secrets["clientSecret"], "client_id": credentials.get("clientId"),
                "tenant_id": credentials.get("tenantId")}
    if lowered in ("accountkey", "sas", "serviceprincipal"):
        raise UserErrorException(f"{where} uses {credentials_type} credentials but listSecrets returned none.")
    raise UserErrorException(f"{where} uses {credentials_type} credentials, which mltable_lite does not support; "
                             "register the datastore with register_datastore instead.")


# --- the chain ----------------------------------------------------------------------------------


def resolve_datastore(workspace, name: str, storage_options: dict | None = None,
                      missing_workspace: Exception | None = None) -> Datastore:
    """The datastore ``name`` of ``workspace``: the code registry, else the registry file, else ARM.

    ``workspace`` is ``None`` when a short-form URI named none; then only entries for any workspace
    match, and ``missing_workspace`` (the error saying how to name one) is raised before asking ARM.
    """
    found = _from_code(workspace, name) or from_registry_file(workspace, name)
    if found is not None:
        return found
    if workspace is None:
        raise missing_workspace or UserErrorException(f"The datastore '{name}' needs a workspace to resolve.")
    return _from_arm(workspace, name, storage_options)


__all__ = ["Datastore", "DatastoreCredential", "register_datastore", "unregister_datastore", "resolve_datastore",
           "clear_datastore_cache", "make_datastore", "path_style_endpoint", "registry_file_path"]
