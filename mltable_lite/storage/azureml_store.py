"""The store for ``azureml:`` URIs: a datastore's storage, shown under the azureml URIs the user wrote.

``for_uri`` resolves the datastore (code registry → registry file → ARM, see :mod:`.datastores`) and
opens the store of its storage (Azure blob / ADLS Gen2, or a local folder). Paths are the inner store's;
``uri_of`` maps them back to ``azureml://`` URIs in the user's spelling (long or short form), so
listings and the ``Path`` column show azureml URIs. A data asset URI stands for its ``dataUri``.

Example:
    >>> folder = "azureml://datastores/raw/paths/2024/"
    >>> options = {"subscription": "s", "resource_group": "rg", "workspace": "ws"}
    >>> store = AzureMLStore.for_uri(folder, options)                                    # doctest: +SKIP
    >>> [store.uri_of(path) for path, _ in store.find(store.path_of(folder))]             # doctest: +SKIP
    ['azureml://datastores/raw/paths/2024/a.csv', 'azureml://datastores/raw/paths/2024/b.csv']
"""

from __future__ import annotations

from ..errors import UserErrorException
from . import Store, open_store
from .azureml import DataAssetUri, DatastoreUri, is_azureml_uri, parse_azureml_uri, resolve_data_asset, \
    resolve_workspace
from .datastores import Datastore, resolve_datastore

# storage_options keys that only mean something to the azureml layer.
AZUREML_OPTION_KEYS = frozenset({"subscription", "subscription_id", "resource_group", "resource_group_name",
                                 "workspace", "workspace_name", "ml_client", "credential", "arm_endpoint",
                                 "arm_scope", "config_path"})


class AzureMLStore(Store):
    """One datastore (or one data asset's non-datastore location) behind azureml URIs."""

    def __init__(self, location: DatastoreUri | None, datastore: Datastore | None, inner: Store,
                 storage_options: dict | None = None):
        self.location = location
        self.datastore = datastore
        self.inner = inner
        self.remote = inner.remote
        self._options = storage_options
        self._aliases: dict[str, str] = {}  # data asset URI → the dataUri it stands for
        self._root = inner.path_of(datastore.storage_uri("")).rstrip("/") if datastore is not None else ""

    def __repr__(self) -> str:
        target = self.datastore.storage_uri("") if self.datastore is not None else type(self.inner).__name__
        name = self.datastore.name if self.datastore is not None else "data asset"
        return f"AzureMLStore({name} -> {target})"

    __str__ = __repr__

    @classmethod
    def for_uri(cls, uri: str, storage_options: dict | None = None) -> "AzureMLStore":
        parsed = parse_azureml_uri(uri)
        if isinstance(parsed, DataAssetUri):
            _, data_uri = resolve_data_asset(parsed, storage_options)
            if is_azureml_uri(data_uri):
                store = cls.for_uri(data_uri, storage_options)
            else:  # an asset registered on a wasbs://, https://... location
                store = cls(None, None, open_store(data_uri, storage_options), storage_options)
            store._aliases[uri] = data_uri
            return store
        datastore = datastore_of(parsed, storage_options)
        inner = open_store(datastore.storage_uri(""), inner_storage_options(datastore, storage_options))
        return cls(parsed, datastore, inner, storage_options)

    def storage_uri_of(self, uri: str) -> str:
        """The storage URI (``wasbs://``, ``abfss://``, ``file://``) an azureml URI stands for."""
        uri = self._aliases.get(uri, uri)
        if not is_azureml_uri(uri):
            return uri
        parsed = parse_azureml_uri(uri)
        if isinstance(parsed, DataAssetUri):
            _, data_uri = resolve_data_asset(parsed, self._options)
            return self.storage_uri_of(data_uri)
        if self.datastore is None or parsed.datastore != self.datastore.name:
            raise UserErrorException(f"{uri!r} is not on the datastore of this store ({self!r}); open it with its "
                                     "own store.")
        return self.datastore.storage_uri(parsed.path)

    # --- Store --------------------------------------------------------------------------------

    def path_of(self, uri: str) -> str:
        return self.inner.path_of(self.storage_uri_of(uri))

    def uri_of(self, path: str) -> str:
        if self.location is None:
            return self.inner.uri_of(path)
        if path == self._root or path.startswith(self._root + "/") or not self._root:
            relative = path[len(self._root):].lstrip("/")
        else:
            relative = path.lstrip("/")
        return self.location.with_path(relative)

    def kind(self, path: str) -> str | None:
        return self.inner.kind(path)

    def size(self, path: str) -> int:
        return self.inner.size(path)

    def find(self, folder: str) -> list[tuple[str, int]]:
        return self.inner.find(folder)

    def open_input(self, path: str, size: int | None = None):
        return self.inner.open_input(path, size)

    def open_random_access(self, path: str, size: int | None = None):
        return self.inner.open_random_access(path, size)

    def fetch(self, path: str) -> bytes:
        return self.inner.fetch(path)

    def fetch_later(self, path: str, pool):
        return self.inner.fetch_later(path, pool)

    def writing(self, path: str, overwrite: bool = True):
        return self.inner.writing(path, overwrite=overwrite)

    def write_bytes(self, path: str, data: bytes, overwrite: bool = True) -> None:
        self.inner.write_bytes(path, data, overwrite=overwrite)

    def delete(self, path: str) -> None:
        self.inner.delete(path)

    @property
    def keeps_md5(self) -> bool:
        return self.inner.keeps_md5

    def stat(self, path: str):
        return self.inner.stat(path)

    def stat_below(self, folder: str):
        return self.inner.stat_below(folder)

    def reads_ranges(self, path: str) -> bool:
        return self.inner.reads_ranges(path)

    def read_range(self, path: str, start: int, end: int) -> bytes:
        return self.inner.read_range(path, start, end)

    def writing_parts(self, path: str, size: int, overwrite: bool = True):
        return self.inner.writing_parts(path, size, overwrite=overwrite)

    @property
    def arrow_filesystem(self):
        return self.inner.arrow_filesystem

    def delta_location(self, uri: str) -> tuple[str, dict]:
        """The table location and options for ``deltalake``: the storage's own (a local path for local
        datastores)."""
        storage_uri = self.storage_uri_of(uri)
        inner_location = getattr(self.inner, "delta_location", None)
        if inner_location is not None:
            return inner_location(storage_uri)
        return self.inner.path_of(storage_uri), {}


def datastore_of(location: DatastoreUri, storage_options: dict | None) -> Datastore:
    """The datastore a datastore URI names, the workspace taken from the URI or (short form) the options,
    env or config.json; without a workspace only registrations for any workspace can answer."""
    workspace, missing = location.workspace, None
    if workspace is None:
        try:
            workspace = resolve_workspace(storage_options)
        except UserErrorException as error:
            missing = error
    return resolve_datastore(workspace, location.datastore, storage_options, missing_workspace=missing)


def inner_storage_options(datastore: Datastore, storage_options: dict | None) -> dict:
    """Options for the storage store: the datastore's own; for identity-based datastores, also the
    caller's chosen Azure credential (the ``credential`` option, ``ml_client``'s or the one given to
    ``set_default_credential``), as Azure ML uses the caller's identity there."""
    options = datastore.storage_options()
    if datastore.is_local or datastore.credential.kind != "identity":
        return options
    from .arm import explicit_credential

    credential = explicit_credential(storage_options)
    if credential is not None:
        options["credential"] = credential
    return options
