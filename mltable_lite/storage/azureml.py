"""``azureml:`` URIs: parsing them, finding the workspace they mean, and resolving data assets for load().

The forms Azure ML writes, with keywords matched case-insensitively:

* datastore, long:  ``azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastores/<name>/paths/<path>``
  (also with ``providers/Microsoft.MachineLearningServices/`` before ``workspaces``, and ``datastore/``);
* datastore, short: ``azureml://datastores/<name>/paths/<path>`` (workspace from options, env or config.json);
* data asset:       ``azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/data/<name>/versions/<v>``,
  ``azureml://data/<name>/versions/<v>``, ``azureml:<name>:<v>`` and ``azureml:<name>@latest``.

Example:
    >>> parse_azureml_uri("azureml://datastores/store/paths/data/a.csv")
    DatastoreUri(workspace=None, datastore='store', path='data/a.csv', prefix='azureml://datastores/store/paths/')
    >>> parse_azureml_uri("azureml:sales:3")
    DataAssetUri(workspace=None, name='sales', version='3')
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass

from ..errors import UserErrorException

ACCEPTED_FORMS = (
    "azureml://subscriptions/<subscription>/resourcegroups/<resource group>/workspaces/<workspace>"
    "/datastores/<datastore>/paths/<path>",
    "azureml://datastores/<datastore>/paths/<path>",
    "azureml://subscriptions/<subscription>/resourcegroups/<resource group>/workspaces/<workspace>"
    "/data/<asset>/versions/<version>",
    "azureml://data/<asset>/versions/<version>",
    "azureml:<asset>:<version>",
    "azureml:<asset>@latest",
)

# Options naming the workspace: ours first, then the spellings of the azure-ai-ml SDK and config.json.
SUBSCRIPTION_KEYS = ("subscription", "subscription_id")
RESOURCE_GROUP_KEYS = ("resource_group", "resource_group_name")
WORKSPACE_KEYS = ("workspace", "workspace_name")
WORKSPACE_ENV = ("AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_RESOURCEGROUP", "AZUREML_ARM_WORKSPACE_NAME")
CONFIG_FILE = "config.json"

_SEGMENT = r"[^/]+"
_WORKSPACE = (rf"subscriptions/(?P<subscription>{_SEGMENT})/resourcegroups/(?P<resource_group>{_SEGMENT})/"
              rf"(?:providers/microsoft\.machinelearningservices/)?workspaces/(?P<workspace>{_SEGMENT})/")
_DATASTORE = (rf"(?P<datastore_word>datastores?)/(?P<datastore>{_SEGMENT})"
              r"(?:/(?P<paths_word>paths)(?:/(?P<path>.*))?)?/?")
_ASSET = rf"data/(?P<asset>{_SEGMENT})/versions/(?P<version>{_SEGMENT})/?"
_LONG_DATASTORE = re.compile(rf"(?i)^azureml://{_WORKSPACE}{_DATASTORE}$")
_SHORT_DATASTORE = re.compile(rf"(?i)^azureml://{_DATASTORE}$")
_LONG_ASSET = re.compile(rf"(?i)^azureml://{_WORKSPACE}{_ASSET}$")
_SHORT_ASSET = re.compile(rf"(?i)^azureml://{_ASSET}$")
_ASSET_REFERENCE = re.compile(r"(?i)^azureml:(?!//)(?P<asset>[^:@/]+)(?::(?P<version>[^:@/]+)|@(?P<label>latest))$")


@dataclass(frozen=True)
class Workspace:
    """An Azure ML workspace: the three names that address it in ARM."""

    subscription: str
    resource_group: str
    name: str

    def __str__(self) -> str:
        return f"'{self.name}' (subscription '{self.subscription}', resource group '{self.resource_group}')"

    @property
    def arm_path(self) -> str:
        """``subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>``."""
        return (f"subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/"
                f"Microsoft.MachineLearningServices/workspaces/{self.name}")

    @property
    def uri_prefix(self) -> str:
        """The long-form URI up to the workspace: ``azureml://subscriptions/…/workspaces/<ws>``."""
        return (f"azureml://subscriptions/{self.subscription}/resourcegroups/{self.resource_group}"
                f"/workspaces/{self.name}")


@dataclass(frozen=True)
class DatastoreUri:
    """A path on a datastore. ``workspace`` is ``None`` for the short form; ``prefix`` is the URI as the
    user spelled it up to ``paths/``, so paths found below it are shown in the same form."""

    workspace: Workspace | None
    datastore: str
    path: str
    prefix: str

    def with_path(self, path: str) -> str:
        """The URI of another ``path`` on the same datastore, in the same spelling."""
        return self.prefix + path.lstrip("/")

    @property
    def root(self) -> str:
        """The datastore's URI without ``/paths/...``: ``azureml://datastores/<name>``."""
        return self.prefix[:-len("/paths/")]


@dataclass(frozen=True)
class DataAssetUri:
    """A version of a data asset (``version`` is ``'latest'`` for ``azureml:<name>@latest``)."""

    workspace: Workspace | None
    name: str
    version: str


def is_azureml_uri(uri) -> bool:
    return isinstance(uri, str) and uri[:8].lower() == "azureml:"


def parse_azureml_uri(uri: str) -> DatastoreUri | DataAssetUri:
    """The parsed form of an ``azureml:`` URI; a malformed one raises ``UserErrorException``."""
    text = uri.strip() if isinstance(uri, str) else uri
    if isinstance(text, str):
        for pattern in (_LONG_DATASTORE, _SHORT_DATASTORE):
            match = pattern.match(text)
            if match:
                return _datastore_uri(text, match)
        for pattern in (_LONG_ASSET, _SHORT_ASSET):
            match = pattern.match(text)
            if match:
                return DataAssetUri(_workspace_of(match), match["asset"], match["version"])
        match = _ASSET_REFERENCE.match(text)
        if match:
            return DataAssetUri(None, match["asset"], match["version"] or "latest")
    forms = "\n  ".join(ACCEPTED_FORMS)
    raise UserErrorException(f"Not a valid azureml URI: {uri!r}. The accepted forms are:\n  {forms}")


def _datastore_uri(text: str, match: re.Match) -> DatastoreUri:
    if match["paths_word"]:
        prefix = text[:match.end("paths_word")] + "/"
    else:  # the datastore's root, as AzureMachineLearningFileSystem is given it
        prefix = text[:match.end("datastore")] + "/paths/"
    path = (match["path"] or "").strip("/")
    if any(part in (".", "..", "") for part in path.split("/")) and path:
        path = posixpath.normpath(path).lstrip("/")
        if path == ".":
            path = ""
        if path == ".." or path.startswith("../"):
            raise UserErrorException(f"{text!r} climbs above the root of datastore '{match['datastore']}'.")
    return DatastoreUri(_workspace_of(match), match["datastore"], path, prefix)


def _workspace_of(match: re.Match) -> Workspace | None:
    if "subscription" not in match.re.groupindex:
        return None
    return Workspace(match["subscription"], match["resource_group"], match["workspace"])


# --- which workspace a short form means ---------------------------------------------------------


def resolve_workspace(storage_options: dict | None = None, path: str | None = None) -> Workspace:
    """The workspace for short-form URIs, from the first source that names all three parts:

    1. ``storage_options``: ``subscription``, ``resource_group``, ``workspace`` (or ``subscription_id``,
       ``resource_group_name``, ``workspace_name``), else an ``ml_client`` option's attributes;
    2. the environment: ``AZUREML_ARM_SUBSCRIPTION``, ``AZUREML_ARM_RESOURCEGROUP``, ``AZUREML_ARM_WORKSPACE_NAME``;
    3. a ``config.json`` found as the Azure ML SDK finds it: in ``path`` (option ``config_path``, else the
       current folder) or its parents, also as ``.azureml/config.json`` in each.

    >>> resolve_workspace({"subscription": "s", "resource_group": "rg", "workspace": "ws"})
    Workspace(subscription='s', resource_group='rg', name='ws')
    """
    options = storage_options or {}
    found = _from_options(options)
    if found is None:
        found = _complete(*(os.environ.get(name) for name in WORKSPACE_ENV))
    if found is None:
        found = _from_config(path or options.get("config_path"))
    if found is not None:
        return found
    raise UserErrorException(
        "Cannot tell which Azure ML workspace a short azureml:// URI means. Name it in one of three ways: "
        "storage_options={'subscription': ..., 'resource_group': ..., 'workspace': ...} (or pass ml_client); "
        f"the environment variables {', '.join(WORKSPACE_ENV)}; or a config.json (keys subscription_id, "
        "resource_group, workspace_name) in the current folder, a parent, or their .azureml folders "
        "(download it from the workspace's page in the Azure portal). Or use the long URI form "
        "azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/....")


def _from_options(options: dict) -> Workspace | None:
    def first(keys):
        return next((options[key] for key in keys if options.get(key)), None)

    parts = (first(SUBSCRIPTION_KEYS), first(RESOURCE_GROUP_KEYS), first(WORKSPACE_KEYS))
    found = _complete(*parts)
    if found is None and any(parts):  # explicit and partial: never silently replaced by another source
        missing = [keys[0] for keys, part in zip((SUBSCRIPTION_KEYS, RESOURCE_GROUP_KEYS, WORKSPACE_KEYS), parts)
                   if not part]
        raise UserErrorException(f"storage_options name part of an Azure ML workspace but not {', '.join(missing)}: "
                                 "give 'subscription', 'resource_group' and 'workspace' together.")
    client = options.get("ml_client")
    if found is None and client is not None:
        found = _complete(getattr(client, "subscription_id", None), getattr(client, "resource_group_name", None),
                          getattr(client, "workspace_name", None))
    return found


def _complete(subscription, resource_group, workspace) -> Workspace | None:
    if subscription and resource_group and workspace:
        return Workspace(str(subscription), str(resource_group), str(workspace))
    return None


def find_config_file(start: str | None = None) -> str | None:
    """The ``config.json`` the Azure ML SDK would use, searching ``start`` (a folder or a file) and its parents."""
    if start and os.path.isfile(start):
        return start
    folder = os.path.abspath(start or os.getcwd())
    while True:
        for candidate in (os.path.join(folder, CONFIG_FILE), os.path.join(folder, ".azureml", CONFIG_FILE)):
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _from_config(start: str | None) -> Workspace | None:
    found = find_config_file(start)
    if found is None:
        return None
    try:
        with open(found, encoding="utf-8-sig") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        raise UserErrorException(f"The Azure ML workspace config file '{found}' cannot be read: {error}") from None
    if not isinstance(config, dict):
        raise UserErrorException(f"The Azure ML workspace config file '{found}' must hold a JSON object")
    workspace = _complete(config.get("subscription_id"), config.get("resource_group"),
                          config.get("workspace_name"))
    if workspace is None:
        missing = [key for key in ("subscription_id", "resource_group", "workspace_name") if not config.get(key)]
        raise UserErrorException(f"The Azure ML workspace config file '{found}' lacks {', '.join(missing)}")
    return workspace


# --- load() of data assets ----------------------------------------------------------------------


def resolve_load_uri(uri: str, storage_options: dict | None = None) -> str:
    """The folder URI ``load(uri)`` should read: a data asset's storage folder, anything else unchanged.

    >>> resolve_load_uri("./iris")
    './iris'
    >>> resolve_load_uri("azureml:iris:2", {"subscription": "s", ...})   # doctest: +SKIP
    'azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/iris/'
    """
    if not is_azureml_uri(uri):
        return uri
    parsed = parse_azureml_uri(uri)
    if isinstance(parsed, DatastoreUri):
        return uri
    data_type, data_uri = resolve_data_asset(parsed, storage_options)
    if data_type == "uri_file":
        raise UserErrorException(
            f"The data asset {uri!r} is a uri_file ({data_uri}); load() takes an mltable or uri_folder asset. "
            "Read the file with from_delimited_files / from_parquet_files / from_json_lines_files instead.")
    return data_uri


_ASSET_VERSIONS: dict[tuple, dict] = {}


def resolve_data_asset(asset: DataAssetUri, storage_options: dict | None = None) -> tuple[str, str]:
    """``(dataType, dataUri)`` of a data asset version, asked of the workspace's control plane (ARM).

    A short-form ``dataUri`` comes back in the long form of the asset's workspace, so that it reads the
    same whatever workspace the caller's options name.
    """
    from .arm import arm_client_for

    workspace = asset.workspace or resolve_workspace(storage_options)
    client = arm_client_for(storage_options)
    version = asset.version
    if version.lower() == "latest":
        version = client.latest_data_version(workspace, asset.name)
    key = (client.endpoint, workspace, asset.name, version)
    if key not in _ASSET_VERSIONS:  # a version's dataUri never changes: ask once per process
        _ASSET_VERSIONS[key] = client.get_data_version(workspace, asset.name, version)
    properties = _ASSET_VERSIONS[key].get("properties") or {}
    data_type = str(properties.get("dataType") or "uri_folder").lower()
    data_uri = properties.get("dataUri")
    if not isinstance(data_uri, str) or not data_uri:
        raise UserErrorException(f"The data asset '{asset.name}' version {version} in workspace {workspace} "
                                 "has no dataUri.")
    if is_azureml_uri(data_uri):
        parsed = parse_azureml_uri(data_uri)
        if isinstance(parsed, DatastoreUri) and parsed.workspace is None:
            data_uri = f"{workspace.uri_prefix}/datastores/{parsed.datastore}/paths/{parsed.path}"
    return data_type, data_uri
