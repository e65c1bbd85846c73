"""``MLTable.save``: write ``<folder>/MLTable`` with paths relative to the folder, and with
``colocated=True`` copy the data files next to it.

Example:
    >>> tbl.save("./saved_table")          # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil

from .errors import UserErrorException
from .plan_yaml import plan_to_dict
from .storage import canonical_uri, expand_paths, is_local, local_path
from .yaml_io import dump_yaml

MLTABLE_FILE = "MLTable"


def save(table, path: str | None, overwrite: bool = True, colocated: bool = False) -> None:
    plan = table._plan
    if path is None:
        path = os.getcwd()  # as the reference: ./MLTable, whatever the table was loaded from
    folder_uri = canonical_uri(path)
    if not is_local(folder_uri):
        raise UserErrorException(f"Saving to '{path}' is not supported yet: save to a local folder.")
    folder = local_path(folder_uri)
    target = os.path.join(folder, MLTABLE_FILE)
    if os.path.isfile(folder) or (not overwrite and os.path.exists(target)):
        raise UserErrorException(
            f"Destination already exists or is not empty. '{folder}' "
            + ("is a file" if os.path.isfile(folder) else "already holds an MLTable file; pass overwrite=True"))
    os.makedirs(folder, exist_ok=True)
    rewrites = _copy_data(plan, folder, table._storage_options) if colocated else None
    document = plan_to_dict(plan, relative_to_uri=folder_uri, path_rewrites=rewrites)
    text = dump_yaml(document)
    temporary = target + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, target)


def _copy_data(plan, folder: str, storage_options) -> dict:
    """Copy every file the plan reads under ``folder``; return spec URI → path to write.

    Files keep their place relative to the folder the table came from (its MLTable folder, or
    the working directory for built tables); files outside it go to the top of ``folder``.
    """
    base = local_path(plan.base_uri) if plan.base_uri and is_local(plan.base_uri) else os.getcwd()
    rewrites: dict[str, str] = {}
    for spec in plan.paths:
        spec_path = local_path(spec.uri) if is_local(spec.uri) else None
        if spec_path is None:
            continue  # remote data stays where it is; its URI is written as is
        relative = os.path.relpath(spec_path, base)
        if relative.startswith(".."):
            relative = os.path.basename(spec_path.rstrip("/"))
        for file in expand_paths([spec], storage_options):
            inside = os.path.relpath(file.path, os.path.join(base, relative) if spec.kind == "folder" else base)
            destination = os.path.join(folder, relative, inside) if spec.kind == "folder" else None
            if destination is None:
                file_relative = os.path.relpath(file.path, base)
                if file_relative.startswith(".."):
                    file_relative = os.path.basename(file.path)
                destination = os.path.join(folder, file_relative)
            if os.path.abspath(destination) != os.path.abspath(file.path):
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                shutil.copyfile(file.path, destination)
        rewrites[spec.uri] = relative
    return rewrites
