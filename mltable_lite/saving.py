"""``MLTable.save``: write ``<folder>/MLTable`` with paths relative to the folder, and with
``colocated=True`` copy the data files (local or remote) next to it. The folder may be local or
remote (``wasbs://``, ``abfss://``, ``azureml://``...): everything goes through the folder's store.

Every file appears whole or not at all (:meth:`Store.writing`: a temporary name of its own,
synced, renamed; a blob committed when complete), so a save killed at any moment never leaves a
partial file under a final name, and two saves into one folder never share a temporary file.
``overwrite`` is the reference's: True/'overwrite' replaces, False/'fail' raises when the MLTable
file or a data file to copy already exists (user files are never replaced unless asked), 'skip'
keeps what is there.

Example:
    >>> tbl.save("./saved_table")                                                  # doctest: +SKIP
    >>> tbl.save("wasbs://data@acct.blob.core.windows.net/tables/trips", colocated=True)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import posixpath

from .errors import UserErrorException
from .plan_yaml import plan_to_dict
from .storage import canonical_uri, expand_paths, is_local, local_path, open_store
from .storage.globbing import compile_pattern, has_wildcard
from .writers.destination import ALREADY_EXISTS_CODE, OverwriteMode, overwrite_mode
from .yaml_io import dump_yaml

MLTABLE_FILE = "MLTable"


def save(table, path: str | None, overwrite=True, colocated: bool = False, show_progress: bool = False,
         if_err_remove_files: bool = True) -> None:
    mode = overwrite_mode(overwrite)
    plan = table._plan
    if path is None:
        path = os.getcwd()  # as the reference: ./MLTable, whatever the table was loaded from
    folder_uri = canonical_uri(path)
    store = open_store(folder_uri, table._storage_options)
    folder = store.path_of(folder_uri).rstrip("/") or "/"
    target = store.join(folder, MLTABLE_FILE)
    shown = local_path(folder_uri) if is_local(folder_uri) else folder_uri
    if store.kind(folder) == "file":
        raise _conflict(shown, "is a file")
    if store.kind(target) == "file":
        if mode is OverwriteMode.FAIL_ON_CONFLICT:
            raise _conflict(shown, "already holds an MLTable file; pass overwrite=True to replace it")
        if mode is OverwriteMode.SKIP:
            return
    if store.remote and not colocated and any(is_local(spec.uri) for spec in plan.paths):
        raise UserErrorException(
            f"Cannot save a table that reads local files to the remote folder '{shown}' without copying them: "
            "its readers could not reach those files. Pass colocated=True to copy them next to the MLTable file.")
    created: list[str] = []
    try:
        rewrites = None
        if colocated:
            transfers, rewrites = _colocated_copies(plan, store, folder, table._storage_options)
            _copy(transfers, store, mode, shown, show_progress, created)
        document = plan_to_dict(plan, relative_to_uri=folder_uri, path_rewrites=rewrites)
        try:
            store.write_bytes(target, dump_yaml(document).encode("utf-8"),
                              overwrite=mode is not OverwriteMode.FAIL_ON_CONFLICT)
        except FileExistsError:
            raise _conflict(shown, "got an MLTable file from another writer while saving") from None
    except BaseException:
        if if_err_remove_files:
            for path in created:
                try:
                    store.delete(path)
                except Exception:  # noqa: BLE001 — best effort; the error being raised matters more
                    pass
        raise


def _conflict(shown: str, why: str) -> UserErrorException:
    return UserErrorException(f"Destination already exists or is not empty. '{shown}' {why}.",
                              error_code=ALREADY_EXISTS_CODE)


def _colocated_copies(plan, store, folder: str, storage_options) -> tuple[list, dict]:
    """The copies that make ``folder`` self-contained, and spec URI → the path to write instead.

    Local files keep their place relative to the folder the table came from (its MLTable folder,
    or the working directory for built tables); files outside it, and remote files, go under the
    name of their path spec's folder (a ``file`` at the top of ``folder``).
    """
    from .storage.copying import Transfer

    base = local_path(plan.base_uri) if plan.base_uri and is_local(plan.base_uri) else os.getcwd()
    rewrites: dict[str, str] = {}
    transfers = []
    for spec in plan.paths:
        anchor, relative = _anchor(spec, base, storage_options)
        for file in expand_paths([spec], storage_options):
            inside = file.path[len(anchor):] if anchor and file.path.startswith(anchor) else \
                posixpath.basename(file.path.replace(os.sep, "/"))
            target = store.join(folder, inside.replace(os.sep, "/").lstrip("/"))
            transfers.append(Transfer(file, target, target))
        rewrites[spec.uri] = relative
    return transfers, rewrites


def _copy(transfers: list, store, mode: OverwriteMode, shown: str, show_progress: bool, created: list[str]) -> None:
    """Run the copies through the copy engine (many at once, big files in parts, each whole or not
    at all, MD5-checked), honouring ``overwrite``; record in ``created`` what did not exist before."""
    from .storage.copying import CopyFailed, run_transfers

    pending, existing = [], []
    for transfer in transfers:
        if not transfer.source.store.remote and not store.remote and os.path.exists(transfer.destination) and \
                os.path.samefile(transfer.source.path, transfer.destination):
            continue  # the file is already where the table will read it
        (existing if store.kind(transfer.destination) == "file" else pending).append(transfer)
    if existing and mode is OverwriteMode.FAIL_ON_CONFLICT:
        raise _conflict(shown, f"already holds '{existing[0].shown}', which saving would replace; pass "
                               "overwrite=True to replace it or overwrite='skip' to keep it")
    if mode is OverwriteMode.OVERWRITE:
        pending += existing
    fresh = {transfer.destination for transfer in pending} - {transfer.destination for transfer in existing}
    result = run_transfers(pending, store, overwrite=True, show_progress=show_progress)
    created.extend(destination for _, destination in result.copied if destination in fresh)
    if not result.ok:
        raise CopyFailed(result, f"Saving to '{shown}' failed: some files could not be copied")


def _anchor(spec, base: str, storage_options) -> tuple[str, str]:
    """``(anchor, relative)``: the spec's files are copied to their path below ``anchor`` (a path
    of the spec's store), and the spec is written as ``relative``, its path below ``anchor``
    (globs kept). The anchor is ``base`` for local paths inside it, else the folder above the
    spec's own folder (a pattern's fixed part), so that folder's name is kept."""
    if is_local(spec.uri):
        path = local_path(spec.uri)
        relative = os.path.relpath(path, base)
        if not relative.startswith(".."):
            return base, relative.replace(os.sep, "/")
        path = path.replace(os.sep, "/")
    else:
        path = open_store(spec.uri, storage_options).path_of(spec.uri)
    path = path.rstrip("/")
    fixed = compile_pattern(path)[0] if spec.kind == "pattern" and has_wildcard(path) else path
    anchor = fixed.rstrip("/").rsplit("/", 1)[0] if "/" in fixed.rstrip("/") else ""
    if spec.kind == "file":
        anchor = path.rsplit("/", 1)[0]
    return anchor, path[len(anchor):].lstrip("/")
