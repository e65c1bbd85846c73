"""``AzureMachineLearningFileSystem``: an fsspec filesystem for one Azure ML datastore.

The same name and URI forms as Microsoft's azureml-fsspec, so code written for it keeps working; the
datastore is resolved by :mod:`.datastores` (code registry → registry file → ARM) and every call goes
to the storage's own fsspec filesystem (adlfs for blob / ADLS Gen2, the local one for local folders).

Paths are relative to the datastore, as in Microsoft's docs (``fs.ls()`` → ``['folder1', 'folder2',
'file3.csv']``); full ``azureml://…/paths/<path>`` URIs are accepted wherever a path is.

Example:
    >>> fs = AzureMachineLearningFileSystem(
    ...     "azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastore/workspaceblobstore"
    ... )                                                                                # doctest: +SKIP
    >>> fs.glob("/folder1/*.csv")                                                    # doctest: +SKIP
    ['folder1/a.csv', 'folder1/b.csv']
    >>> pandas.read_csv("azureml://subscriptions/<s>/.../datastores/<name>/paths/folder1/a.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import errno
from contextlib import contextmanager

from fsspec import AbstractFileSystem

from ..errors import UserErrorException
from .azureml import DatastoreUri, is_azureml_uri, parse_azureml_uri


class AzureMachineLearningFileSystem(AbstractFileSystem):
    """The files of one datastore. ``uri`` names it: ``azureml://subscriptions/<s>/resourcegroups/<rg>/
    workspaces/<ws>/datastore(s)/<name>`` (anything after it is ignored), or the short
    ``azureml://datastores/<name>``; ``storage_options`` (``credential``, ``ml_client``, ``subscription``...)
    are those of :class:`~mltable_lite.storage.azureml_store.AzureMLStore`.
    """

    protocol = ("azureml",)
    root_marker = ""

    def __init__(self, uri: str | None = None, *, datastore_name: str | None = None, **storage_options):
        super().__init__(**storage_options)
        location = _datastore_location(uri, datastore_name, storage_options)
        from .azureml_store import AzureMLStore

        self._store = AzureMLStore.for_uri(location.root + "/paths/", storage_options or None)
        self.location = parse_azureml_uri(location.root + "/paths/")
        self.datastore = self._store.datastore
        self._root = self._store._root
        self._inner = _fsspec_filesystem_of(self._store.inner)

    def __repr__(self) -> str:  # never the options: they may hold a credential
        return f"AzureMachineLearningFileSystem({self.location.root})"

    __str__ = __repr__

    # --- paths ----------------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path):
        """``azureml://…/paths/a/b.csv``, ``/a/b.csv`` and ``./a/b.csv`` → ``a/b.csv`` (datastore-relative)."""
        if isinstance(path, (list, tuple)):
            return [cls._strip_protocol(item) for item in path]
        path = str(path)
        if is_azureml_uri(path):
            parsed = parse_azureml_uri(path)
            if isinstance(parsed, DatastoreUri):
                return parsed.path
            raise UserErrorException(f"{path!r} is a data asset; AzureMachineLearningFileSystem reads datastore "
                                     "paths (azureml://…/datastores/<name>/paths/<path>).")
        while path.startswith("./"):
            path = path[2:]
        path = path.strip("/")
        return "" if path == "." else path

    @staticmethod
    def _get_kwargs_from_urls(path):
        """The datastore of a full URI, so ``fsspec.open(uri)`` makes this filesystem for it."""
        if is_azureml_uri(path):
            parsed = parse_azureml_uri(path)
            if isinstance(parsed, DatastoreUri):
                return {"uri": parsed.root}
        return {}

    def unstrip_protocol(self, name: str) -> str:
        return self.location.with_path(self._strip_protocol(name))

    def _inner_path(self, path) -> str:
        relative = self._strip_protocol(path)
        if not self._root:
            return relative
        return f"{self._root}/{relative}" if relative else self._root

    def _outer_path(self, inner_path: str) -> str:
        inner_path = inner_path.rstrip("/")
        if self._root and (inner_path == self._root or inner_path.startswith(self._root + "/")):
            return inner_path[len(self._root):].lstrip("/")
        return inner_path.lstrip("/")

    def _outer_info(self, info: dict) -> dict:
        return {**info, "name": self._outer_path(info["name"])}

    # --- reading --------------------------------------------------------------------------------

    def ls(self, path="", detail=False, **kwargs):
        entries = self._inner.ls(self._inner_path(path), detail=True, **kwargs)
        entries = sorted((self._outer_info(entry) for entry in entries), key=lambda entry: entry["name"])
        return entries if detail else [entry["name"] for entry in entries]

    def info(self, path, **kwargs):
        with self._named(path):
            return self._outer_info(self._inner.info(self._inner_path(path), **kwargs))

    def find(self, path="", maxdepth=None, withdirs=False, detail=False, **kwargs):
        found = self._inner.find(self._inner_path(path), maxdepth=maxdepth, withdirs=withdirs, detail=True, **kwargs)
        mapped = {self._outer_path(name): self._outer_info(info) for name, info in sorted(found.items())}
        mapped.pop("", None)  # the datastore's root itself
        return mapped if detail else sorted(mapped)

    def cat_file(self, path, start=None, end=None, **kwargs):
        with self._named(path):
            return self._inner.cat_file(self._inner_path(path), start=start, end=end, **kwargs)

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        with self._named(path):
            return self._inner.open(self._inner_path(path), mode=mode, block_size=block_size,
                                    autocommit=autocommit, cache_options=cache_options, **kwargs)

    @contextmanager
    def _named(self, path):
        """A missing file is reported under its azureml URI, not the storage's own path."""
        try:
            yield
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", self.unstrip_protocol(path)) from None

    # --- writing (delegated as is) --------------------------------------------------------------

    def pipe_file(self, path, value, **kwargs):
        return self._inner.pipe_file(self._inner_path(path), value, **kwargs)

    def mkdir(self, path, create_parents=True, **kwargs):
        return self._inner.mkdir(self._inner_path(path), create_parents=create_parents, **kwargs)

    def makedirs(self, path, exist_ok=False):
        return self._inner.makedirs(self._inner_path(path), exist_ok=exist_ok)

    def rm_file(self, path):
        return self._inner.rm_file(self._inner_path(path))

    def _rm(self, path):
        return self._inner.rm_file(self._inner_path(path))

    def rmdir(self, path):
        return self._inner.rmdir(self._inner_path(path))

    def invalidate_cache(self, path=None):
        if hasattr(self, "_inner"):
            self._inner.invalidate_cache(None if path is None else self._inner_path(path))


AzureMLFileSystem = AzureMachineLearningFileSystem


def _datastore_location(uri: str | None, datastore_name: str | None, options: dict) -> DatastoreUri:
    if uri is None:
        if not datastore_name:
            raise UserErrorException(
                "AzureMachineLearningFileSystem needs a datastore: AzureMachineLearningFileSystem('azureml://"
                "subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastores/<name>'), or datastore_name= "
                "with the workspace in the options, env or config.json.")
        uri = f"azureml://datastores/{datastore_name}"
    parsed = parse_azureml_uri(uri)
    if not isinstance(parsed, DatastoreUri):
        raise UserErrorException(f"AzureMachineLearningFileSystem needs a datastore URI, not the data asset {uri!r}")
    return parsed


def _fsspec_filesystem_of(store):
    """The fsspec filesystem under a store: its ``fs``, or fsspec's local one for local folders."""
    filesystem = getattr(store, "fs", None)
    if filesystem is not None:
        return filesystem
    from . import LocalStore

    if isinstance(store, LocalStore):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()
    raise UserErrorException(f"The datastore's storage ({store!r}) has no fsspec filesystem to browse.")


__all__ = ["AzureMachineLearningFileSystem", "AzureMLFileSystem"]
