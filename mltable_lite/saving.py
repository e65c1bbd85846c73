"""``MLTable.save``: write ``<folder>/MLTable`` with paths relative to the folder, and with
``colocated=True`` copy the data files next to it. The folder may be local or remote
(``wasbs://``, ``abfss://``, ``azureml://``...): everything goes through the folder's store.

Example:
    >>> tbl.save("./saved_table")                                                  # doctest: +SKIP
    >>> tbl.save("wasbs://data@acct.blob.core.windows.net/tables/trips", colocated=True)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import posixpath
import shutil

from .errors import UserErrorException
from .plan_yaml import plan_to_dict
from .storage import canonical_uri, expand_paths, is_local, local_path, open_store
from .yaml_io import dump_yaml

MLTABLE_FILE = "MLTable"


def save(table, path: str | None, overwrite: bool = True, colocated: bool = False) -> None:
    plan = table._plan
    if path is None:
        path = os.getcwd()  # as the reference: ./MLTable, whatever the table was loaded from
    folder_uri = canonical_uri(path)
    store = open_store(folder_uri, table._storage_options)
    folder = store.path_of(folder_uri).rstrip("/") or "/"
    target = store.join(folder, MLTABLE_FILE)
    shown = local_path(folder_uri) if is_local(folder_uri) else folder_uri
    is_file = store.kind(folder) == "file"
    if is_file or (not overwrite and store.kind(target) == "file"):
        raise UserErrorException(
            f"Destination already exists or is not empty. '{shown}' "
            + ("is a file" if is_file else "already holds an MLTable file; pass overwrite=True"))
    rewrites = _copy_data(plan, store, folder, table._storage_options) if colocated else None
    document = plan_to_dict(plan, relative_to_uri=folder_uri, path_rewrites=rewrites)
    store.write_bytes(target, dump_yaml(document).encode("utf-8"))


def _copy_data(plan, store, folder: str, storage_options) -> dict:
    """Copy every local file the plan reads under ``folder``; return spec URI → path to write.

    Files keep their place relative to the folder the table came from (its MLTable folder, or
    the working directory for built tables); files outside it go to the top of ``folder``.
    Remote data stays where it is (its URI is written, without credentials).
    """
    base = local_path(plan.base_uri) if plan.base_uri and is_local(plan.base_uri) else os.getcwd()
    rewrites: dict[str, str] = {}
    for spec in plan.paths:
        if not is_local(spec.uri):
            continue
        spec_path = local_path(spec.uri)
        relative = os.path.relpath(spec_path, base)
        if relative.startswith(".."):
            relative = os.path.basename(spec_path.rstrip("/"))
        for file in expand_paths([spec], storage_options):
            if spec.kind == "folder":
                inside = os.path.relpath(file.path, os.path.join(base, relative))
                destination = posixpath.join(*relative.split(os.sep), *inside.split(os.sep))
            else:
                destination = os.path.relpath(file.path, base)
                if destination.startswith(".."):
                    destination = os.path.basename(file.path)
                destination = destination.replace(os.sep, "/")
            _copy_file(file.path, store, store.join(folder, destination))
        rewrites[spec.uri] = relative.replace(os.sep, "/")
    return rewrites


def _copy_file(source: str, store, target: str) -> None:
    if not store.remote:
        if os.path.abspath(target) != os.path.abspath(source):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(source, target)
        return
    with open(source, "rb") as handle:
        store.write_bytes(target, handle.read())
