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
from .progress import progress
from .storage import FileRef, canonical_uri, expand_paths, is_local, local_path, open_store
from .storage.globbing import compile_pattern, has_wildcard
from .writers.destination import ALREADY_EXISTS_CODE, OverwriteMode, overwrite_mode
from .yaml_io import dump_yaml

MLTABLE_FILE = "MLTable"
_COPY_CHUNK = 8 << 20


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
    copier = _Copier(store, mode, shown, show_progress)
    try:
        rewrites = _copy_data(plan, store, folder, table._storage_options, copier) if colocated else None
        document = plan_to_dict(plan, relative_to_uri=folder_uri, path_rewrites=rewrites)
        try:
            store.write_bytes(target, dump_yaml(document).encode("utf-8"),
                              overwrite=mode is not OverwriteMode.FAIL_ON_CONFLICT)
        except FileExistsError:
            raise _conflict(shown, "got an MLTable file from another writer while saving") from None
    except BaseException:
        if if_err_remove_files:
            copier.remove_created()
        raise
    finally:
        copier.close()


def _conflict(shown: str, why: str) -> UserErrorException:
    return UserErrorException(f"Destination already exists or is not empty. '{shown}' {why}.",
                              error_code=ALREADY_EXISTS_CODE)


def _copy_data(plan, store, folder: str, storage_options, copier: "_Copier") -> dict:
    """Copy every file the plan reads under ``folder``; return spec URI → path to write.

    Local files keep their place relative to the folder the table came from (its MLTable folder,
    or the working directory for built tables); files outside it, and remote files, go under the
    name of their path spec's folder (a ``file`` at the top of ``folder``).
    """
    base = local_path(plan.base_uri) if plan.base_uri and is_local(plan.base_uri) else os.getcwd()
    rewrites: dict[str, str] = {}
    planned: list[tuple[FileRef, str]] = []
    for spec in plan.paths:
        anchor, relative = _anchor(spec, base, storage_options)
        for file in expand_paths([spec], storage_options):
            inside = file.path[len(anchor):] if anchor and file.path.startswith(anchor) else \
                posixpath.basename(file.path.replace(os.sep, "/"))
            planned.append((file, inside.replace(os.sep, "/").lstrip("/")))
        rewrites[spec.uri] = relative
    copier.start(len(planned), sum(max(file.size, 0) for file, _ in planned))
    for file, destination in planned:
        copier.copy(file, store.join(folder, destination))
    return rewrites


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


class _Copier:
    """Copies files into the save folder, each whole or not at all, honouring ``overwrite``;
    remembers what it created so a failed save can remove exactly that."""

    def __init__(self, store, mode: OverwriteMode, shown: str, show_progress: bool):
        self.store, self.mode, self.shown = store, mode, shown
        self.created: list[str] = []
        self._show = show_progress
        self._bar = progress(False, "")

    def start(self, files: int, total_bytes: int) -> None:
        self._bar = progress(self._show, f"copying to {self.shown}", total_files=files, total_bytes=total_bytes)

    def copy(self, file: FileRef, target: str) -> None:
        if not file.store.remote and not self.store.remote and os.path.exists(target) and \
                os.path.samefile(file.path, target):
            self._bar.advance(files=1, nbytes=file.size)
            return  # the file is already where the table will read it
        exists = self.store.kind(target) == "file"
        if exists and self.mode is OverwriteMode.SKIP:
            self._bar.advance(files=1, nbytes=file.size)
            return
        if exists and self.mode is OverwriteMode.FAIL_ON_CONFLICT:
            raise _conflict(self.shown, f"already holds '{target}', which saving would replace; pass "
                                        "overwrite=True to replace it or overwrite='skip' to keep it")
        with file.store.open_input(file.path) as source, \
                self.store.writing(target, overwrite=self.mode is OverwriteMode.OVERWRITE) as sink:
            while True:
                chunk = source.read(_COPY_CHUNK)
                if not chunk:
                    break
                sink.write(chunk)
                self._bar.advance(nbytes=len(chunk))
        self._bar.advance(files=1)
        if not exists:
            self.created.append(target)

    def remove_created(self) -> None:
        for path in self.created:
            try:
                self.store.delete(path)
            except Exception:  # noqa: BLE001 — best effort; the error being raised matters more
                pass

    def close(self) -> None:
        self._bar.close()
